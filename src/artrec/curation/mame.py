"""Curate raw museum records into the MAMe dataset, and validate the official MAMe metadata.

Curation follows the paper (sections 3.1-3.2): map raw medium strings to classes, drop
grey-scale and small images, keep classes with enough images, cap each class at
train + val + test images balanced across museums, then split per class and museum.
The result is in the official ``MAMe_dataset.csv`` format, with a log of every dropped record.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image

from artrec.curation.labelmap import LabelMap
from artrec.errors import BadInputError
from artrec.images.decode import (
    DEFAULT_MAX_PIXELS,
    BadImageError,
    check_integrity,
    decoding_limits,
    read_size,
)

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
# DecompressionBombWarning is raised as an error inside ``decoding_limits``.
_UNREADABLE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)
# What to do about a bad official metadata file.
_METADATA_FIX = (
    "correct that value, or restore the official file from MAMe_metadata.zip "
    "(md5 0bca980978e3883f753f01ccad955981)"
)


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
def image_size(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) as displayed (EXIF orientation applied), from the image header only.

    Museum scans reach 373 MP (MAMe's largest), above Pillow's own decompression-bomb limit, so
    the project's limit ``max_pixels`` (just above that) applies instead; images above it, empty
    ones and extreme aspect ratios raise :class:`artrec.images.BadImageError`. Pixel damage is
    found only when the pixels are decoded (:func:`is_greyscale`, preprocessing).
    """
    return read_size(path, max_pixels)


def is_greyscale(
    path: Path, tolerance: int = 8, thumb_size: int = 64, max_pixels: int = DEFAULT_MAX_PIXELS
) -> bool:
    """True for a grey-scale image: a grey mode, or colour channels that (almost) agree.

    Decodes a small thumbnail only (JPEG draft mode decodes at 1/8 scale): grey when at most 1%
    of its pixels have channels spread by more than ``tolerance`` (out of 255), so compression
    noise and a small coloured stamp do not count as colour. Other formats are decoded whole, so
    the decompression-bomb limit ``max_pixels`` bounds the memory used.
    """
    with decoding_limits(max_pixels), Image.open(path) as image:
        if image.mode in _GREY_MODES:
            return True
        image.draft("RGB", (thumb_size, thumb_size))
        thumb = image.convert("RGB")
        # The pixels were just decoded: refuse files the decoder tolerated (cut short and padded).
        check_integrity(path, image.format)
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
        raise BadInputError(
            "the museum records",
            f"the table lacks the column(s) {missing} (found {list(records.columns)})",
            f"give it the columns {RECORD_COLUMNS}",
        )
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
    except BadImageError as error:
        return None, error.reason
    except _UNREADABLE_ERRORS as error:  # the header read, but the pixels do not decode
        return None, f"{type(error).__name__}: {error}"


def _read_size(images_dir: Path, name: str) -> tuple[tuple[int, int] | None, str]:
    escape = _escape_problem(images_dir, name)
    if escape:
        return None, escape
    try:
        return image_size(images_dir / name), ""
    except BadImageError as error:
        return None, error.reason
    except _UNREADABLE_ERRORS as error:
        return None, f"{type(error).__name__}: {error}"


def _escape_problem(images_dir: Path, name: str) -> str:
    """Why ``name`` does not name a file inside ``images_dir``, or "" when it does."""
    pure = PurePosixPath(name)
    windows_like = "\\" in name or name[1:2] == ":"  # "..\\x.jpg", "C:/x.jpg"
    if not name or pure.is_absolute() or ".." in pure.parts or windows_like or "\x00" in name:
        return f"image path {name!r} leaves {images_dir}"
    # A symlink inside the folder may still lead out of it.
    resolved = (images_dir / name).resolve()
    if not resolved.is_relative_to(images_dir.resolve()):
        return f"image path {name!r} resolves to {resolved}, outside {images_dir} (symlink?)"
    return ""


