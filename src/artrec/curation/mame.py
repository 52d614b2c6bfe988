"""Curate raw museum records into the MAMe dataset, and validate the official MAMe metadata.

Curation follows the paper (sections 3.1-3.2): map raw medium strings to classes, drop
grey-scale and small images, keep classes with enough images, cap each class at
train + val + test images balanced across museums, then split per class and museum.
The result is in the official ``MAMe_dataset.csv`` format, with a log of every dropped record.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from artrec.curation.labelmap import LabelMap

logger = logging.getLogger(__name__)

RECORD_COLUMNS = ["Image file", "Museum", "Museum-based instance ID", "Medium"]
MAME_COLUMNS = [
    "Image file",
    "Medium",
    "Museum",
    "Museum-based instance ID",
    "Subset",
    "Width",
    "Height",
    "Product size",
    "Aspect ratio",
]
DROPPED_COLUMNS = [*RECORD_COLUMNS, "class", "reason", "detail"]
SUBSETS = ("train", "val", "test")
MAME_LABELS = (
    "Albumen photograph",
    "Bronze",
    "Ceramic",
    "Clay",
    "Engraving",
    "Etching",
    "Faience",
    "Glass",
    "Gold",
    "Graphite",
    "Hand-colored engraving",
    "Hand-colored etching",
    "Iron",
    "Ivory",
    "Limestone",
    "Lithograph",
    "Marble",
    "Oil on canvas",
    "Pen and brown ink",
    "Polychromed wood",
    "Porcelain",
    "Silk and metal thread",
    "Silver",
    "Steel",
    "Wood",
    "Wood engraving",
    "Woodblock",
    "Woodcut",
    "Woven fabric",
)

# Drop reasons, in the order the filters run.
MISSING_FIELD = "missing field"
UNMAPPED = "unmapped medium"
NOT_SELECTED = "class not in class order"
DUPLICATE = "duplicate image file"
UNREADABLE = "unreadable image"
TOO_SMALL = "too small"
GREYSCALE = "grey-scale"
BELOW_MINIMUM = "class below minimum"
OVER_CAPACITY = "over class capacity"

_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_UNREADABLE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@dataclass(frozen=True)
class CurationResult:
    """The curated dataset (official CSV format), its labels in order, and the drop log."""

    dataset: pd.DataFrame
    labels: list[str]
    dropped: pd.DataFrame

    def drop_counts(self) -> dict[str, int]:
        """Number of dropped records per reason."""
        return {str(k): int(v) for k, v in self.dropped["reason"].value_counts().items()}


# ---- images ------------------------------------------------------------------------------------
@contextlib.contextmanager
def _trusted_large_images() -> Iterator[None]:
    # Museum scans reach 373 MP (MAMe's largest), above Pillow's decompression-bomb limit; the
    # images come from the curated download, and only headers or draft-mode thumbnails are read.
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header, without decoding the pixels."""
    with _trusted_large_images(), Image.open(path) as image:
        return image.size


def is_greyscale(path: Path, tolerance: int = 8, thumb_size: int = 64) -> bool:
    """True for a grey-scale image: a grey mode, or colour channels that (almost) agree.

    Decodes a small thumbnail only (JPEG draft mode decodes at 1/8 scale): grey when at most 1%
    of its pixels have channels spread by more than ``tolerance`` (out of 255), so compression
    noise and a small coloured stamp do not count as colour.
    """
    with _trusted_large_images(), Image.open(path) as image:
        if image.mode in _GREY_MODES:
            return True
        image.draft("RGB", (thumb_size, thumb_size))
        thumb = image.convert("RGB")
        thumb.thumbnail((thumb_size, thumb_size))
        pixels = np.asarray(thumb, dtype=np.int16)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    return bool(np.quantile(spread, 0.99) <= tolerance)


