"""Safe decoding: every colour mode to 8-bit RGB, bad files rejected with a reason, bounded memory."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from artrec.images.decode import (
    DEFAULT_MAX_PIXELS,
    BadImageError,
    load_resized,
    load_rgb,
    read_size,
    to_rgb,
)

EXIF_ORIENTATION = 0x0112


def centre_pixel(im: Image.Image) -> tuple[int, int, int]:
    return im.getpixel((im.width // 2, im.height // 2))


def assert_close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int) -> None:
    assert max(abs(a - e) for a, e in zip(actual, expected, strict=True)) <= tolerance, (
        actual,
        expected,
    )


def write_png_rgb16(path: Path, rgb16: tuple[int, int, int], size: int = 8) -> None:
    """A 48-bit RGB PNG, which Pillow can read but not write."""
    row = b"\x00" + struct.pack(">3H", *rgb16) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 16, 2, 0, 0, 0)  # 16-bit, colour type RGB
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def strip_adobe_marker(jpeg: bytes) -> bytes:
    """Remove the APP14 "Adobe" segment, leaving a CMYK JPEG with plain (non-inverted) samples."""
    start = jpeg.index(b"\xff\xee")
    length = struct.unpack(">H", jpeg[start + 2 : start + 4])[0]
    return jpeg[:start] + jpeg[start + 2 + length :]


# --- colour modes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("L", (4, 4), 100), (100, 100, 100)),
        (Image.new("1", (4, 4), 1), (255, 255, 255)),
        (Image.new("LA", (4, 4), (30, 0)), (255, 255, 255)),  # fully transparent -> white
        (Image.new("LA", (4, 4), (30, 255)), (30, 30, 30)),
        (Image.new("RGBA", (4, 4), (0, 0, 0, 0)), (255, 255, 255)),
        (Image.new("RGBA", (4, 4), (0, 0, 0, 128)), (127, 127, 127)),  # half over white
        (Image.new("RGBA", (4, 4), (10, 20, 30, 255)), (10, 20, 30)),
        (Image.new("CMYK", (4, 4), (0, 255, 255, 0)), (255, 0, 0)),
        (Image.new("YCbCr", (4, 4), (76, 85, 255)), (254, 0, 0)),
    ],
    ids=[
        "L",
        "1",
        "LA-clear",
        "LA-opaque",
        "RGBA-clear",
        "RGBA-half",
        "RGBA-opaque",
        "CMYK",
        "YCbCr",
    ],
)
def test_to_rgb_modes(image: Image.Image, expected: tuple[int, int, int]) -> None:
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert rgb.size == image.size
    assert_close(centre_pixel(rgb), expected, tolerance=1)


def test_to_rgb_scales_16_bit_grey_instead_of_clipping() -> None:
    # Pillow's own I;16 -> L conversion clips: 256 and 65535 would both become 255.
    values = np.array([[0, 256, 32896, 65535]], dtype=np.uint16)
    rgb = np.asarray(to_rgb(Image.fromarray(values)))
    assert rgb.dtype == np.uint8
    assert rgb[0, :, 0].tolist() == [0, 1, 128, 255]
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_to_rgb_scales_32_bit_integer_grey_holding_16_bit_samples() -> None:
    values = np.array([[0, 32896, 65535]], dtype=np.int32)
    assert np.asarray(to_rgb(Image.fromarray(values, mode="I")))[0, :, 1].tolist() == [0, 128, 255]


def test_palette_transparency_composited_on_white(tmp_path: Path) -> None:
    palette_image = Image.new("P", (6, 6), 1)
    palette_image.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    palette_image.paste(0, (0, 0, 3, 6))  # left half uses the transparent index 0
    path = tmp_path / "palette.png"
    palette_image.save(path, transparency=0)
    rgb = load_rgb(path)
    assert rgb.getpixel((0, 3)) == (255, 255, 255)
    assert rgb.getpixel((5, 3)) == (200, 30, 40)


def test_16_bit_png_files(tmp_path: Path) -> None:
    grey = tmp_path / "grey16.png"
    Image.fromarray(np.full((8, 8), 0x8080, dtype=np.uint16)).save(grey)
    assert Image.open(grey).mode == "I;16"
    assert centre_pixel(load_rgb(grey)) == (128, 128, 128)

    colour = tmp_path / "rgb16.png"
    write_png_rgb16(colour, (0xFFFF, 0x8080, 0x0000))
    assert centre_pixel(load_rgb(colour)) == (255, 128, 0)


def test_cmyk_jpeg_with_and_without_adobe_marker(tmp_path: Path) -> None:
    # Pillow writes Adobe-style JPEGs: inverted CMYK samples plus an Adobe marker.
    adobe = tmp_path / "adobe.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(adobe, quality=95)
    assert b"Adobe" in adobe.read_bytes()
    assert_close(centre_pixel(load_rgb(adobe)), (255, 0, 0), tolerance=4)

    # Stored samples (0, 255, 255, 0) without the marker: plain CMYK, i.e. red as well.
    inverse = tmp_path / "inverse.jpg"
    Image.new("CMYK", (32, 32), (255, 0, 0, 255)).save(inverse, quality=95)
    plain = tmp_path / "plain.jpg"
    plain.write_bytes(strip_adobe_marker(inverse.read_bytes()))
    # Pillow alone reads every CMYK JPEG as Adobe-inverted and gets black here.
    assert max(centre_pixel(Image.open(plain).convert("RGB"))) < 10
    assert_close(centre_pixel(load_rgb(plain)), (255, 0, 0), tolerance=4)


def test_exif_orientation_applied(tmp_path: Path) -> None:
    stored = Image.new("RGB", (800, 400), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 400, 400))  # left half red
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # display rotated 90 degrees clockwise: left half goes on top
    path = tmp_path / "rotated.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())

    assert read_size(path) == (400, 800)
    upright = load_rgb(path)
    assert upright.size == (400, 800)
    assert_close(upright.getpixel((200, 100)), (255, 0, 0), tolerance=8)
    assert_close(upright.getpixel((200, 700)), (0, 0, 255), tolerance=8)

    # Draft decoding (1/8 scale here) works in the stored orientation, the transpose comes last.
    small = load_resized(path, lambda w, h: (w // 16, h // 16))
    assert small.size == (25, 50)
    assert_close(small.getpixel((12, 5)), (255, 0, 0), tolerance=12)
    assert_close(small.getpixel((12, 44)), (0, 0, 255), tolerance=12)


# --- bad files --------------------------------------------------------------------------------


def test_truncated_jpeg_rejected(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    good = tmp_path / "good.jpg"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(good, quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BadImageError) as caught:
        load_resized(truncated, lambda w, h: (16, 16))
    assert caught.value.reason.startswith("truncated")
    assert "truncated.jpg" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"this is not an image", "unreadable"), (None, "missing")],
    ids=["garbage", "missing"],
)
def test_unreadable_and_missing_files_rejected(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "bad.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadImageError) as caught:
        load_rgb(path)
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize("max_pixels", [9_999, 4_000], ids=["warning-band", "error-band"])
def test_images_above_the_pixel_limit_rejected(tmp_path: Path, max_pixels: int) -> None:
    # Pillow only warns between the limit and twice the limit; both bands must be rejected.
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 100)).save(path)
    limit_before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(BadImageError) as caught:
        load_resized(path, lambda w, h: (10, 10), max_pixels=max_pixels)
    assert caught.value.reason.startswith("too large")
    assert load_resized(path, lambda w, h: (10, 10), max_pixels=10_000).size == (10, 10)
    # The process-wide Pillow limit is restored afterwards.
    assert limit_before == Image.MAX_IMAGE_PIXELS


def test_default_limit_admits_the_largest_mame_image() -> None:
    assert 32_683 * 11_412 < DEFAULT_MAX_PIXELS < 2 * 32_683 * 11_412


# --- memory bound on a large JPEG -------------------------------------------------------------

LARGE_SIZE = (20_000, 8_000)  # 160 MP: 480 MB as full-resolution RGB


@pytest.fixture(scope="module")
def large_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A flat grey image encodes in well under a second; only its header size matters here.
    path = tmp_path_factory.mktemp("large") / "large.jpg"
    Image.new("L", LARGE_SIZE, 128).save(path, quality=50)
    return path


def test_large_jpeg_is_decoded_at_reduced_scale(
    large_jpeg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded_sizes = []
    original_load = JpegImagePlugin.JpegImageFile.load

    def recording_load(self: JpegImagePlugin.JpegImageFile) -> object:
        decoded_sizes.append(self.size)
        return original_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", recording_load)
    out = load_resized(large_jpeg, lambda w, h: (w * 128 // h, 128))
    assert out.size == (320, 128) and out.mode == "RGB"
    # 1/8 scale: 2500 x 1000 decoded, still >= 1.25 x the output on both axes.
    assert set(decoded_sizes) == {(2_500, 1_000)}


def test_large_jpeg_decoding_stays_within_a_memory_bound(large_jpeg: Path) -> None:
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("peak memory is read from /proc (Linux only)")
    # A fresh interpreter, so that the peak resident size reflects this decode alone.
    script = textwrap.dedent(
        f"""
        from artrec.images.decode import load_resized
        out = load_resized({str(large_jpeg)!r}, lambda w, h: (w * 500 // h, 500))
        assert out.size == (1250, 500)
        peak_kb = next(
            int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")
        )
        print(peak_kb)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    peak_mb = int(result.stdout.strip()) / 1024
    full_rgb_mb = LARGE_SIZE[0] * LARGE_SIZE[1] * 3 / 2**20
    assert peak_mb < 200 < full_rgb_mb


def test_large_jpeg_above_the_limit_rejected(large_jpeg: Path) -> None:
    with pytest.raises(BadImageError) as caught:
        load_resized(large_jpeg, lambda w, h: (64, 64), max_pixels=100_000_000)
    assert caught.value.reason.startswith("too large")
