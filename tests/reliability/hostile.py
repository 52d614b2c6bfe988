"""Hostile inputs made on the fly (no binary fixtures): images, and helpers shared by the suite.

Every image case says what the project must do with it: ``handled`` (decoded to an upright 8-bit
RGB image, checked by ``check``) or refused with a ``reason`` starting with the given words.
"""

from __future__ import annotations

import io
import math
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

RED = (200, 30, 30)
EXIF_ORIENTATION = 0x0112


# ---- image bytes -------------------------------------------------------------------------------
def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise_jpeg(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "JPEG", quality=90)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` (8-bit RGB) but carries almost no pixel data:
    enough for a header read, and a bomb if a decoder allocated the declared size."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _png_chunk(b"IEND", b"")
    )


def grey_jpeg(width: int, height: int) -> bytes:
    """A valid baseline grey JPEG of any size whose 8x8 blocks are all mid-grey.

    One-symbol Huffman tables code each block in 2 bits, so the largest MAMe image
    (32,683 x 11,412 = 373 MP) is a 1.5 MB file that decodes in a fraction of a second in draft
    mode: the real size and header path without a gigabyte fixture.
    """

    def segment(marker: int, payload: bytes) -> bytes:
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    quantisation = segment(0xDB, b"\x00" + b"\x01" * 64)
    frame = segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    one_code = b"\x01" + b"\x00" * 15  # one code of length 1: DC category 0, AC end-of-block
    tables = segment(0xC4, b"\x00" + one_code + b"\x00") + segment(
        0xC4, b"\x10" + one_code + b"\x00"
    )
    scan = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    data = b"\x00" * math.ceil(blocks * 2 / 8)
    return b"\xff\xd8" + quantisation + frame + tables + scan + data + b"\xff\xd9"


def _strip_adobe_marker(jpeg: bytes) -> bytes:
    start = jpeg.index(b"\xff\xee")
    length = struct.unpack(">H", jpeg[start + 2 : start + 4])[0]
    return jpeg[:start] + jpeg[start + 2 + length :]


def _corrupt_png() -> bytes:
    data = bytearray(encode(Image.new("RGB", (48, 32), RED), "PNG"))
    data[data.index(b"IDAT") + 8] ^= 0xFF  # a flipped byte inside the pixel data
    return bytes(data)


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # stored landscape, shown portrait
    stored = Image.new("RGB", (60, 40), RED)
    stored.paste((0, 0, 255), (0, 0, 10, 40))  # a blue band on the stored left edge
    return encode(stored, "JPEG", exif=exif.tobytes(), quality=95)


def _palette_with_transparency() -> bytes:
    image = Image.new("P", (40, 30), 0)
    image.putpalette([*RED, 0, 0, 0] + [0] * (256 * 3 - 6))
    image.paste(1, (0, 0, 20, 30))
    return encode(image, "PNG", transparency=1)  # the left half is transparent


def _sixteen_bit_grey() -> bytes:
    return encode(Image.fromarray(np.full((30, 40), 32768, np.uint16)), "PNG")


# ---- image checks ------------------------------------------------------------------------------
def centre(image: Image.Image) -> tuple[int, int, int]:
    return image.getpixel((image.width // 2, image.height // 2))


def close_to(expected: tuple[int, int, int], tolerance: int = 40) -> Callable[[Image.Image], None]:
    def check(image: Image.Image) -> None:
        actual = centre(image)
        assert max(abs(a - e) for a, e in zip(actual, expected, strict=True)) <= tolerance, actual

    return check


def _portrait_with_blue_on_top(image: Image.Image) -> None:
    assert image.height > image.width, image.size  # EXIF orientation 6 applied
    top, bottom = (
        image.getpixel((image.width // 2, 1)),
        image.getpixel((image.width // 2, image.height - 2)),
    )
    assert top[2] > 150 and top[0] < 100, top  # the stored left band is now on top
    assert bottom[0] > 150, bottom


def _left_white_right_red(image: Image.Image) -> None:
    left, right = (
        image.getpixel((1, image.height // 2)),
        image.getpixel((image.width - 2, image.height // 2)),
    )
    assert min(left) > 230, left  # transparent pixels composited on white
    assert right[0] > 150 and right[1] < 80, right


def _any_rgb(image: Image.Image) -> None:
    assert image.mode == "RGB"


@dataclass(frozen=True)
class HostileImage:
    """One image case: ``make()`` gives its bytes (always saved under a ``.jpg`` name)."""

    name: str
    make: Callable[[], bytes]
    reason: str | None = None  # refused: the quarantine reason starts with this
    hint: str = ""  # refused: this also appears in the reason
    check: Callable[[Image.Image], None] = _any_rgb  # handled: checked on the decoded image

    @property
    def refused(self) -> bool:
        return self.reason is not None


LARGEST_MAME = (32683, 11412)  # the largest image of the real MAMe metadata (373 MP)

IMAGES: tuple[HostileImage, ...] = (
    HostileImage("empty", lambda: b"", "unreadable", "empty"),
    HostileImage("truncated", lambda: noise_jpeg()[: len(noise_jpeg()) // 2], "truncated"),
    HostileImage(
        "cut_and_zero_padded",
        lambda: noise_jpeg()[: len(noise_jpeg()) // 2] + bytes(len(noise_jpeg()) // 2),
        "truncated",
    ),
    HostileImage("random_bytes", lambda: np.random.default_rng(3).bytes(5000), "unreadable"),
    HostileImage(
        "corrupt_jpeg_header",
        lambda: noise_jpeg()[:2] + bytes(60) + noise_jpeg()[62:],
        "unreadable",
    ),
    HostileImage("corrupt_png_data", _corrupt_png, "unreadable", "broken PNG"),
    HostileImage(
        "html_saved_as_jpg",
        lambda: b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head></html>\n",
        "unreadable",
        "HTML",
    ),
    HostileImage(
        "png_named_jpg",
        lambda: encode(Image.new("RGB", (48, 32), RED), "PNG"),
        check=close_to(RED, 2),
    ),
    HostileImage(
        "gif_named_jpg",
        lambda: encode(Image.new("RGB", (48, 32), RED), "GIF"),
        check=close_to(RED, 30),
    ),
    HostileImage(
        "webp_named_jpg",
        lambda: encode(Image.new("RGB", (48, 32), RED), "WEBP", lossless=True),
        check=close_to(RED, 2),
    ),
    HostileImage(
        "tiff_named_jpg",
        lambda: encode(Image.new("RGB", (48, 32), RED), "TIFF"),
        check=close_to(RED, 2),
    ),
    HostileImage(
        "cmyk_jpeg",
        lambda: encode(Image.new("CMYK", (48, 32), (0, 255, 255, 0)), "JPEG", quality=95),
        check=close_to((255, 0, 0)),
    ),
    HostileImage(
        "cmyk_jpeg_without_adobe_marker",
        # Pillow stores inverted samples; these stored samples are (0, 255, 255, 0): plain red.
        lambda: _strip_adobe_marker(
            encode(Image.new("CMYK", (48, 32), (255, 0, 0, 255)), "JPEG", quality=95)
        ),
        check=close_to((255, 0, 0)),
    ),
    HostileImage(
        "grey",
        lambda: encode(Image.new("L", (48, 32), 90), "JPEG"),
        check=close_to((90, 90, 90), 3),
    ),
    HostileImage("sixteen_bit_grey", _sixteen_bit_grey, check=close_to((128, 128, 128), 2)),
    HostileImage(
        "palette_with_transparency", _palette_with_transparency, check=_left_white_right_red
    ),
    HostileImage(
        "rgba_half_transparent",
        lambda: encode(Image.new("RGBA", (48, 32), (0, 0, 0, 128)), "PNG"),
        check=close_to((127, 127, 127), 2),
    ),
    HostileImage("exif_rotated", _exif_rotated, check=_portrait_with_blue_on_top),
    HostileImage("zero_pixels_high", lambda: png_header_only(40, 0), "unreadable"),
    HostileImage(
        "one_pixel_high",
        lambda: encode(Image.new("RGB", (40, 1), RED), "PNG"),
        check=close_to(RED, 2),
    ),
    HostileImage(
        "one_pixel", lambda: encode(Image.new("RGB", (1, 1), RED), "PNG"), check=close_to(RED, 2)
    ),
    HostileImage(
        "extreme_aspect_wide",
        lambda: encode(Image.new("RGB", (3000, 2), RED), "PNG"),
        "extreme aspect ratio",
    ),
    HostileImage(
        "extreme_aspect_tall",
        lambda: encode(Image.new("RGB", (2, 3000), RED), "PNG"),
        "extreme aspect ratio",
    ),
    HostileImage("decompression_bomb", lambda: png_header_only(30000, 30000), "too large"),
    HostileImage(
        "largest_real_mame_size",
        lambda: grey_jpeg(*LARGEST_MAME),
        check=close_to((128, 128, 128), 1),
    ),
)
IMAGE_IDS = [case.name for case in IMAGES]


def write_images(folder: Path, cases: tuple[HostileImage, ...] = IMAGES) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for case in cases:
        path = folder / f"{case.name}.jpg"
        path.write_bytes(case.make())
        paths[case.name] = path
    return paths


# ---- running things ----------------------------------------------------------------------------
def artrec_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``python -m artrec ...`` in a fresh interpreter, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "artrec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(stderr: str, *needles: str) -> str:
    """stderr holds exactly one non-empty line, no traceback, naming every needle."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr, stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content: to prove nothing there was touched."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }
