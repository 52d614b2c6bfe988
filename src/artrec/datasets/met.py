"""Ground truth of the Met dataset: read, validate, and summarise it (paper Table 1, Figure 5).

Layout, as in the official release and as written by :mod:`artrec.synth.met`::

    root/MET_database.json       [{"id": int, "path": str}, ...]   (or mini_MET_database.json)
    root/valset.json             [{"path": str, "MET_id": int}, {"path": str}, ...]
    root/testset.json            same schema; an entry without "MET_id" is a distractor
    root/images/<path>           every path above is relative to this folder

The official query files also carry ``photographer``, ``url`` (Met queries) and ``category``,
``url`` (distractors); those optional keys are accepted when they hold a string or null, any
other key is rejected. Exhibit ids and ``MET_id`` must be JSON integers.

Query kinds (Table 1): a query with ``MET_id`` is a Met query. A distractor is other-art when
the first folder of its path ends in ``_other`` and non-art when it ends in ``_noart``; the
official archives name these folders ``test_other/`` and ``test_noart/`` for val and test alike.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from artrec.errors import BadInputError
from artrec.images.decode import DEFAULT_MAX_PIXELS, BadImageError, read_size
from artrec.retrieval.metrics import DISTRACTOR

DATABASE_FILE = "MET_database.json"
MINI_DATABASE_FILE = "mini_MET_database.json"
SPLIT_FILES = {"val": "valset.json", "test": "testset.json"}

# key -> (accepted types, required)
_DATABASE_SCHEMA: dict[str, tuple[tuple[type, ...], bool]] = {
    "id": ((int,), True),
    "path": ((str,), True),
}
_QUERY_SCHEMA: dict[str, tuple[tuple[type, ...], bool]] = {
    "path": ((str,), True),
    "MET_id": ((int,), False),
    "photographer": ((str, type(None)), False),
    "url": ((str, type(None)), False),
    "category": ((str, type(None)), False),
}


# What to do about a malformed ground-truth file.
_FIX = (
    "correct that entry, or restore the official JSON files from ground_truth.tar.gz "
    "(http://cmp.felk.cvut.cz/met/)"
)


class MetGroundTruthError(BadInputError):
    """The Met ground truth is malformed or inconsistent; the message names file and entry."""

    def __init__(self, path: str | Path, problem: str, fix: str = _FIX) -> None:
        super().__init__(path, problem, fix)


@dataclass(frozen=True, eq=False)
class MetGroundTruth:
    """Validated ground truth. Class index = position of the exhibit id in ``class_ids``.

    ``*_ids`` hold Met exhibit ids and ``*_labels`` class indices; both are -1 for distractors.
    """

    root: Path
    images_dir: Path
    database: str
    train_paths: tuple[str, ...]
    train_ids: np.ndarray
    train_labels: np.ndarray
    class_ids: np.ndarray
    id_to_class: dict[int, int]
    val_paths: tuple[str, ...]
    val_ids: np.ndarray
    val_labels: np.ndarray
    test_paths: tuple[str, ...]
    test_ids: np.ndarray
    test_labels: np.ndarray
    val_test_overlap: frozenset[int] = field(default_factory=frozenset)

    @property
    def n_classes(self) -> int:
        return len(self.class_ids)

    def image_path(self, path: str) -> Path:
        """Absolute location of an image named in the ground truth."""
        return self.images_dir / path

    def queries(self, split: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        """(paths, exhibit ids, class labels) of the ``"val"`` or ``"test"`` queries."""
        if split == "val":
            return self.val_paths, self.val_ids, self.val_labels
        if split == "test":
            return self.test_paths, self.test_ids, self.test_labels
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")


def _read_json_list(path: Path) -> list[Any]:
    if not path.is_file():
        raise MetGroundTruthError(
            path,
            "ground-truth file not found",
            "unpack the official ground_truth.tar.gz into this folder (or rerun the ingest stage)",
        )
    try:
        # Strict UTF-8: a file in another encoding is refused rather than read with wrong text.
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise MetGroundTruthError(path, f"not UTF-8 text ({err})") from err
    except json.JSONDecodeError as err:
        # A JSON list ends with "]": a file that stops elsewhere was cut short.
        ending = err.doc.rstrip()[-1:]
        cut = " (the file looks truncated)" if ending not in ("]", "}") else ""
        raise MetGroundTruthError(path, f"not valid JSON{cut}: {err}") from err
    except RecursionError as err:
        raise MetGroundTruthError(path, "not valid JSON: nested too deeply") from err
    if not isinstance(data, list):
        raise MetGroundTruthError(
            path, f"expected a JSON list of objects, got {type(data).__name__}"
        )
    return data


def _where(file: Path, index: int, entry: Any) -> str:
    path = entry.get("path") if isinstance(entry, dict) else None
    return f"{file.name} entry {index}" + (f" (path {path!r})" if isinstance(path, str) else "")


def _check_entry(
    folder: Path, entry: Any, schema: dict[str, tuple[tuple[type, ...], bool]], where: str
) -> None:
    if not isinstance(entry, dict):
        raise MetGroundTruthError(
            folder, f"{where}: expected a JSON object, got {type(entry).__name__}"
        )
    missing = [key for key, (_, required) in schema.items() if required and key not in entry]
    if missing:
        raise MetGroundTruthError(folder, f"{where}: missing key(s) {missing}")
    unknown = sorted(set(entry) - set(schema))
    if unknown:
        raise MetGroundTruthError(
            folder, f"{where}: unexpected key(s) {unknown} (known: {sorted(schema)})"
        )
    for key, value in entry.items():
        types, _ = schema[key]
        # bool is a subclass of int in Python but not an id in JSON
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise MetGroundTruthError(
                folder, f"{where}: {key!r} must be {expected}, got {type(value).__name__} {value!r}"
            )


def _check_relative_path(folder: Path, path: str, where: str) -> None:
    """Reject paths that are empty, absolute, non-normalised or climb out with '..'."""
    if not path:
        raise MetGroundTruthError(folder, f"{where}: empty path")
    if "\\" in path or "\x00" in path:
        raise MetGroundTruthError(folder, f"{where}: path must use '/' separators only: {path!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", path):
        raise MetGroundTruthError(
            folder, f"{where}: absolute path {path!r}; paths are relative to images/"
        )
    if ".." in pure.parts:
        raise MetGroundTruthError(folder, f"{where}: path {path!r} leaves the images folder ('..')")
    if pure.as_posix() != path:
        raise MetGroundTruthError(
            folder, f"{where}: path {path!r} is not normalised (expected {pure.as_posix()!r})"
        )


def _check_image(images_dir: Path, images_root: Path, path: str, where: str) -> None:
    """The image exists inside the images folder and its header is that of a usable image."""
    resolved = (images_dir / path).resolve()
    if not resolved.is_relative_to(images_root):
        raise MetGroundTruthError(
            images_dir / path,
            f"{where}: resolves to {resolved}, outside the images folder {images_root} (symlink?)",
            "replace the link with the image itself",
        )
    if not resolved.is_file():
        raise MetGroundTruthError(
            images_dir / path,
            f"{where}: image not found",
            "unpack the official image archives into the images folder (or rerun the ingest "
            "stage), or remove the entry",
        )
    try:
        # The header only (no pixels): empty files, HTML pages, unknown formats, decompression
        # bombs and impossible shapes are caught here rather than deep inside the embedding.
        # No aspect-ratio limit: the Met images are at most 500 px a side, so a long handscroll
        # is legitimately far more elongated than any MAMe image.
        read_size(resolved, DEFAULT_MAX_PIXELS, max_aspect_ratio=math.inf)
    except BadImageError as err:
        raise MetGroundTruthError(
            images_dir / path,
            f"{where}: {err.reason}",
            "replace it with the image from the official archive; the evaluation protocol "
            "needs every listed image",
        ) from err


def _read_entries(
    file: Path,
    schema: dict[str, tuple[tuple[type, ...], bool]],
    seen: dict[str, str],
) -> list[dict[str, Any]]:
    """Schema, path and duplicate checks; ``seen`` maps every path met so far to its entry."""
    entries = _read_json_list(file)
    folder = file.parent
    for index, entry in enumerate(entries):
        where = _where(file, index, entry)
        _check_entry(folder, entry, schema, where)
        _check_relative_path(folder, entry["path"], where)
        if entry["path"] in seen:
            raise MetGroundTruthError(
                folder, f"{where}: duplicate path, already listed as {seen[entry['path']]}"
            )
        seen[entry["path"]] = where
    return entries


def load_met_ground_truth(
    root: str | Path,
    database: str = DATABASE_FILE,
    check_images: bool = True,
    images_dir: str | Path | None = None,
) -> MetGroundTruth:
    """Read and validate ``root/<database>``, ``root/valset.json`` and ``root/testset.json``.

    ``database`` is ``MET_database.json`` or ``mini_MET_database.json``. Images are looked up in
    ``images_dir`` (default ``root/images``); with ``check_images`` every listed image must exist
    there, must not resolve (through symlinks) outside it, and its header must be that of a
    usable image (a known format, within the decompression-bomb limit). Raises
    :class:`MetGroundTruthError` naming the file and entry at the first problem: malformed or
    truncated JSON, text that is not UTF-8, wrong types, missing or unexpected keys, bad or
    duplicate paths, a query ``MET_id`` that is not an exhibit id of the database, an empty
    database or query list, a missing or unreadable image.
    """
    root = Path(root)
    if Path(database).name != database:
        raise MetGroundTruthError(
            root,
            f"database must be a file name inside this folder, got {database!r}",
            "pass MET_database.json or mini_MET_database.json",
        )
    images = Path(images_dir) if images_dir is not None else root / "images"
    seen: dict[str, str] = {}
    db_file = root / database
    db_entries = _read_entries(db_file, _DATABASE_SCHEMA, seen)
    if not db_entries:
        raise MetGroundTruthError(db_file, "the database lists no images")
    train_ids = np.array([e["id"] for e in db_entries], dtype=np.int64)
    class_ids = np.unique(train_ids)
    id_to_class = {int(met_id): index for index, met_id in enumerate(class_ids)}

    split_ids: dict[str, np.ndarray] = {}
    split_paths: dict[str, tuple[str, ...]] = {}
    for split, name in SPLIT_FILES.items():
        file = root / name
        entries = _read_entries(file, _QUERY_SCHEMA, seen)
        if not entries:
            # Without queries there is nothing to tune or evaluate on; an empty list is a broken
            # or truncated export, not a dataset.
            raise MetGroundTruthError(file, "the query list is empty")
        for index, entry in enumerate(entries):
            if "MET_id" in entry and entry["MET_id"] not in id_to_class:
                raise MetGroundTruthError(
                    root,
                    f"{_where(file, index, entry)}: MET_id {entry['MET_id']} is not an exhibit id "
                    f"of {database}",
                )
        split_paths[split] = tuple(e["path"] for e in entries)
        split_ids[split] = np.array([e.get("MET_id", DISTRACTOR) for e in entries], dtype=np.int64)

    if check_images:
        if not images.is_dir():
            raise MetGroundTruthError(
                images,
                "images folder not found",
                "unpack the official image archives there, or rerun the ingest stage",
            )
        images_root = images.resolve()
        for path, where in seen.items():
            _check_image(images, images_root, path, where)

    def labels(ids: np.ndarray) -> np.ndarray:
        return np.array([id_to_class.get(int(i), DISTRACTOR) for i in ids], dtype=np.int64)

    val_classes = set(split_ids["val"][split_ids["val"] >= 0].tolist())
    test_classes = set(split_ids["test"][split_ids["test"] >= 0].tolist())
    return MetGroundTruth(
        root=root,
        images_dir=images,
        database=database,
        train_paths=tuple(e["path"] for e in db_entries),
        train_ids=train_ids,
        train_labels=labels(train_ids),
        class_ids=class_ids,
        id_to_class=id_to_class,
        val_paths=split_paths["val"],
        val_ids=split_ids["val"],
        val_labels=labels(split_ids["val"]),
        test_paths=split_paths["test"],
        test_ids=split_ids["test"],
        test_labels=labels(split_ids["test"]),
        val_test_overlap=frozenset(val_classes & test_classes),
    )


def query_kind(path: str, met_id: int) -> str:
    """``"met"``, ``"other_art"`` or ``"non_art"`` by the rule in the module docstring."""
    if met_id != DISTRACTOR:
        return "met"
    folder = PurePosixPath(path).parts[0] if "/" in path else ""
    if folder.endswith("_other"):
        return "other_art"
    if folder.endswith("_noart"):
        return "non_art"
    raise ValueError(
        f"distractor {path!r}: cannot tell other-art from non-art; the first folder must end in "
        "'_other' or '_noart' as in the official layout"
    )


def met_table1(gt: MetGroundTruth) -> pd.DataFrame:
    """Paper Table 1: images per split and type, and classes ("N + 1": +1 is the distractor class)."""
    rows: dict[str, dict[str, Any]] = {
        "train": {
            "type": "Exhibit",
            "met": len(gt.train_paths),
            "other_art": pd.NA,
            "non_art": pd.NA,
            "n_classes": gt.n_classes,
            "classes": str(gt.n_classes),
        }
    }
    for split in SPLIT_FILES:
        paths, ids, _ = gt.queries(split)
        kinds = Counter(query_kind(p, int(i)) for p, i in zip(paths, ids, strict=True))
        n_classes = len(np.unique(ids[ids != DISTRACTOR]))
        has_distractors = kinds["other_art"] + kinds["non_art"] > 0
        rows[split] = {
            "type": "Query",
            "met": kinds["met"],
            "other_art": kinds["other_art"],
            "non_art": kinds["non_art"],
            "n_classes": n_classes,
            "classes": f"{n_classes} + 1" if has_distractors else str(n_classes),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "split"
    return table.astype(
        {"met": "Int64", "other_art": "Int64", "non_art": "Int64", "n_classes": "Int64"}
    )


def class_size_counts(gt: MetGroundTruth) -> pd.DataFrame:
    """Figure 5 data: number of classes having k training images, and k Met queries (k = 1..).

    Columns ``train_classes``, ``val_query_classes``, ``test_query_classes`` and
    ``query_classes`` (val and test together); index ``images_per_class``.
    """

    def histogram(ids: np.ndarray) -> Counter[int]:
        per_class = Counter(ids[ids != DISTRACTOR].tolist())
        return Counter(per_class.values())

    columns = {
        "train_classes": histogram(gt.train_ids),
        "val_query_classes": histogram(gt.val_ids),
        "test_query_classes": histogram(gt.test_ids),
        "query_classes": histogram(np.concatenate([gt.val_ids, gt.test_ids])),
    }
    largest = max((max(c, default=0) for c in columns.values()), default=0)
    index = pd.RangeIndex(1, largest + 1, name="images_per_class")
    return pd.DataFrame(
        {name: [c.get(k, 0) for k in index] for name, c in columns.items()}, index=index
    )


def plot_class_sizes(gt: MetGroundTruth) -> Figure:
    """Figure 5: classes vs training images per class (left), vs query images per class (right)."""
    counts = class_size_counts(gt)
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    panels = [
        (left, "train_classes", "training images per class"),
        (right, "query_classes", "query images per class"),
    ]
    for axis, column, xlabel in panels:
        values = counts[column]
        values = values[values > 0]
        axis.bar(values.index, values.to_numpy(), color="tab:blue")
        axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel("number of Met classes")
        axis.set_xticks(range(1, int(counts.index.max()) + 1))
    return figure
