"""A synthetic Tate-like raw folder in the exact on-disk format of the real metadata.

``tate_partitions`` describes (as lazy partitions, ``artrec.utils.partitions``; the ingest
stage saves them) and ``generate_tate_dataset`` writes

    out_dir/tate_artworks.csv          the columns of ``artrec.datasets.tate.TATE_COLUMNS``
    out_dir/images/<P>/<P00>/<acno>_8.jpg   thumbnails, at the path their thumbnailUrl gives

The descriptions follow the real distribution: the committed facts
(``conf/base/tate_media.csv``, computed once from the real metadata by
``artrec.curation.tate.media_facts``: the 200 most frequent descriptions, 93% of the 69,202
records, with their counts, how many have a thumbnail, and their usual classification) are scaled
to ``records`` rows by largest-remainder rounding, so every description keeps its share up to
rounding; the long tail beyond the 200 is left out. The other columns look like the real ones,
including their untidiness: empty media, floats for years (``"1856.0"``), 2% of widths such as
``"(1):"``, 5% of records without dimensions or units, thumbnail URLs in Tate's layout.

Only the thumbnails an ingest would fetch are drawn (the real release has none to copy): those
of ``artrec.curation.tate.select_image_records`` for the ``n_classes`` most frequent descriptions,
``images_per_class`` each, drawn from their medium tags by ``artrec.synth.tate_looks``. Each image
has its own generator seeded by ``(seed, id)``; the CSV and the JPEGs are byte-identical on every
machine (integer arithmetic, ``apportion``'s correctly rounded division, the MAMe drawers'
deterministic maths, ``jpeg_bytes``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artrec.curation.mame import apportion
from artrec.curation.medium_tags import MediumTagger
from artrec.curation.tate import FACT_COLUMNS, class_descriptions, select_image_records
from artrec.datasets.tate import FLAT_FILE_NAMES, IMAGES_DIR, TATE_COLUMNS
from artrec.errors import BadInputError
from artrec.synth.files import jpeg_bytes, remove_stale_files
from artrec.synth.tate_looks import draw_thumbnail
from artrec.utils.partitions import write_partitions

CSV_NAME = FLAT_FILE_NAMES[0]
# Accession-number letters by classification, as in the real collection (D: the Turner Bequest
# drawings, P: prints, N: the National Gallery's former works, T: later acquisitions).
ACNO_PREFIX = {"on paper, unique": "D", "on paper, print": "P", "painting": "N"}
OTHER_PREFIX = "T"
MAX_ASPECT = 2  # thumbnails at most twice as long as wide (drawn size; the records' own vary)


def load_media_facts(path: str | Path) -> pd.DataFrame:
    """The committed description frequencies (columns ``FACT_COLUMNS``), checked."""
    path = Path(path)
    try:
        facts = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise BadInputError(
            path, f"cannot read the media facts ({error})", "restore it from git"
        ) from error
    if list(facts.columns) != list(FACT_COLUMNS):
        raise BadInputError(
            path,
            f"columns {list(facts.columns)}, expected {list(FACT_COLUMNS)}",
            "restore it from git, or regenerate it with artrec.curation.tate",
        )
    for column in ("records", "with_thumbnail"):
        if not facts[column].str.fullmatch(r"\d+").all():
            raise BadInputError(path, f"column {column!r} must hold counts", "restore it from git")
    facts[["records", "with_thumbnail"]] = facts[["records", "with_thumbnail"]].astype(np.int64)
    return facts


def synthetic_records(facts: pd.DataFrame, records: int, seed: int) -> pd.DataFrame:
    """``records`` metadata rows whose descriptions follow ``facts`` (see the module docstring)."""
    counts = apportion(records, facts["records"].tolist(), [records] * len(facts))
    media, classification, thumbnail = [], [], []
    for n, (medium, real, with_thumb, kind) in zip(
        counts,
        facts[["medium", "records", "with_thumbnail", "classification"]].itertuples(index=False),
        strict=True,
    ):
        # Records with a thumbnail in the real share, rounded half up in integers.
        thumbs = (2 * n * int(with_thumb) + int(real)) // (2 * int(real))
        media += [medium] * n
        classification += [kind] * n
        thumbnail += [True] * thumbs + [False] * (n - thumbs)
    rng = np.random.default_rng([seed, 1])
    order = rng.permutation(len(media))
    frame = pd.DataFrame(
        {
            "medium": np.asarray(media, dtype=object)[order],
            "classification": np.asarray(classification, dtype=object)[order],
            "thumbnail": np.asarray(thumbnail, dtype=bool)[order],
        }
    )
    n = len(frame)
    serial: dict[str, int] = {}
    acnos = []
    for kind in frame["classification"]:
        prefix = ACNO_PREFIX.get(kind, OTHER_PREFIX)
        serial[prefix] = serial.get(prefix, 0) + 1
        acnos.append(f"{prefix}{serial[prefix]:05d}")
    year = rng.integers(1700, 2011, n)
    acquired = np.maximum(year + rng.integers(0, 120, n), 1823).clip(max=2013)
    width, height = rng.integers(80, 1500, n), rng.integers(80, 1500, n)
    kind_of_size = rng.integers(0, 100, n)  # < 5: no dimensions; 5-6: untidy width
    undated = rng.integers(0, 12, n) == 0
    urls = [
        f"http://www.tate.org.uk/art/images/work/{a[0]}/{a[:3]}/{a}_8.jpg" if has else ""
        for a, has in zip(acnos, frame["thumbnail"], strict=True)
    ]
    return pd.DataFrame(
        {
            "id": [str(1000 + i) for i in range(n)],
            "acno": acnos,
            "all_artists": [f"Artist {k}" for k in rng.integers(1, 500, n)],
            "medium": frame["medium"],
            "classification": frame["classification"],
            "dateText": np.where(undated, "date not known", year.astype(str)),
            "acquisitionYear": [f"{y}.0" for y in acquired],
            "width": np.where(
                kind_of_size < 5, "", np.where(kind_of_size < 7, "(1):", width.astype(str))
            ),
            "height": np.where(kind_of_size < 5, "", height.astype(str)),
            "units": np.where(kind_of_size < 5, "", "mm"),
            "thumbnailUrl": urls,
        }
    )[list(TATE_COLUMNS)]


def thumbnail_size(width: str, height: str, short: int) -> tuple[int, int]:
    """Drawn (width, height): shorter side ``short``, the record's aspect (integer maths), at most
    ``MAX_ASPECT``; records without usable dimensions get 4:5 portrait."""
    if not (width.isdigit() and height.isdigit()) or int(width) == 0 or int(height) == 0:
        return short, short * 5 // 4
    w, h = int(width), int(height)
    if w <= h:
        return short, min(short * h // w, MAX_ASPECT * short)
    return min(short * w // h, MAX_ASPECT * short), short


def _thumbnail(
    medium_tags: tuple[str, ...],
    size: tuple[int, int],
    key: tuple[int, ...],
    fine_cycles: float,
    jpeg_quality: int,
) -> bytes:
    image = draw_thumbnail(medium_tags, *size, np.random.default_rng(list(key)), fine_cycles)
    return jpeg_bytes(image, jpeg_quality)


def tate_partitions(
    *,
    facts_path: str | Path,
    records: int,
    n_classes: int,
    images_per_class: int,
    thumbnail_size_px: int,
    fine_cycles: float,
    seed: int,
    tagger: MediumTagger,
    jpeg_quality: int = 85,
) -> dict[str, bytes | Callable[[], bytes]]:
    """The metadata (bytes) and each thumbnail (a callable drawing it), see the module docstring."""
    if thumbnail_size_px < 8:
        raise ValueError(f"thumbnails need at least 8 px a side, got {thumbnail_size_px}")
    frame = synthetic_records(load_media_facts(facts_path), records, seed)
    classes = class_descriptions(frame, n_classes)["medium"].tolist()
    if len(classes) < n_classes:
        raise ValueError(f"{records} records give only {len(classes)} classes; raise records")
    chosen = select_image_records(frame, classes, images_per_class, seed)
    partitions: dict[str, bytes | Callable[[], bytes]] = {}
    for row in chosen.itertuples(index=False):
        partitions[row.image] = functools.partial(
            _thumbnail,
            tuple(tagger.tag_set(row.medium)),
            thumbnail_size(row.width, row.height, thumbnail_size_px),
            (seed, 3, int(row.id)),
            fine_cycles,
            jpeg_quality,
        )
    partitions[CSV_NAME] = frame.to_csv(index=False, lineterminator="\n").encode()
    return partitions


def generate_tate_dataset(out_dir: str | Path, **options: Any) -> Path:
    """Write :func:`tate_partitions` into ``out_dir``; return the CSV path. Thumbnails an earlier
    run left that this one does not write are deleted."""
    partitions = tate_partitions(**options)
    out = write_partitions(out_dir, partitions, workers=None)
    remove_stale_files(out / IMAGES_DIR, [out / key for key in partitions if key != CSV_NAME])
    return out / CSV_NAME
