"""Safe image decoding: bounded memory, every colour mode to 8-bit RGB, clear reasons for bad files.

Museum images are large (MAMe: mean 10.3 MP, largest 32,683 x 11,412 = 373 MP), come in many
modes (CMYK, 16-bit grey, palette with transparency, ...) and a few may be truncated or corrupt.
Decoding goes through Pillow with three guards:

- a decompression-bomb limit just above the largest legitimate image (``max_pixels``) instead of
  Pillow's default (which rejects the largest MAMe image) or no limit at all; images above it are
  rejected, never decoded;
- JPEG draft mode: libjpeg decodes at 1/2, 1/4 or 1/8 scale in the DCT domain, so a large JPEG is
  never held at full resolution when only a small output is wanted;
- truncated files are errors (``ImageFile.LOAD_TRUNCATED_IMAGES`` off), not grey-padded images;
  so are a JPEG without an end-of-image marker after its last scan (a copy cut short and padded,
  which libjpeg decodes silently) and a PNG whose chunk checksums fail (Pillow checks only the
  chunks it needs). JPEG scan data carries no checksum: bytes flipped inside it decode to a
  damaged-looking image, as in every JPEG reader;
- a shape check before any pixel is decoded: no empty image, and no aspect ratio beyond
  ``max_aspect_ratio`` (a 20000 x 1 strip resized to a 128 px shorter side would be a 2.5
  gigapixel output).

Every failure is raised as :class:`BadImageError` (a :class:`artrec.errors.BadInputError`) whose
``reason`` is short enough for a quarantine list.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Iterator

import numpy as np
from PIL import ExifTags, Image, ImageChops, ImageFile, UnidentifiedImageError

from artrec.errors import BadInputError

# Just above the largest MAMe image (373 MP); anything bigger is treated as a decompression bomb.
DEFAULT_MAX_PIXELS = 400_000_000

# Longer side / shorter side. The most elongated MAMe image is 15:1 (7756 x 517); beyond 50:1 an
# image is a banner or a broken file, and resizing its shorter side up would explode its size.
DEFAULT_MAX_ASPECT_RATIO = 50.0

# JPEG draft decoding keeps at least this many times the output size on each axis before the final
# Lanczos resample. libjpeg's entropy decoding costs the same at every scale, so the speed-up comes
# mostly from the smaller scales: for a 10 MP photo resized to a 500 px shorter side, 1.25 allows
# 1/4-scale decoding (~3.3x faster than a full decode + Lanczos, PSNR ~40 dB against it), 2.0 only
# 1/2-scale (~2-2.5x, ~46 dB). Storing the output as JPEG q95 alone already costs more (~38 dB);
# benchmarks/preprocess.py prints all three.
DEFAULT_DRAFT_HEADROOM = 1.25

# With reducing_gap=3 Pillow first shrinks by an integer factor with a box filter, then resamples;
# Pillow documents the result as indistinguishable from a fair resample in most cases for gaps >= 3.
# It matters for non-JPEG inputs, which have no draft mode.
RESIZE_REDUCING_GAP = 3.0

# EXIF orientation -> transpose that shows the image upright (the table of ImageOps.exif_transpose).
# It is applied here by hand because the transpose must come *after* the resize: the draft crop box
# is expressed in the stored (not yet rotated) orientation.
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = {5, 6, 7, 8}

_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_WHITE = (255, 255, 255)


class BadImageError(BadInputError):
    """An input image that cannot be used; ``reason`` says why in a few words."""

    def __init__(self, path: str | os.PathLike[str], reason: str, fix: str | None = None) -> None:
        # ``fix`` is optional so that the error pickles (three args) across worker processes.
        super().__init__(path, reason, fix or _fix_for(reason))
        self.reason = reason


def _fix_for(reason: str) -> str:
    if reason.startswith("too large"):
        return "raise preprocess.mame.max_image_pixels if the image is genuine, else remove it"
    if reason.startswith("missing"):
        return "restore the file from the official download, or remove its row from the metadata"
    return "replace the file with a readable copy from the official download, or remove it"


@contextlib.contextmanager
def decoding_limits(max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[None]:
    """Within this block Pillow rejects images above ``max_pixels`` and refuses truncated files.

    Pillow only warns between ``MAX_IMAGE_PIXELS`` and twice that; the warning is turned into an
    error so that ``max_pixels`` is the real limit. These are process-wide Pillow settings, restored
    on exit: use one decoding thread per process (the preprocessing stage uses processes).
    """
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    Image.MAX_IMAGE_PIXELS = max_pixels
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


def read_size(
    path: str | os.PathLike[str],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO,
) -> tuple[int, int]:
    """(width, height) as displayed (EXIF orientation applied), read from the header only."""
    with _as_bad_image(path, max_pixels), Image.open(path) as im:
        _check_shape(path, im, max_aspect_ratio)
        width, height = im.size
        return (height, width) if _orientation(im) in _SWAPS_AXES else (width, height)


def load_rgb(
    path: str | os.PathLike[str],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO,
) -> Image.Image:
    """Decode a whole image at full resolution, upright, as 8-bit RGB."""
    with _as_bad_image(path, max_pixels), Image.open(path) as im:
        _check_shape(path, im, max_aspect_ratio)
        im.load()
        check_integrity(path, im.format)
        return _apply_orientation(to_rgb(im), _orientation(im))


def load_resized(
    path: str | os.PathLike[str],
    output_size: Callable[[int, int], tuple[int, int]],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_headroom: float = DEFAULT_DRAFT_HEADROOM,
    resample: Image.Resampling = Image.Resampling.LANCZOS,
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO,
) -> Image.Image:
    """Decode ``path`` straight to an upright 8-bit RGB image of ``output_size(width, height)``.

    ``output_size`` maps the displayed size to the wanted one. JPEGs are decoded at the smallest
    DCT scale (1, 1/2, 1/4, 1/8) that still leaves ``draft_headroom`` times the output size on both
    axes, so the final Lanczos resample has real pixels to average and the result stays close to a
    full-resolution resize. ``draft_headroom=0`` disables draft decoding. Other formats are decoded
    fully and shrunk by Pillow's reduce-then-resample (``reducing_gap``). Images above
    ``max_pixels`` or more elongated than ``max_aspect_ratio`` are refused before decoding.
    """
    with _as_bad_image(path, max_pixels), Image.open(path) as im:
        _check_shape(path, im, max_aspect_ratio)
        orientation = _orientation(im)
        swap = orientation in _SWAPS_AXES
        shown_w, shown_h = (im.height, im.width) if swap else im.size
        out_w, out_h = output_size(shown_w, shown_h)
        if out_w < 1 or out_h < 1:
            raise ValueError(f"output size {out_w}x{out_h} is empty")
        stored_out = (out_h, out_w) if swap else (out_w, out_h)

        box = None
        if draft_headroom > 0:
            wanted = tuple(max(1, math.ceil(side * draft_headroom)) for side in stored_out)
            # Only the JPEG decoder implements draft; other formats return None.
            drafted = im.draft("RGB", wanted)
            if drafted is not None:
                # The decoded image may carry a partial last pixel column/row; the box maps the
                # original extent exactly.
                box = drafted[1]
        im.load()
        check_integrity(path, im.format)
        # Plain RGB needs no conversion; skipping it saves a full-size copy.
        plain_rgb = im.mode == "RGB" and "transparency" not in im.info
        rgb = im if plain_rgb else to_rgb(im)
        resized = rgb.resize(stored_out, resample, box=box, reducing_gap=RESIZE_REDUCING_GAP)
        return _apply_orientation(resized, orientation)


def to_rgb(im: Image.Image, background: tuple[int, int, int] = _WHITE) -> Image.Image:
    """Convert a loaded image of any mode to a new 8-bit RGB image.

    Transparent pixels are composited on ``background``; 16/32-bit grey is scaled (Pillow's own
    conversion clips everything above 255 to white); CMYK JPEGs without an Adobe marker are
    un-inverted (Pillow assumes Adobe's inverted convention for every CMYK JPEG).
    """
    if im.mode in _SIXTEEN_BIT_MODES or im.mode in {"I", "F"}:
        im = _grey_to_8bit(im)
    if im.mode == "CMYK" and im.format in {"JPEG", "MPO"} and "adobe" not in im.info:
        im = ImageChops.invert(im)
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return im.convert("RGB")


def _check_shape(path: str | os.PathLike[str], im: Image.Image, max_aspect_ratio: float) -> None:
    """Refuse, from the header alone, shapes that no resize can turn into a useful input."""
    width, height = im.size
    if width < 1 or height < 1:
        raise BadImageError(path, f"empty: the image is {width} x {height} pixels")
    ratio = max(width, height) / min(width, height)
    if ratio > max_aspect_ratio:
        raise BadImageError(
            path,
            f"extreme aspect ratio: {width} x {height} is {ratio:.0f}:1, above "
            f"max_aspect_ratio={max_aspect_ratio:g}:1",
        )


# Bytes read from the end of a JPEG to find its end-of-image marker without reading it all.
_JPEG_TAIL = 1 << 16


def check_integrity(path: str | os.PathLike[str], image_format: str | None) -> None:
    """Refuse damage the decoder lets through: a JPEG cut short and padded, a PNG with a bad
    checksum. ``image_format`` is Pillow's ``Image.format`` of the opened file."""
    if image_format in ("JPEG", "MPO"):
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _JPEG_TAIL))
            if b"\xff\xd9" in handle.read():
                return  # the usual case: the end-of-image marker is near the end
            handle.seek(0)
            data = handle.read()
        # An EXIF thumbnail has its own markers; only an EOI after the last scan (SOS) counts.
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            raise BadImageError(
                path,
                "truncated: no end-of-image marker after the last scan (cut short and padded?)",
            )
    elif image_format == "PNG":
        with Image.open(path) as again:
            again.verify()  # every chunk's CRC; raises SyntaxError("broken PNG file ...")


