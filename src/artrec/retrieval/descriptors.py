"""Evaluate pre-extracted Met descriptors (the public ``descriptors.pkl`` format) with the kNN
classifier, as the public ``knn_eval.py`` does: optional PCA whitening learned on the training
descriptors, (k, tau) tuned on the validation queries by GAP, metrics on the test queries.

The published descriptors are a pickle. Unpickling runs code named inside the file, so it is read
with :class:`DescriptorUnpickler`, which only admits what numpy arrays and plain containers need;
:func:`check_descriptors` then refuses NaN/inf values, arrays that are not 2-D, mismatched
dimensions and row counts that differ from the ground truth.
"""

from __future__ import annotations

import _compat_pickle
import builtins
import codecs
import os
import pickle
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artrec.datasets.met import load_met_ground_truth
from artrec.errors import BadInputError, MissingInputError
from artrec.retrieval.knn import DEFAULT_KS, DEFAULT_TAUS, IndexSpec, KNNClassifier
from artrec.retrieval.whitening import apply_pca_whitening, learn_pca_whitening

DESCRIPTOR_KEYS = ("train_descriptors", "val_descriptors", "test_descriptors")
_PICKLE_FIX = (
    "write a pickle holding only numpy arrays (train/val/test_descriptors), as the public code does"
)


class UnsafePickleError(BadInputError, pickle.UnpicklingError):
    """A descriptor pickle names something other than numpy arrays and plain containers."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    # Protocol 2 stores bytes as _codecs.encode(text, "latin1"); no other codec is needed, and
    # some (e.g. "zlib", "base64") would let a pickle run more than a byte copy.
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, encoding)


def _bytearray_from_data(*args: Any) -> bytearray:
    # bytearray(n) would allocate n zero bytes: a four-byte pickle could ask for terabytes.
    if args and isinstance(args[0], int):
        raise pickle.UnpicklingError("refusing bytearray(<size>): descriptor pickles hold data")
    return bytearray(*args)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    from numpy._core import multiarray, numeric

    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
        ("collections", "OrderedDict"): OrderedDict,
    }
    # numpy 1.x pickles name numpy.core.*, numpy 2.x numpy._core.*; both map to the same objects.
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        # Protocol 5 pickles contiguous arrays through _frombuffer(buffer, dtype, shape, order).
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    for name in ("dict", "list", "tuple", "set", "frozenset"):
        allowed[("builtins", name)] = getattr(builtins, name)
    allowed[("builtins", "bytearray")] = _bytearray_from_data
    return allowed


class DescriptorUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy-array and builtin-container globals.

    Anything else (``os.system``, ``builtins.eval``, any class) raises ``pickle.UnpicklingError``
    naming the refused global, before it can be called.
    """

    _ALLOWED = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key not in self._ALLOWED:
            # Protocol 0-2 pickles use Python 2 names (e.g. __builtin__.set); the default
            # find_class maps them, which this override must do itself.
            key = _compat_pickle.NAME_MAPPING.get(key, key)
            key = (_compat_pickle.IMPORT_MAPPING.get(key[0], key[0]), key[1])
        try:
            return self._ALLOWED[key]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global '{module}.{name}': descriptor pickles may only hold "
                "numpy arrays and builtin containers"
            ) from None


