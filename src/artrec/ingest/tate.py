"""Fetching the real Tate metadata and the thumbnails of the selected artworks.

Metadata (``data.tate.source``):

- ``official``: ``artwork_data.csv`` from github.com/tategallery/collection (raw file of the
  ``master`` branch; Tate publishes no checksum and updates the file, so none is checked: the
  reader validates the content);
- an http(s) URL: a mirror serving ``artwork_data.csv``;
- a folder: one holding ``tate_artworks.csv`` or ``tate_artworks.csv.gz`` (this project's
  flattened format, e.g. ``../shared/data/tate``) or the official ``artwork_data.csv``.

Thumbnails: the release has none. For the records curation will use
(``artrec.curation.tate.select_image_records``), each thumbnail is taken from
``<folder>/images/<path>`` when the source folder has it, else downloaded from its
``thumbnailUrl`` into ``images/<path>`` (``artrec.datasets.tate.thumbnail_relpath``). A failed
download is listed in ``missing_thumbnails.csv`` and curation drops that record with the reason;
after ``MAX_CONSECUTIVE_FAILURES`` failures in a row the stage stops (no network, or the
publisher moved its images), naming where to put the files by hand.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from artrec.curation.tate import class_descriptions, select_image_records
from artrec.datasets.tate import (
    FLAT_FILE_NAMES,
    IMAGES_DIR,
    OFFICIAL_CSV_NAME,
    find_metadata_file,
    read_tate_artworks,
)
from artrec.errors import BadInputError
from artrec.ingest.download import DownloadError, download
from artrec.ingest.sources import OfficialFile, fetch_from
from artrec.utils.atomic import atomic_write_text

log = logging.getLogger(__name__)

OFFICIAL_URL = (
    "https://raw.githubusercontent.com/tategallery/collection/master/" + OFFICIAL_CSV_NAME
)
TATE_OFFICIAL_FILES: tuple[OfficialFile, ...] = (
    OfficialFile(
        name=OFFICIAL_CSV_NAME,
        url=OFFICIAL_URL,
        md5=None,
        extract=False,
        contents=(OFFICIAL_CSV_NAME,),
        max_unpacked_bytes=1 << 30,
    ),
)
MISSING_THUMBNAILS = "missing_thumbnails.csv"
MAX_CONSECUTIVE_FAILURES = 20


def fetch_tate_metadata(source: str, downloads: Path, out_dir: Path) -> Path:
    """Place the metadata file of ``source`` in ``out_dir``; return its path there."""
    folder = Path(source).expanduser()
    if folder.is_dir():
        for name in FLAT_FILE_NAMES:
            if (folder / name).is_file():
                flat = OfficialFile(name=name, url=str(folder / name), md5=None, extract=False)
                fetch_from(str(folder), (flat,), downloads, out_dir, progress=False)
                return out_dir / name
    fetch_from(source, TATE_OFFICIAL_FILES, downloads, out_dir, progress=False)
    return find_metadata_file(out_dir)


def fetch_thumbnails(
    selected: pd.DataFrame, out_dir: Path, source_folder: Path | None = None
) -> pd.DataFrame:
    """Copy or download the thumbnails of ``selected`` (columns ``id``, ``thumbnailUrl``,
    ``image``) into ``out_dir``; return the failures (``id``, ``url``, ``reason``), also written
    to ``missing_thumbnails.csv``. Files already there are kept (a rerun resumes)."""
    failures: list[dict[str, str]] = []
    consecutive = 0
    for row in selected.itertuples(index=False):
        dest = out_dir / row.image
        local = source_folder / row.image if source_folder is not None else None
        url = str(local) if local is not None and local.is_file() else row.thumbnailUrl
        try:
            download(url, dest, None, timeout=30, progress=False, retries=1)
            consecutive = 0
        except (DownloadError, OSError) as error:
            failures.append({"id": row.id, "url": row.thumbnailUrl, "reason": str(error)})
            consecutive += 1
            if consecutive >= MAX_CONSECUTIVE_FAILURES:
                raise BadInputError(
                    row.thumbnailUrl,
                    f"{consecutive} thumbnail downloads failed in a row (last: {error})",
                    f"check the network, or put the thumbnails under <folder>/{IMAGES_DIR}/"
                    "<path of the URL below /art/images/work/> and set data.tate.source to "
                    "that folder",
                ) from error
    missing = pd.DataFrame(failures, columns=["id", "url", "reason"])
    atomic_write_text(out_dir / MISSING_THUMBNAILS, missing.to_csv(index=False))
    if failures:
        log.warning(
            "%d of %d thumbnails could not be fetched (listed in %s)",
            len(failures),
            len(selected),
            out_dir / MISSING_THUMBNAILS,
        )
    return missing


def fetch_tate(
    out_dir: Path, *, source: str, downloads: Path, n_classes: int, per_class: int, seed: int
) -> dict[str, Path]:
    """The whole raw folder from a real source: metadata, then the selected thumbnails.

    Returns the folder's files, relative path -> path (the metadata, ``missing_thumbnails.csv``
    and the thumbnails fetched); files an earlier run with another selection left are not
    among them.
    """
    metadata = fetch_tate_metadata(source, downloads, out_dir)
    records = read_tate_artworks(metadata)
    classes = class_descriptions(records, n_classes)["medium"].tolist()
    selected = select_image_records(records, classes, per_class, seed)
    folder = Path(source).expanduser()
    fetch_thumbnails(selected, out_dir, folder if folder.is_dir() else None)
    files = {metadata.name: metadata, MISSING_THUMBNAILS: out_dir / MISSING_THUMBNAILS}
    files.update(
        {str(image): out_dir / image for image in selected["image"] if (out_dir / image).is_file()}
    )
    return files


def fetched_tate_partitions(
    downloads: Path, *, source: str, n_classes: int, per_class: int, seed: int
) -> dict[str, Path]:
    """:func:`fetch_tate` into the cache ``downloads/unpacked`` (a rerun resumes: files there are
    kept); the ingest node's lazy partition (see ``artrec.ingest.sources``), whose paths the raw
    folder's dataset hard-links into place."""
    return fetch_tate(
        Path(downloads) / "unpacked",
        source=source,
        downloads=Path(downloads),
        n_classes=n_classes,
        per_class=per_class,
        seed=seed,
    )