def _grey_to_8bit(im: Image.Image) -> Image.Image:
    values = np.asarray(im)
    if im.mode == "F":
        # Float images are conventionally in [0, 1]; anything else is taken as 8-bit values.
        scale = 255.0 if float(np.nanmax(values, initial=0.0)) <= 1.0 else 1.0
        grey = np.clip(np.nan_to_num(values) * scale, 0, 255)
    elif im.mode in _SIXTEEN_BIT_MODES or int(values.max(initial=0)) > 255:
        # A 32-bit "I" image with values above 255 almost always holds 16-bit samples.
        grey = np.clip(values.astype(np.float64), 0, 65535) * (255.0 / 65535.0)
    else:
        grey = np.clip(values, 0, 255)
    return Image.fromarray(np.rint(grey).astype(np.uint8), mode="L")


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        # Broken EXIF blocks are common in museum files; the pixels are still fine.
        return 1
    return value if value in _ORIENTATION_TRANSPOSE else 1


def _apply_orientation(im: Image.Image, orientation: int) -> Image.Image:
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    return im if method is None else im.transpose(method)


@contextlib.contextmanager
def _as_bad_image(path: str | os.PathLike[str], max_pixels: int) -> Iterator[None]:
    """Apply the decoding limits and turn any decoding failure into a :class:`BadImageError`."""
    try:
        with decoding_limits(max_pixels):
            yield
    except (BadImageError, MemoryError):
        raise
    except Exception as exc:
        raise BadImageError(path, _describe(path, exc, max_pixels)) from exc


def _describe(path: str | os.PathLike[str], exc: Exception, max_pixels: int) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing: file not found"
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return f"too large: above max_pixels={max_pixels:,} ({exc})"
    if isinstance(exc, UnidentifiedImageError):
        return f"unreadable: not a recognised image format{_content_hint(path)}"
    if isinstance(exc, OSError) and "truncated" in str(exc).lower():
        return f"truncated: {exc}"
    return f"unreadable: {type(exc).__name__}: {exc}"


def _content_hint(path: str | os.PathLike[str]) -> str:
    """What an unidentified file holds instead, when that is easy to tell (a failed download)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return ""
    if not head:
        return " (the file is empty)"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return " (it holds an HTML/XML page: an error page saved by a failed download?)"
    return ""