# ---- allocation --------------------------------------------------------------------------------
def apportion(total: int, weights: Sequence[float], capacity: Sequence[int]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights``, none above its ``capacity``.

    Largest-remainder rounding; units a capped part cannot take go round-robin to the others,
    so equal weights give the most balanced split the capacities allow.
    """
    if total > sum(capacity):
        raise ValueError(f"cannot place {total} items in capacities {list(capacity)}")
    weight_sum = float(sum(weights)) or 1.0
    quota = [total * w / weight_sum for w in weights]
    parts = [min(int(q), c) for q, c in zip(quota, capacity, strict=True)]
    order = sorted(range(len(parts)), key=lambda i: (-(quota[i] - int(quota[i])), i))
    while sum(parts) < total:
        for i in order:
            if sum(parts) < total and parts[i] < capacity[i]:
                parts[i] += 1
    return parts


def _split_class(
    frame: pd.DataFrame, label: str, split_sizes: dict, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept records with a Subset column, surplus records) for one class."""
    n_train, n_val = int(split_sizes["train"]), int(split_sizes["val"])
    test_cap = split_sizes.get("test")
    capacity = len(frame) if test_cap is None else min(len(frame), n_train + n_val + int(test_cap))
    # A per-class stream: a class's split does not change when other classes come or go.
    rng = np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])
    by_museum = {
        museum: group.sort_values("Image file").sample(frac=1.0, random_state=rng)
        for museum, group in frame.groupby("Museum", sort=True)
    }
    available = [len(g) for g in by_museum.values()]
    kept = apportion(capacity, [1.0] * len(available), available)
    train = apportion(n_train, kept, kept)
    val = apportion(n_val, kept, [k - t for k, t in zip(kept, train, strict=True)])
    parts, surplus = [], []
    for group, k, t, v in zip(by_museum.values(), kept, train, val, strict=True):
        subset = ["train"] * t + ["val"] * v + ["test"] * (k - t - v)
        parts.append(group.iloc[:k].assign(Subset=subset))
        surplus.append(group.iloc[k:])
    return pd.concat(parts), pd.concat(surplus)


