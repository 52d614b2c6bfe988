"""The Tate collection's artwork metadata: the one place that knows its file formats.

What Tate publishes (github.com/tategallery/collection, CC0, metadata only, no images):

- ``artworks/<letter>/<3 digits>/<accession number>-<id>.json``: one JSON file per artwork with
  ``id``, ``acno``, ``all_artists``, ``medium``, ``classification``, ``dateText``,
  ``acquisitionYear``, ``width``, ``height``, ``units``, ``thumbnailUrl`` and more (title,
  contributors, subjects, ...);
- ``artwork_data.csv``: the same artworks flattened by Tate (UTF-8 with a byte-order mark),
  columns ``OFFICIAL_CSV_COLUMNS``; it lacks ``classification`` and gives the artist as
  ``"Surname, Forenames"`` instead of ``all_artists``' ``"Forenames Surname"``.

This project's raw format, ``tate_artworks.csv`` (or ``tate_artworks.csv.gz``), has exactly the
columns ``TATE_COLUMNS``: the per-artwork JSON files flattened with the title dropped, as in
``../shared/data/tate/tate_artworks.csv.gz`` (69,202 rows, October 2014 snapshot). The synthetic
default writes it too. :func:`read_tate_artworks` reads both that file and the official
``artwork_data.csv`` (mapped onto ``TATE_COLUMNS``, ``classification`` left empty), so
``data.tate.source: official`` is one switch away.

Every value is kept as the text the file holds (an empty cell is ``""``), because the real
release is untidy in ways that are not errors: ``width``/``height`` hold strings such as
``"(1):"`` or ``"ea.316"`` (4.5% of rows), ``units`` and ``medium`` are often empty,
``acquisitionYear`` is written as a float (``"1856.0"``). What would make the data unusable is
refused with a one-line :class:`artrec.errors.BadInputError` naming the file, the line and the
fix: missing or unexpected columns, ids that are not positive integers, accession numbers that
are not letters + digits, duplicated ids or accession numbers, years outside 1500-2100, unknown
units, thumbnail URLs that are not http(s) or whose image path would leave the images folder,
invalid UTF-8, a broken CSV and a truncated or damaged gzip file. The checks are vectorised
pandas regular expressions declared in ``COLUMN_RULES`` (pydantic, installed, validates one
record at a time: 1.1 s on the real file against 0.05 s here; pandera is not installed).

Images. The release has none: each record's ``thumbnailUrl`` points to a small JPEG on Tate's
site (``http://www.tate.org.uk/art/images/work/A/A00/A00001_8.jpg``). Downloaded (or, in the
synthetic default, drawn) thumbnails live in the raw folder at ``images/<URL path below
/art/images/work/>``, e.g. ``data/01_raw/tate/images/A/A00/A00001_8.jpg`` (other URLs keep their
whole path below ``images/``); :func:`thumbnail_relpath` is that rule.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote

import pandas as pd

from artrec.errors import BadInputError, MissingInputError

TATE_COLUMNS: tuple[str, ...] = (
    "id",
    "acno",
    "all_artists",
    "medium",
    "classification",
    "dateText",
    "acquisitionYear",
    "width",
    "height",
    "units",
    "thumbnailUrl",
)
OFFICIAL_CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "accession_number",
    "artist",
    "artistRole",
    "artistId",
    "title",
    "dateText",
    "medium",
    "creditLine",
    "year",
    "acquisitionYear",
    "dimensions",
    "width",
    "height",
    "depth",
    "units",
    "inscription",
    "thumbnailCopyright",
    "thumbnailUrl",
    "url",
)
# Official CSV column -> this project's column (the others are dropped).
OFFICIAL_TO_TATE: Mapping[str, str] = {
    "id": "id",
    "accession_number": "acno",
    "artist": "all_artists",
    "medium": "medium",
    "dateText": "dateText",
    "acquisitionYear": "acquisitionYear",
    "width": "width",
    "height": "height",
    "units": "units",
    "thumbnailUrl": "thumbnailUrl",
}

FLAT_FILE_NAMES: tuple[str, ...] = ("tate_artworks.csv", "tate_artworks.csv.gz")
OFFICIAL_CSV_NAME = "artwork_data.csv"
IMAGES_DIR = "images"
# Thumbnail URLs on Tate's site start with this path; below it comes the image's own path.
THUMBNAIL_URL_PREFIX = "/art/images/work/"

# column -> (regular expression a value must match in full, what it should be)
COLUMN_RULES: Mapping[str, tuple[str, str]] = {
    "id": (r"[1-9][0-9]*", "a positive integer"),
    "acno": (r"[A-Z]+[0-9]+", "an accession number: capital letters then digits (A00001)"),
    "acquisitionYear": (
        r"|(?:1[5-9][0-9]{2}|20[0-9]{2}|2100)(?:\.0+)?",
        "empty or a year between 1500 and 2100",
    ),
    "units": (r"|mm|cm|m|in", "empty or one of mm, cm, m, in"),
    "thumbnailUrl": (r"|https?://[^\s/]+/\S+", "empty or an http(s) URL"),
}
UNIQUE_COLUMNS: tuple[str, ...] = ("id", "acno")

_FIX = (
    "correct that value, or restore the file: ../shared/data/tate/tate_artworks.csv.gz (md5 "
    "7bb2a992942a3135f00f0b81a9d02eab) or artwork_data.csv of "
    "https://github.com/tategallery/collection"
)


def find_metadata_file(folder: str | Path) -> Path:
    """The metadata file of a raw Tate folder: ``tate_artworks.csv[.gz]`` or ``artwork_data.csv``."""
    folder = Path(folder)
    for name in (*FLAT_FILE_NAMES, OFFICIAL_CSV_NAME):
        if (folder / name).is_file():
            return folder / name
    raise MissingInputError(
        folder,
        f"holds none of {', '.join((*FLAT_FILE_NAMES, OFFICIAL_CSV_NAME))}",
        "check data.tate.source in params.yaml and rerun the ingest_tate stage",
    )


def read_tate_artworks(path: str | Path) -> pd.DataFrame:
    """All records of a Tate metadata file as text columns ``TATE_COLUMNS`` (one row per artwork,
    in file order), validated; see the module docstring for the formats and the checks."""
    path = Path(path)
    text = _decoded_text(path)
    frame = _standard_columns(path, _parse_csv(path, text))
    if frame.empty:
        raise BadInputError(path, "the file lists no artworks", _FIX)
    _check_values(path, frame, text)
    return frame


def _parse_csv(path: Path, text: str) -> pd.DataFrame:
    """The CSV's cells as text; a row with more or fewer fields than the header is refused
    (pandas would silently take a longer first row's extra field as an index)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [row for row in reader if row]  # blank lines skipped
    except csv.Error as error:
        raise BadInputError(
            path, f"line {reader.line_num}: not a readable CSV file ({error})", _FIX
        ) from error
    if not rows:
        raise BadInputError(path, "the file is empty", _FIX)
    header, body = rows[0], rows[1:]
    lengths = {len(row) for row in body}
    if lengths - {len(header)}:
        row = next(i for i, cells in enumerate(body) if len(cells) != len(header))
        raise BadInputError(
            path,
            f"line {_line(text, row)}: {len(body[row])} fields where the header has "
            f"{len(header)} (a stray comma or quote?)",
            _FIX,
        )
    return pd.DataFrame(body, columns=header, dtype=str)


def _line(text: str, row: int) -> int:
    """The file line data row ``row`` (0-based, blank lines skipped) ends on: a quoted field may
    span lines, so the CSV is read again up to that row (only for an error message)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    seen = -1
    for cells in reader:
        seen += bool(cells)
        if seen == row:
            break
    return reader.line_num


def _decoded_text(path: Path) -> str:
    """The file's text: gunzipped when it is gzip (by its first bytes), decoded as strict UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise MissingInputError(
            path, "file not found", "rerun the ingest_tate stage or check data.tate.source"
        ) from error
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as error:
            raise BadInputError(
                path,
                f"truncated or damaged gzip file ({error})",
                "download or copy the file again (the Tate file's md5 is "
                "7bb2a992942a3135f00f0b81a9d02eab)",
            ) from error
    try:
        # utf-8-sig: the official artwork_data.csv starts with a byte-order mark.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise BadInputError(
            path,
            f"line {line}: not valid UTF-8 (byte {raw[error.start]:#04x} at offset {error.start})",
            "save the file as UTF-8 (Tate publishes UTF-8), or restore it",
        ) from error


