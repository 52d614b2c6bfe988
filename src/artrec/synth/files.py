"""File output shared by the synthetic generators: JPEG and JSON bytes, clearing stale files.

The generators describe their folder as lazy partitions (``artrec.utils.partitions``: relative
path -> bytes or a callable drawing them); the ingest stage saves those through
``artrec.kedro_io.directory.DirectoryDataset``, which writes a work folder and renames it into
place, and the generators' ``out_dir`` functions write them into a folder in place.
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection
from pathlib import Path

from PIL import Image

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg")


def jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """The image (RGB or grey-scale) as a JPEG file at ``quality``, Pillow's defaults otherwise."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def json_bytes(obj: object) -> bytes:
    """``obj`` as the project's JSON files hold it (``artrec.utils.atomic.atomic_write_json``)."""
    return (json.dumps(obj, indent=2) + "\n").encode()


def remove_stale_files(
    root: Path, keep: Collection[Path], suffixes: Collection[str] = IMAGE_SUFFIXES
) -> None:
    """Delete files under ``root`` with one of ``suffixes`` (default: images) that an earlier run
    wrote and ``keep`` no longer names.

    Folders left empty are removed too; files with other suffixes are never touched.
    """
    if not root.is_dir():
        return
    kept = {Path(path).resolve() for path in keep}
    for path in sorted(root.rglob("*"), reverse=True):  # children before their folders
        if path.is_file() and path.suffix in suffixes and path.resolve() not in kept:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