# ---- curation ----------------------------------------------------------------------------------
class _Ledger:
    """The records still in play, and every dropped record with the reason it was dropped."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.drops: list[pd.DataFrame] = []

    def drop(self, mask: pd.Series, reason: str, detail: pd.Series | str = "") -> None:
        mask = mask.astype(bool)
        detail = detail if isinstance(detail, str) else detail[mask]
        self.drops.append(self.frame[mask].assign(reason=reason, detail=detail))
        self.frame = self.frame[~mask]

    def dropped(self) -> pd.DataFrame:
        if not self.drops:
            return pd.DataFrame(columns=DROPPED_COLUMNS)
        return pd.concat(self.drops, ignore_index=True)[DROPPED_COLUMNS]


def curate_museum_records(
    records: pd.DataFrame,
    images_dir: Path,
    label_map: LabelMap,
    class_order: list[str],
    min_product_size: int,
    drop_greyscale: bool,
    min_images_per_class: int,
    split_sizes: dict,
    seed: int,
    min_images_exceptions: Sequence[str] = (),
    greyscale_tolerance: int = 8,
) -> CurationResult:
    """Curate raw museum records (``Image file, Museum, Museum-based instance ID, Medium``,
    images in ``images_dir/<Image file>``) into the official MAMe format.

    Filters, in order: missing image file, museum or instance ID, unmapped medium, class not in ``class_order``, duplicate image file,
    unreadable image, product size below ``min_product_size``, grey-scale (if
    ``drop_greyscale``), class with fewer than ``min_images_per_class`` remaining images
    (except the classes in ``min_images_exceptions``: the paper kept Silk and metal thread with
    845 < 850), then images over the class capacity. ``split_sizes``: ``train`` and ``val``
    images per class; the rest is test, at most ``test`` per class when that key is given (the
    paper: 700, 50, 700). Each class keeps a museum-balanced sample and splits it per museum.
    """
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"museum records lack columns {missing}; expected {RECORD_COLUMNS}")
    n_train, n_val = int(split_sizes["train"]), int(split_sizes["val"])
    if min_images_per_class < n_train + n_val + 1:
        raise ValueError(
            f"min_images_per_class={min_images_per_class} leaves no test image after "
            f"train={n_train} and val={n_val}; use at least {n_train + n_val + 1}"
        )
    frame = records[RECORD_COLUMNS].astype(object)
    frame = frame.where(frame.notna(), None).map(lambda v: v if v is None else str(v))
    frame["class"] = label_map.map_series(frame["Medium"])
    # Sorting on every column makes the result independent of the input's row order.
    ledger = _Ledger(frame.sort_values(RECORD_COLUMNS, kind="stable", ignore_index=True))

    blank = ledger.frame[["Image file", "Museum", "Museum-based instance ID"]].isna()
    which = pd.Series(
        [", ".join(blank.columns[row]) for row in blank.to_numpy()], index=blank.index
    )
    ledger.drop(blank.any(axis=1), MISSING_FIELD, which)
    ledger.drop(ledger.frame["class"].isna(), UNMAPPED)
    ledger.drop(~ledger.frame["class"].isin(class_order), NOT_SELECTED)
    ledger.drop(ledger.frame["Image file"].duplicated(keep="first"), DUPLICATE)
    _filter_images(ledger, Path(images_dir), min_product_size, drop_greyscale, greyscale_tolerance)

    counts = ledger.frame["class"].value_counts()
    needed = {c: min_images_per_class for c in class_order}
    needed.update({c: n_train + n_val + 1 for c in min_images_exceptions})
    classes = ledger.frame["class"]
    ledger.drop(
        classes.map(lambda c: counts[c] < needed[c]),
        BELOW_MINIMUM,
        classes.map(lambda c: f"{counts[c]} images < {needed[c]}"),
    )

    kept_parts, labels = [], []
    for label in class_order:
        members = ledger.frame[ledger.frame["class"] == label]
        if members.empty:
            continue
        kept, surplus = _split_class(members, label, split_sizes, seed)
        kept_parts.append(kept)
        labels.append(label)
        if not surplus.empty:
            ledger.drops.append(surplus.assign(reason=OVER_CAPACITY, detail="museum-balanced"))
    return CurationResult(
        dataset=_official_format(kept_parts, labels), labels=labels, dropped=ledger.dropped()
    )


def _filter_images(
    ledger: _Ledger, images_dir: Path, min_product_size: int, drop_greyscale: bool, tolerance: int
) -> None:
    """Drop unreadable, too small and (optionally) grey-scale images; add Width and Height."""
    reads = [_read_size(images_dir, name) for name in ledger.frame["Image file"]]
    index = ledger.frame.index
    sizes = pd.Series([size for size, _ in reads], index=index, dtype=object)
    errors = pd.Series([error for _, error in reads], index=index, dtype=object)
    ledger.frame = ledger.frame.assign(
        Width=[s[0] if s else 0 for s in sizes], Height=[s[1] if s else 0 for s in sizes]
    )
    ledger.drop(sizes.isna(), UNREADABLE, errors)
    product = ledger.frame["Width"] * ledger.frame["Height"]
    too_small = product.map(lambda p: f"{p} px < {min_product_size}")
    ledger.drop(product < min_product_size, TOO_SMALL, too_small)
    if not drop_greyscale:
        return
    checks = [_check_greyscale(images_dir / n, tolerance) for n in ledger.frame["Image file"]]
    index = ledger.frame.index
    grey = pd.Series([flag for flag, _ in checks], index=index, dtype=object)
    errors = pd.Series([error for _, error in checks], index=index, dtype=object)
    ledger.drop(grey.isna(), UNREADABLE, errors)
    ledger.drop(grey[ledger.frame.index].eq(True), GREYSCALE)


def _check_greyscale(path: Path, tolerance: int) -> tuple[bool | None, str]:
    try:
        return is_greyscale(path, tolerance=tolerance), ""
    except _UNREADABLE_ERRORS as error:  # the header read, but the pixels do not decode
        return None, f"{type(error).__name__}: {error}"


def _read_size(images_dir: Path, name: str) -> tuple[tuple[int, int] | None, str]:
    if Path(name).is_absolute() or ".." in Path(name).parts:
        return None, f"image path {name!r} leaves {images_dir}"
    try:
        return image_size(images_dir / name), ""
    except _UNREADABLE_ERRORS as error:
        return None, f"{type(error).__name__}: {error}"


def _official_format(parts: list[pd.DataFrame], labels: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=MAME_COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    width = frame["Width"].astype("float64")
    height = frame["Height"].astype("float64")
    dataset = pd.DataFrame(
        {
            "Image file": frame["Image file"].astype(str),
            "Medium": frame["class"].astype(str),
            "Museum": frame["Museum"].astype(str),
            "Museum-based instance ID": frame["Museum-based instance ID"].astype(str),
            "Subset": frame["Subset"],
            "Width": width,
            "Height": height,
            "Product size": width * height,
            "Aspect ratio": (width / height).round(4),
        }
    )
    order = {
        "Medium": {label: i for i, label in enumerate(labels)},
        "Subset": {subset: i for i, subset in enumerate(SUBSETS)},
    }
    return dataset.sort_values(
        ["Medium", "Subset", "Museum", "Image file"],
        key=lambda col: col.map(order[col.name]) if col.name in order else col,
        ignore_index=True,
    )


# ---- official metadata -------------------------------------------------------------------------
def load_official_mame(
    metadata_dir: Path,
    images_dir: Path | None = None,
    expected_labels: Sequence[str] | None = MAME_LABELS,
    dataset_file: str = "MAMe_dataset.csv",
) -> tuple[pd.DataFrame, list[str]]:
    """Read and validate ``MAMe_dataset.csv`` and the headerless ``MAMe_labels.csv``.

    Checks columns, values and types, Subset values, the labels and their order (against
    ``expected_labels`` unless None), that every Medium is a label, and, when ``images_dir``
    exists and holds files, that every row has its image. Labels and splits are used as they
    are. Errors name the file, row (1-based CSV line) and column.
    """
    metadata_dir = Path(metadata_dir)
    labels = _load_labels(metadata_dir / "MAMe_labels.csv", expected_labels)
    path = metadata_dir / dataset_file
    text_columns = [
        c for c in MAME_COLUMNS if c not in ("Width", "Height", "Product size", "Aspect ratio")
    ]
    try:
        dataset = pd.read_csv(path, dtype={c: str for c in text_columns}, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the MAMe metadata: {error}") from error
    if list(dataset.columns) != MAME_COLUMNS:
        raise ValueError(
            f"{path}: columns {list(dataset.columns)} differ from the official {MAME_COLUMNS}"
        )

    def fail(row: int, column: str, message: str) -> ValueError:
        value = dataset.at[row, column]
        return ValueError(f"{path}: line {row + 2}, column {column!r}: {value!r} {message}")

    for column in text_columns:
        # The official file writes "Woven fabric " with a trailing space on all its rows.
        stripped = dataset[column].str.strip()
        changed = int((stripped != dataset[column]).sum())
        if changed:
            logger.warning("%s: stripped spaces around %d %r values", path, changed, column)
            dataset[column] = stripped
        empty = dataset[column].eq("")
        if empty.any():
            raise fail(int(empty.idxmax()), column, "is empty")
    for column in ("Width", "Height", "Product size", "Aspect ratio"):
        numbers = pd.to_numeric(dataset[column], errors="coerce")
        bad = numbers.isna() | ~(numbers > 0)
        if bad.any():
            raise fail(int(bad.idxmax()), column, "is not a positive number")
        dataset[column] = numbers.astype("float64")
    for column in ("Width", "Height"):
        fractional = dataset[column] % 1 != 0
        if fractional.any():
            raise fail(int(fractional.idxmax()), column, "is not a whole number of pixels")
    wrong_product = dataset["Product size"] != dataset["Width"] * dataset["Height"]
    if wrong_product.any():
        raise fail(int(wrong_product.idxmax()), "Product size", "is not Width x Height")
    wrong_aspect = (dataset["Aspect ratio"] - dataset["Width"] / dataset["Height"]).abs() > 1e-3
    if wrong_aspect.any():
        raise fail(int(wrong_aspect.idxmax()), "Aspect ratio", "is not Width / Height")
    bad_subset = ~dataset["Subset"].isin(SUBSETS)
    if bad_subset.any():
        raise fail(int(bad_subset.idxmax()), "Subset", f"is not one of {list(SUBSETS)}")
    unknown = ~dataset["Medium"].isin(labels)
    if unknown.any():
        raise fail(int(unknown.idxmax()), "Medium", "is not a label of MAMe_labels.csv")
    duplicated = dataset["Image file"].duplicated()
    if duplicated.any():
        raise fail(int(duplicated.idxmax()), "Image file", "appears twice")

    if images_dir is not None and Path(images_dir).is_dir() and any(Path(images_dir).iterdir()):
        missing = [f for f in dataset["Image file"] if not (Path(images_dir) / f).is_file()]
        if missing:
            raise ValueError(
                f"{images_dir}: {len(missing)} of {len(dataset)} images listed in {path.name} "
                f"are missing, e.g. {missing[:5]}"
            )
    return dataset, labels


def _load_labels(path: Path, expected: Sequence[str] | None) -> list[str]:
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the MAMe labels: {error}") from error
    if frame.shape[1] != 2:
        raise ValueError(f"{path}: expected two columns 'index,name' without a header")
    for row, (index, name) in enumerate(frame.itertuples(index=False, name=None)):
        if index.strip() != str(row):
            raise ValueError(f"{path}: line {row + 1}: index {index!r}, expected {row}")
        if not name.strip():
            raise ValueError(f"{path}: line {row + 1}: empty label name")
    labels = frame[1].tolist()
    if len(set(labels)) != len(labels):
        raise ValueError(f"{path}: duplicate label names {sorted(set(labels))}")
    if expected is not None and labels != list(expected):
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(labels, expected, strict=False)) if a != b]
        raise ValueError(
            f"{path}: {len(labels)} labels differ from the {len(expected)} expected MAMe labels "
            f"(first differences, as (index, found, expected): {diff[:3]})"
        )
    return labels