def _standard_columns(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly ``TATE_COLUMNS``: the flattened format as is, the official CSV
    mapped; anything else is refused, naming the missing and unexpected columns."""
    columns = list(frame.columns)
    if set(OFFICIAL_CSV_COLUMNS) <= set(columns) and "acno" not in columns:
        mapped = frame[list(OFFICIAL_TO_TATE)].rename(columns=dict(OFFICIAL_TO_TATE))
        mapped["classification"] = ""  # only the per-artwork JSON files have it
        return mapped[list(TATE_COLUMNS)]
    missing = [c for c in TATE_COLUMNS if c not in columns]
    unexpected = [c for c in columns if c not in TATE_COLUMNS]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if missing or unexpected or duplicated:
        parts = [f"missing columns {missing}"] if missing else []
        parts += [f"unexpected columns {unexpected}"] if unexpected else []
        parts += [f"repeated columns {duplicated}"] if duplicated else []
        raise BadInputError(
            path,
            "; ".join(parts) + f" (expected {list(TATE_COLUMNS)} or the official "
            f"{OFFICIAL_CSV_NAME} columns)",
            "restore the header line, or the file",
        )
    return frame[list(TATE_COLUMNS)].reset_index(drop=True)


def _check_values(path: Path, frame: pd.DataFrame, text: str) -> None:
    """The rules of ``COLUMN_RULES``, unique ids and safe thumbnail paths (``text``: the file,
    to name the line of a bad row)."""
    for column, (pattern, wanted) in COLUMN_RULES.items():
        bad = ~frame[column].str.fullmatch(pattern)
        if bad.any():
            problem = f"is not {wanted} ({int(bad.sum())} such rows)"
            _refuse_row(path, text, frame, _first(bad), column, problem, _FIX)
    for column in UNIQUE_COLUMNS:
        repeated = frame[column].duplicated(keep="first")
        if repeated.any():
            row = _first(repeated)
            first = _first(frame[column] == frame[column].iloc[row])
            problem = f"repeats line {_line(text, first)} ({int(repeated.sum())} repeated values)"
            fix = "keep one record per artwork (remove the duplicate line), or restore the file"
            _refuse_row(path, text, frame, row, column, problem, fix)
    urls = frame["thumbnailUrl"]
    escaping = thumbnail_relpaths(urls).isna() & (urls != "")
    if escaping.any():
        problem = (
            f"leads to an image path outside the {IMAGES_DIR} folder "
            f"({int(escaping.sum())} such rows)"
        )
        _refuse_row(path, text, frame, _first(escaping), "thumbnailUrl", problem, _FIX)


def _first(mask: pd.Series) -> int:
    """Position of the first true row."""
    return int(mask.to_numpy().argmax())


def _refuse_row(
    path: Path, text: str, frame: pd.DataFrame, row: int, column: str, problem: str, fix: str
) -> NoReturn:
    """Raise the error naming the bad row's file line, its column and its value."""
    value = frame[column].iloc[row]
    raise BadInputError(
        path, f"line {_line(text, row)}, column '{column}': {value!r} {problem}", fix
    )


def thumbnail_relpaths(urls: pd.Series) -> pd.Series:
    """Where each thumbnail lives below the raw folder: ``images/<URL path below
    /art/images/work/>`` (percent-decoded); missing (NA) for an empty URL and for every path that
    would leave ``images/``: ``.`` or ``..`` parts, empty parts, backslashes, control characters,
    also when percent-encoded. Vectorised: the real file has 58,416 URLs."""
    urls = urls.astype(str)
    paths = urls.str.replace(r"^https?://[^/\s]*", "", regex=True)
    paths = paths.str.replace(r"[?#].*$", "", regex=True)
    encoded = paths.str.contains("%", regex=False)
    if encoded.any():
        paths = paths.where(~encoded, paths[encoded].map(unquote))
    paths = paths.str.replace(f"^{re.escape(THUMBNAIL_URL_PREFIX)}", "", regex=True)
    paths = paths.str.lstrip("/")
    unsafe = paths.str.contains(r"(?:^|/)\.{0,2}(?:/|$)|[\\\x00-\x1f]", regex=True)
    relative = IMAGES_DIR + "/" + paths
    return relative.where(~(unsafe | (urls == "")) & urls.str.match(r"https?://"))


def thumbnail_relpath(url: str) -> str:
    """:func:`thumbnail_relpaths` of one URL; ``ValueError`` when it has none."""
    relative = thumbnail_relpaths(pd.Series([url], dtype=str)).iloc[0]
    if pd.isna(relative):
        raise ValueError(f"{url!r} has no image path inside the {IMAGES_DIR} folder")
    return str(relative)


def image_path(raw_dir: str | Path, url: str) -> Path:
    """The thumbnail file of ``url`` inside the raw folder ``raw_dir``."""
    return Path(raw_dir) / thumbnail_relpath(url)


def numeric_size_mm(frame: pd.DataFrame) -> pd.DataFrame:
    """``width``/``height`` in mm where they are plain numbers in mm or cm, else NaN (the
    release's untidy values such as ``"(1):"`` are not sizes)."""
    scale = frame["units"].map({"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4})
    return pd.DataFrame(
        {
            side: pd.to_numeric(
                frame[side].where(frame[side].str.fullmatch(r"\d+(\.\d+)?")), errors="coerce"
            )
            * scale
            for side in ("width", "height")
        },
        index=frame.index,
    )
