"""Evaluate pre-extracted Met descriptors (the public ``descriptors.pkl`` format) with the kNN
classifier, as the public ``knn_eval.py`` does: optional PCA whitening learned on the training
descriptors, (k, tau) tuned on the validation queries by GAP, metrics on the test queries.

The published descriptors are a pickle. Unpickling runs code named inside the file, so it is read
with :class:`DescriptorUnpickler`, which only admits what numpy arrays and plain containers need.
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
from artrec.retrieval.knn import DEFAULT_KS, DEFAULT_TAUS, KNNClassifier
from artrec.retrieval.whitening import apply_pca_whitening, learn_pca_whitening

DESCRIPTOR_KEYS = ("train_descriptors", "val_descriptors", "test_descriptors")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    from numpy._core import multiarray, numeric

    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Protocol 2 stores bytes as _codecs.encode(text, "latin1"); encoding a string is harmless.
        ("_codecs", "encode"): codecs.encode,
        ("collections", "OrderedDict"): OrderedDict,
    }
    # numpy 1.x pickles name numpy.core.*, numpy 2.x numpy._core.*; both map to the same objects.
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        # Protocol 5 pickles contiguous arrays through _frombuffer(buffer, dtype, shape, order).
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    for name in ("dict", "list", "tuple", "set", "frozenset", "bytearray"):
        allowed[("builtins", name)] = getattr(builtins, name)
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
    """Read a descriptor pickle safely; every value becomes a float32 array.

    Raises ``pickle.UnpicklingError`` for a file that needs any other global and ``ValueError``
    for content that is not a dict of numeric arrays.
    """
    path = Path(path)
    with path.open("rb") as handle:
        try:
            data = DescriptorUnpickler(handle).load()
        except pickle.UnpicklingError as error:
            raise pickle.UnpicklingError(f"{path}: {error}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a dict of descriptor arrays, got {type(data).__name__}")
    out: dict[str, np.ndarray] = {}
    for key, value in data.items():
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise ValueError(f"{path}: entry {key!r} is not a numeric array ({array.dtype})")
        out[str(key)] = np.ascontiguousarray(array, dtype=np.float32)
    return out


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
) -> DescriptorEvaluation:
    """kNN evaluation of descriptor arrays (see :func:`evaluate_descriptors`)."""
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
    classifier = KNNClassifier(train, train_labels, use_gpu=use_gpu)

    grid = None
    if autotune:
        # As knn_eval.py: a given k or tau fixes that axis of the grid.
        tuning = classifier.tune(
            val, val_labels, ks=[k] if k else ks, taus=[tau] if tau is not None else taus
        )
        k, tau, grid = tuning.k, tuning.tau, tuning.grid
        best = grid[(grid["k"] == k) & (grid["tau"] == tau)].iloc[0]
        val_metrics = {name: float(best[name]) for name in ("GAP", "GAP-", "ACC")}
    elif k is None or tau is None:
        raise ValueError("without autotune both k and tau must be given")
    else:
        val_metrics = classifier.predict(val, k, tau).metrics(val_labels)
    test_metrics = classifier.predict(test, k, tau).metrics(test_labels)
    return DescriptorEvaluation(test_metrics, int(k), float(tau), grid, val_metrics)


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
) -> dict[str, float]:
    """Test GAP, GAP-, ACC (fractions) and the k, tau used, from a descriptor dict.

    ``descriptors`` holds train/val/test descriptors in the order of ``database``,
    ``valset.json`` and ``testset.json`` in ``ground_truth_dir`` (read and validated with
    :func:`artrec.datasets.met.load_met_ground_truth`; a malformed file raises its
    ``MetGroundTruthError`` naming the entry). ``raw`` skips PCA whitening;
    otherwise it is learned on the training descriptors (shrinkage 1) and reduced to ``dim``.
    ``autotune`` tunes k and tau on the validation queries (a given ``k``/``tau`` is kept fixed);
    without it both must be given.
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
    )
    return {**result.metrics, "k": result.k, "tau": result.tau}