def load_descriptor_pickle(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a descriptor pickle safely; every value becomes a finite float32 array.

    Raises :class:`UnsafePickleError` (a ``pickle.UnpicklingError``) for a file that needs any
    other global, and :class:`artrec.errors.BadInputError` (a ``ValueError``) for a file that is
    not a complete pickle, or content that is not a dict of finite numeric arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(path, "descriptor file not found", "check the --descriptors path")
    with path.open("rb") as handle:
        try:
            data = DescriptorUnpickler(handle).load()
        except pickle.UnpicklingError as error:
            if "refusing" in str(error):
                raise UnsafePickleError(path, str(error), _PICKLE_FIX) from None
            raise BadInputError(path, f"not a valid pickle ({error})", _PICKLE_FIX) from None
        except (EOFError, ValueError, TypeError, IndexError, KeyError, MemoryError) as error:
            # A truncated file ends in EOFError; a damaged one fails inside a numpy constructor.
            problem = "truncated" if isinstance(error, EOFError) else "damaged"
            raise BadInputError(
                path,
                f"not a readable pickle, {problem} ({type(error).__name__}: {error})",
                _PICKLE_FIX,
            ) from None
    if not isinstance(data, Mapping):
        raise BadInputError(
            path, f"expected a dict of descriptor arrays, got {type(data).__name__}", _PICKLE_FIX
        )
    out: dict[str, np.ndarray] = {}
    for key, value in data.items():
        try:
            array = np.asarray(value)
        except ValueError as error:  # ragged nested lists
            raise BadInputError(
                path, f"entry {key!r} is not an array ({error})", _PICKLE_FIX
            ) from None
        if array.dtype.kind not in "fiu":
            raise BadInputError(
                path, f"entry {key!r} is not a numeric array ({array.dtype})", _PICKLE_FIX
            )
        with np.errstate(over="ignore"):  # values beyond float32 become inf, refused below
            converted = np.ascontiguousarray(array, dtype=np.float32)
        bad = ~np.isfinite(converted)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise BadInputError(
                path,
                f"entry {key!r} holds {int(bad.sum())} NaN or infinite values (first at index "
                f"{where}, or values beyond the float32 range)",
                "re-extract the descriptors; a NaN usually comes from an unreadable image or a "
                "diverged model",
            )
        out[str(key)] = converted
    return out


def check_descriptors(
    descriptors: Mapping[str, np.ndarray],
    rows: Mapping[str, int],
    path: str | os.PathLike[str],
    ground_truth: str | os.PathLike[str],
) -> None:
    """Refuse descriptors that cannot be evaluated against a ground truth.

    ``rows`` maps each of :data:`DESCRIPTOR_KEYS` to the number of images the ground truth
    lists for it (database, val queries, test queries). Every array must be present, 2-D, with
    at least one column, the same number of columns as the others and exactly those rows.
    """
    missing = [key for key in DESCRIPTOR_KEYS if key not in descriptors]
    if missing:
        raise BadInputError(path, f"lacks {missing} (found {sorted(descriptors)})", _PICKLE_FIX)
    dims = {}
    for key in DESCRIPTOR_KEYS:
        shape = np.shape(descriptors[key])
        if len(shape) != 2 or shape[1] < 1:
            raise BadInputError(
                path, f"{key} has shape {shape}, expected (images, dimensions)", _PICKLE_FIX
            )
        if shape[0] != rows[key]:
            raise BadInputError(
                path,
                f"{key} has {shape[0]} rows but {ground_truth} lists {rows[key]} images for it",
                "use the descriptors extracted from this ground truth, one row per image in "
                "the order of its JSON files",
            )
        dims[key] = shape[1]
    if len(set(dims.values())) > 1:
        raise BadInputError(path, f"the descriptor dimensions differ: {dims}", _PICKLE_FIX)


@dataclass(frozen=True)
class DescriptorEvaluation:
    """Test ``metrics`` (GAP, GAP-, ACC as fractions), the (k, tau) used, the validation grid
    (None without tuning) and the validation metrics at the chosen pair."""

    metrics: dict[str, float]
    k: int
    tau: float
    grid: pd.DataFrame | None
    val_metrics: dict[str, float]


def evaluate_descriptor_sets(
    train: np.ndarray,
    train_labels: np.ndarray,
    val: np.ndarray,
    val_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    *,
    autotune: bool = True,
    k: int | None = None,
    tau: float | None = None,
    dim: int | None = 512,
    raw: bool = False,
    shrinkage: float = 1.0,
    ks: Sequence[int] = DEFAULT_KS,
    taus: Sequence[float] = DEFAULT_TAUS,
    use_gpu: bool | None = None,
    index: IndexSpec | Mapping[str, Any] | None = None,
) -> DescriptorEvaluation:
    """kNN evaluation of descriptor arrays (see :func:`evaluate_descriptors`); ``index``
    chooses the search index (default exact)."""
    for name, descs, labels in (
        ("train", train, train_labels),
        ("val", val, val_labels),
        ("test", test, test_labels),
    ):
        if len(descs) != len(labels):
            raise ValueError(f"{len(descs)} {name} descriptors but {len(labels)} {name} labels")
    if not raw:
        pcaw = learn_pca_whitening(train, shrinkage=shrinkage, dim=dim)
        train, val, test = (apply_pca_whitening(x, pcaw) for x in (train, val, test))
    classifier = KNNClassifier(train, train_labels, use_gpu=use_gpu, index=index)

    if autotune:
        # As knn_eval.py: a given k or tau fixes that axis of the grid.
        result = classifier.tune_and_predict(
            val, val_labels, test, ks=[k] if k else ks, taus=[tau] if tau is not None else taus
        )
        return DescriptorEvaluation(
            result.test.metrics(test_labels),
            result.k,
            result.tau,
            result.tuning.grid,
            result.tuning.val_metrics,
        )
    if k is None or tau is None:
        raise ValueError("without autotune both k and tau must be given")
    val_metrics = classifier.predict(val, k, tau).metrics(val_labels)
    test_metrics = classifier.predict(test, k, tau).metrics(test_labels)
    return DescriptorEvaluation(test_metrics, int(k), float(tau), None, val_metrics)


def evaluate_descriptors(
    descriptors: Mapping[str, np.ndarray],
    ground_truth_dir: str | os.PathLike[str],
    autotune: bool = True,
    k: int | None = None,
    tau: float | None = None,
    dim: int | None = 512,
    raw: bool = False,
    database: str = "MET_database.json",
    use_gpu: bool | None = None,
    index: IndexSpec | Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Test GAP, GAP-, ACC (fractions) and the k, tau used, from a descriptor dict.

    ``descriptors`` holds train/val/test descriptors in the order of ``database``,
    ``valset.json`` and ``testset.json`` in ``ground_truth_dir`` (read and validated with
    :func:`artrec.datasets.met.load_met_ground_truth`; a malformed file raises its
    ``MetGroundTruthError`` naming the entry). ``raw`` skips PCA whitening;
    otherwise it is learned on the training descriptors (shrinkage 1) and reduced to ``dim``.
    ``autotune`` tunes k and tau on the validation queries (a given ``k``/``tau`` is kept fixed);
    without it both must be given. ``index`` chooses the search index (default exact).
    """
    missing = [key for key in DESCRIPTOR_KEYS if key not in descriptors]
    if missing:
        raise KeyError(f"descriptors lack {missing}; found {sorted(descriptors)}")
    # The validating reader (schema, duplicate paths, query ids present in the database); the
    # images themselves are not needed to evaluate descriptors.
    truth = load_met_ground_truth(ground_truth_dir, database=database, check_images=False)
    result = evaluate_descriptor_sets(
        descriptors["train_descriptors"],
        truth.train_ids,
        descriptors["val_descriptors"],
        truth.val_ids,
        descriptors["test_descriptors"],
        truth.test_ids,
        autotune=autotune,
        k=k,
        tau=tau,
        dim=dim,
        raw=raw,
        use_gpu=use_gpu,
        index=index,
    )
    return {**result.metrics, "k": result.k, "tau": result.tau}
