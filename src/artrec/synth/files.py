"""File output shared by the synthetic writers: JPEG bytes and clearing out stale images.

The writers fill their output folder in place, each file written atomically
(``artrec.utils.atomic``). Replacing a whole folder at once is the pipeline's job
(``artrec.kedro_io.directory.DirectoryDataset`` renames a finished work folder into place), so
the generators keep no staging folder of their own.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from pathlib import Path

from PIL import Image

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg")


def jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """The image (RGB or grey-scale) as a JPEG file at ``quality``, Pillow's defaults otherwise."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def remove_stale_images(root: Path, keep: Collection[Path]) -> None:
    """Delete images under ``root`` that an earlier run wrote and ``keep`` no longer names.

    Folders left empty are removed too; files other than images are never touched.
    """
    if not root.is_dir():
        return
    kept = {Path(path).resolve() for path in keep}
    for path in sorted(root.rglob("*"), reverse=True):  # children before their folders
        if path.is_file() and path.suffix in IMAGE_SUFFIXES and path.resolve() not in kept:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