def load_museum_records(path: Path) -> pd.DataFrame:
    """Read raw museum records (``museum_records.csv``) as text, refusing unreadable files.

    The columns are checked by :func:`curate_museum_records`; here a file that is not UTF-8 CSV
    (binary, truncated inside a quoted field, empty) raises :class:`BadInputError` naming it.
    """
    path = Path(path)
    try:
        records = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise BadInputError(
            path,
            f"cannot read the museum records: {type(error).__name__}: {error}",
            "write it as UTF-8 CSV with the columns " + ", ".join(RECORD_COLUMNS),
        ) from error
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise BadInputError(
            path,
            f"lacks the column(s) {missing} (found {list(records.columns)})",
            "give it the columns " + ", ".join(RECORD_COLUMNS),
        )
    # Empty cells are missing fields (dropped with that reason), not empty strings.
    return records.replace("", None)


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
    ``expected_labels`` unless None), that every Medium is a label, that every Image file is a
    relative path inside the images folder, and, when ``images_dir`` exists and holds files, that
    every row has its image. Labels and splits are used as they are. Errors are
    :class:`BadInputError` naming the file, row (1-based CSV line) and column, and the fix.
    """
    metadata_dir = Path(metadata_dir)
    labels = _load_labels(metadata_dir / "MAMe_labels.csv", expected_labels)
    path = metadata_dir / dataset_file
    text_columns = [
        c for c in MAME_COLUMNS if c not in ("Width", "Height", "Product size", "Aspect ratio")
    ]
    try:
        dataset = pd.read_csv(
            path, dtype={c: str for c in text_columns}, keep_default_na=False, encoding="utf-8"
        )
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise BadInputError(
            path, f"cannot read the MAMe metadata: {type(error).__name__}: {error}", _METADATA_FIX
        ) from error
    if list(dataset.columns) != MAME_COLUMNS:
        raise BadInputError(
            path,
            f"columns {list(dataset.columns)} differ from the official {MAME_COLUMNS}",
            _METADATA_FIX,
        )

    if dataset.empty:
        raise BadInputError(path, "the metadata lists no images", _METADATA_FIX)

    def fail(row: int, column: str, message: str) -> BadInputError:
        value = dataset.at[row, column]
        return BadInputError(
            path, f"line {row + 2}, column {column!r}: {value!r} {message}", _METADATA_FIX
        )

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
    # Checked against a folder even without images: the preprocessing stage joins these names
    # to the images folder.
    folder = Path(images_dir) if images_dir is not None else metadata_dir / "data"
    for row, name in enumerate(dataset["Image file"]):
        escape = _escape_problem(folder, name)
        if escape:
            raise fail(row, "Image file", f"is not a file name inside the images folder ({escape})")

    if images_dir is not None and Path(images_dir).is_dir() and any(Path(images_dir).iterdir()):
        missing = [f for f in dataset["Image file"] if not (Path(images_dir) / f).is_file()]
        if missing:
            raise BadInputError(
                images_dir,
                f"{len(missing)} of {len(dataset)} images listed in {path.name} are missing, "
                f"e.g. {missing[:5]}",
                "unpack the complete MAMe_data.zip (md5 39b11ef14dba807faf284f74ec2576d3) "
                "there, or remove the rows of the missing images",
            )
    return dataset, labels


def _load_labels(path: Path, expected: Sequence[str] | None) -> list[str]:
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise BadInputError(
            path, f"cannot read the MAMe labels: {type(error).__name__}: {error}", _METADATA_FIX
        ) from error
    if frame.shape[1] != 2:
        raise BadInputError(
            path, "expected two columns 'index,name' without a header", _METADATA_FIX
        )
    for row, (index, name) in enumerate(frame.itertuples(index=False, name=None)):
        if index.strip() != str(row):
            raise BadInputError(
                path, f"line {row + 1}: index {index!r}, expected {row}", _METADATA_FIX
            )
        if not name.strip():
            raise BadInputError(path, f"line {row + 1}: empty label name", _METADATA_FIX)
    labels = frame[1].tolist()
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise BadInputError(path, f"duplicate label names {duplicates}", _METADATA_FIX)
    if expected is not None and labels != list(expected):
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(labels, expected, strict=False)) if a != b]
        raise BadInputError(
            path,
            f"{len(labels)} labels differ from the {len(expected)} expected MAMe labels "
            f"(first differences, as (index, found, expected): {diff[:3]})",
            _METADATA_FIX,
        )
    return labels
