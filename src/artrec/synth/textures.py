"""Vectorised procedural drawing primitives for the synthetic MAMe images.

Every function works on whole float32 arrays (values in [0, 1] unless stated otherwise) so one
image costs a few dozen numpy operations, never a loop over pixels. Coordinates are in pixels of
the native image. Fine textures take a ``period`` in pixels: the caller sets it relative to the
image's shorter side, which decides at which resize a texture survives and where it is averaged
away.

Resampling float arrays is done here in numpy (separable, Pillow's bicubic and box kernels) so
that every sum runs in a fixed order of correctly rounded steps on every CPU; see ``detmath``
for why. Shapes go through Pillow's ``ImageDraw`` (8-bit, rounded to pixels).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from artrec.synth import detmath as dm

FloatArray = np.ndarray
RGB = tuple[float, float, float]

# A 1.702-scaled logistic is within 0.01 of the standard normal CDF.
_LOGISTIC_PROBIT = 1.702


def grid(width: int, height: int) -> tuple[FloatArray, FloatArray]:
    """Pixel-centre coordinates as broadcastable arrays ``x`` (1, W) and ``y`` (H, 1)."""
    x = np.arange(width, dtype=np.float32)[None, :] + 0.5
    y = np.arange(height, dtype=np.float32)[:, None] + 0.5
    return x, y


def _bicubic_kernel(distance: FloatArray) -> FloatArray:
    """Keys' cubic convolution kernel with a = -0.5 (Pillow's BICUBIC), support 2."""
    x = np.abs(distance)
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * -0.5
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _box_kernel(distance: FloatArray) -> FloatArray:
    """Pillow's BOX kernel: 1 on (-0.5, 0.5], support 0.5."""
    return ((distance > -0.5) & (distance <= 0.5)).astype(np.float64)


_KERNELS = {Image.BICUBIC: (_bicubic_kernel, 2.0), Image.BOX: (_box_kernel, 0.5)}


@functools.lru_cache(maxsize=256)
def _resample_taps(in_size: int, out_size: int, resample: int) -> tuple[np.ndarray, np.ndarray]:
    """Source indices and weights (taps x out_size) of a 1-D resize, as Pillow computes them.

    The kernel is stretched by the scale when shrinking (anti-aliasing); the weights of each
    output sample are normalised to sum to 1, in tap order. Taps whose weights are all zero
    are dropped.
    """
    kernel, support = _KERNELS[resample]
    scale = in_size / out_size
    stretch = max(scale, 1.0)
    support *= stretch
    centres = (np.arange(out_size) + 0.5) * scale
    first = np.maximum(np.floor(centres - support + 0.5), 0.0)
    stop = np.minimum(np.floor(centres + support + 0.5), in_size)
    index = first[None, :] + np.arange(2 * math.ceil(support) + 1)[:, None]
    weight = kernel((index - centres + 0.5) / stretch) * (index < stop)
    total = np.zeros(out_size)
    for row in weight:
        total += row
    weight /= total
    used = np.any(weight != 0.0, axis=1)
    index = np.minimum(index[used], in_size - 1).astype(np.intp)
    return index, weight[used].astype(np.float32)


def _resize_axis(array: FloatArray, size: int, resample: int, axis: int) -> FloatArray:
    """Resample ``array`` to ``size`` along ``axis`` (0 or 1): a weighted sum of shifted rows."""
    if array.shape[axis] == size:
        return array
    index, weight = _resample_taps(array.shape[axis], size, resample)
    weight = weight[:, :, None] if axis == 0 else weight[:, None, :]
    result = np.take(array, index[0], axis=axis)
    result *= weight[0]
    term = np.empty_like(result)  # reused: allocating one per tap costs more than the sums
    for tap in range(1, len(index)):
        np.take(array, index[tap], axis=axis, out=term)
        term *= weight[tap]
        result += term
    return result


def resize_float(array: FloatArray, width: int, height: int, resample: int) -> FloatArray:
    """Resize a 2-D float32 array like Pillow's ``Image.resize`` on mode ``"F"``.

    ``resample`` is ``Image.BICUBIC`` or ``Image.BOX``. Rows first, then columns, each output
    value a sum of its taps in a fixed order (Pillow's C loop could be compiled into fused
    multiply-adds on some CPUs).
    """
    rows = _resize_axis(np.asarray(array, dtype=np.float32), width, resample, axis=1)
    return np.ascontiguousarray(_resize_axis(rows, height, resample, axis=0), dtype=np.float32)


def value_noise(width: int, height: int, cells: float, rng: np.random.Generator) -> FloatArray:
    """Smooth random field in [0, 1] with about ``cells`` bumps along the shorter side."""
    short = min(width, height)
    grid_w = max(2, round(cells * width / short)) + 1
    grid_h = max(2, round(cells * height / short)) + 1
    lattice = rng.random((grid_h, grid_w), dtype=np.float32)
    return np.clip(resize_float(lattice, width, height, Image.BICUBIC), 0.0, 1.0)


def fractal_noise(
    width: int,
    height: int,
    cells: float,
    rng: np.random.Generator,
    octaves: int = 4,
    persistence: float = 0.5,
) -> FloatArray:
    """Sum of ``octaves`` value noises (each twice as fine), rescaled to mean 0.5 and std 0.2.

    The octaves are summed on a small grid (4 px per finest cell) and upsampled once: the
    field is smooth at that scale anyway, and one resize is much cheaper than one per octave.
    """
    short = min(width, height)
    work_short = min(short, max(16, round(4 * cells * 2 ** (octaves - 1))))
    work_w = max(2, round(width * work_short / short))
    work_h = max(2, round(height * work_short / short))
    total = np.zeros((work_h, work_w), dtype=np.float32)
    weight = 1.0
    for octave in range(octaves):
        total += np.float32(weight) * value_noise(work_w, work_h, cells * 2**octave, rng)
        weight *= persistence
    total -= total.mean()
    total *= np.float32(0.2) / (total.std() + np.float32(1e-6))
    total += np.float32(0.5)
    if (work_w, work_h) != (width, height):
        total = resize_float(total, width, height, Image.BICUBIC)
    return np.clip(total, 0.0, 1.0)


def uniformize(field: FloatArray) -> FloatArray:
    """Map a roughly normal field to roughly uniform [0, 1] values (logistic probit approximation).

    Thresholding a uniform field at ``t`` covers a fraction ``t`` of the pixels, which keeps the
    mean ink of grain textures equal to the requested tone.
    """
    z = (field - field.mean()) / (field.std() + 1e-6)
    return 1.0 / (1.0 + dm.exp(-_LOGISTIC_PROBIT * z))


def smooth(array: FloatArray, radius: float) -> FloatArray:
    """Low-pass ``array`` (2-D or H x W x C) by box-downsampling by ``radius`` and bicubic upsampling."""
    if radius < 1.5:
        return array
    if array.ndim == 3:
        return np.stack([smooth(array[..., c], radius) for c in range(array.shape[2])], axis=-1)
    height, width = array.shape
    small_w, small_h = max(2, round(width / radius)), max(2, round(height / radius))
    small = resize_float(array, small_w, small_h, Image.BOX)
    return resize_float(small, width, height, Image.BICUBIC)


def triangle_wave(phase: FloatArray) -> FloatArray:
    """0 at integer phases, 1 half-way between: the distance to the nearest line centre, doubled."""
    return 2.0 * np.abs(phase - np.floor(phase + 0.5))


def line_ink(phase: FloatArray, coverage: FloatArray | float, softness: float) -> FloatArray:
    """Ink of parallel lines at integer ``phase`` whose width is ``coverage`` of the period.

    Because the triangle wave is uniform over a period, the mean ink equals ``coverage``: the tone
    seen after averaging (downsampling) does not depend on how the lines are drawn. The soft
    (anti-aliased) edge would add ink where coverage is near 0 and remove it near 1; the two
    corrections below cancel that, so blank paper stays blank.
    """
    coverage = np.clip(coverage, 0.0, 1.0)
    softness = min(softness, 1.0)
    ink = np.clip((coverage - triangle_wave(phase)) / softness + 0.5, 0.0, 1.0)
    half = 0.5 * softness
    # Squares as products: ``scalar ** 2`` would call libm's pow.
    light = np.minimum(coverage, half)
    ink = ink * np.where(
        coverage < half, light * 2 * softness / ((light + half) * (light + half)), 1.0
    )
    dark = np.minimum(1.0 - coverage, half)
    white = np.where(
        coverage > 1 - half, dark * 2 * softness / ((dark + half) * (dark + half)), 1.0
    )
    return (1.0 - (1.0 - ink) * white).astype(np.float32)


def hatching(
    x: FloatArray,
    y: FloatArray,
    angle: float,
    period: float,
    coverage: FloatArray | float,
    *,
    offset: FloatArray | float = 0.0,
    swell: FloatArray | float = 1.0,
    softness_px: float = 1.0,
) -> FloatArray:
    """Parallel lines ``period`` px apart whose normal points along ``angle`` (radians).

    ``angle`` 0 draws vertical lines, pi/2 horizontal ones. ``offset`` (px, per pixel) bends
    the lines; ``swell`` scales the local line width.
    """
    across = x * np.float32(dm.cos(angle)) + y * np.float32(dm.sin(angle))
    phase = (across + offset) / np.float32(period)
    return line_ink(phase, coverage * swell, softness_px / period)


def along(x: FloatArray, y: FloatArray, angle: float) -> FloatArray:
    """Coordinate along lines drawn by ``hatching`` at ``angle`` (perpendicular to ``across``)."""
    return -x * np.float32(dm.sin(angle)) + y * np.float32(dm.cos(angle))


def split_coverage(coverage: FloatArray, first_max: float) -> tuple[FloatArray, FloatArray]:
    """Split a tone into two crossing hatch layers: the second only where the first is full.

    Two independent layers with coverages c1, c2 cover 1 - (1 - c1)(1 - c2); solving for c2 keeps
    the total equal to ``coverage``.
    """
    first = np.minimum(coverage, first_max)
    second = np.clip(1.0 - (1.0 - coverage) / (1.0 - first), 0.0, 1.0)
    return first, second


def along_line_swell(
    x: FloatArray,
    y: FloatArray,
    angle: float,
    period: float,
    wavelength: float,
    rng: np.random.Generator,
    amount: float,
) -> FloatArray:
    """Width factor that swells and tapers along each line (the burin), staggered per line."""
    across = x * np.float32(dm.cos(angle)) + y * np.float32(dm.sin(angle))
    line_index = np.floor(across / np.float32(period) + 0.5).astype(np.int64)
    table = rng.random(997, dtype=np.float32)
    phase_offset = table[line_index % table.size]
    position = along(x, y, angle) / np.float32(wavelength)
    return 1.0 + amount * dm.sin(np.float32(2 * np.pi) * (position + phase_offset))


def wavy_offset(
    x: FloatArray,
    y: FloatArray,
    angle: float,
    wavelength: float,
    amplitude: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Sideways displacement (px) that makes lines at ``angle`` wander like a hand-held needle.

    The displacement varies along the lines (three sinusoids) and only slowly across them, so
    neighbouring lines bend together and their spacing stays close to the period: the texture
    keeps all its energy at the line frequency instead of leaking coarse structure.
    """
    height, width = np.broadcast_shapes(x.shape, y.shape)
    drift = np.float32(2 * np.pi) * value_noise(width, height, 1.5, rng)
    position = np.float32(2 * np.pi) * along(x, y, angle)
    offset = np.zeros((height, width), dtype=np.float32)
    for ratio, weight in ((1.0, 0.6), (0.61, 0.3), (0.37, 0.1)):
        phase = np.float32(rng.uniform(0, 2 * np.pi))
        offset += np.float32(weight) * dm.sin(
            position / np.float32(wavelength * ratio) + phase + drift
        )
    return np.float32(amplitude) * offset


def blue_noise(width: int, height: int, cell_px: float, rng: np.random.Generator) -> FloatArray:
    """Uniform [0, 1] grain of ~``cell_px`` px with its coarse fluctuations removed.

    Plain value noise has as much power at low frequencies as at its cell size (block averages
    of i.i.d. cells fluctuate), which would survive downsampling as visible mottling;
    subtracting a smoothed copy keeps only the fine grain.
    """
    noise = value_noise(width, height, min(width, height) / max(cell_px, 1.0), rng)
    return uniformize(noise - smooth(noise, 2.0 * cell_px))


def grain_ink(
    width: int,
    height: int,
    grain_px: float,
    coverage: FloatArray | float,
    rng: np.random.Generator,
    softness: float = 0.12,
) -> FloatArray:
    """Granular (crayon on stone) ink whose mean equals ``coverage``; grains ~``grain_px`` wide."""
    grains = blue_noise(width, height, grain_px, rng)
    return np.clip((coverage - grains) / softness + 0.5, 0.0, 1.0)


def weave(
    x: FloatArray,
    y: FloatArray,
    period: float,
    jitter_x: FloatArray | float = 0.0,
    jitter_y: FloatArray | float = 0.0,
) -> FloatArray:
    """Zero-mean relief of a plain weave (canvas, linen) whose over-under repeat is ``period`` px.

    Warp and weft threads (``period / 2`` wide) alternate on top; each is a rounded bump across
    its width. The whole repeat is one period, so nothing coarser than ``period`` is drawn.
    """
    u = (x + jitter_x) * np.float32(2.0 / period)
    v = (y + jitter_y) * np.float32(2.0 / period)
    col, row = np.floor(u), np.floor(v)
    warp_on_top = (col + row) % 2 == 0
    warp_bump = dm.sin(np.float32(np.pi) * (u - col))
    weft_bump = dm.sin(np.float32(np.pi) * (v - row))
    relief = np.where(warp_on_top, warp_bump, weft_bump)
    # Remove the mean (2/pi for a continuous thread profile) so only the texture is added.
    return (relief - relief.mean()) / np.float32(0.5)


def wood_grain(
    x: FloatArray,
    y: FloatArray,
    period: float,
    angle: float,
    warp: FloatArray | float,
    line_width: float = 0.3,
) -> FloatArray:
    """Zero-mean grain: thin dark lines ``period`` px apart along ``angle``, bent by ``warp`` (px)."""
    across = x * np.float32(dm.cos(angle)) + y * np.float32(dm.sin(angle))
    lines = line_ink((across + warp) / np.float32(period), line_width, 1.0 / period)
    return lines - np.float32(line_width)


def contour_lines(field: FloatArray, level: float, width_px: float) -> FloatArray:
    """Thin lines (in [0, 1]) where ``field`` crosses ``level``: cracks, veins, outlines."""
    grad_y, grad_x = np.gradient(field)
    slope = np.sqrt(grad_x * grad_x + grad_y * grad_y) + 1e-6
    distance = np.abs(field - level) / slope
    return np.clip(1.0 - distance / np.float32(width_px), 0.0, 1.0)


def glints(
    x: FloatArray,
    y: FloatArray,
    period: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Zero-mean metallic-thread glitter: bright twisted-thread dashes on a dark core.

    A metal-wrapped thread shows short diagonal highlights once per ``period`` (its twist);
    a fine grain decides which highlights catch the light.
    """
    height, width = np.broadcast_shapes(x.shape, y.shape)
    twist = line_ink((x + y) / np.float32(period), 0.3, 1.5 / period)
    rows = line_ink(y / np.float32(period), 0.6, 1.0 / period)
    lit = blue_noise(width, height, period, rng)
    sparkle = twist * rows * (0.4 + 0.6 * lit)
    return sparkle - sparkle.mean()


def draw_mask(width: int, height: int, shapes: Sequence[tuple], blur: float = 0.8) -> FloatArray:
    """Rasterise shapes with ``ImageDraw`` into a soft mask in [0, 1].

    Each shape is ``(kind, xy, value)`` or ``(kind, xy, value, line_width)`` with kind one of
    ``ellipse``, ``polygon``, ``rectangle``, ``rounded`` (rounded rectangle) or ``line``; later
    shapes paint over earlier ones, so ``value`` 0 cuts holes.
    """
    canvas = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(canvas)
    for shape in shapes:
        kind, xy, value = shape[:3]
        fill = int(round(255 * value))
        if kind == "ellipse":
            pen.ellipse(xy, fill=fill)
        elif kind == "polygon":
            pen.polygon(xy, fill=fill)
        elif kind == "rectangle":
            pen.rectangle(xy, fill=fill)
        elif kind == "rounded":
            box = xy
            radius = int(0.15 * min(box[2] - box[0], box[3] - box[1]))
            pen.rounded_rectangle(box, radius=max(radius, 1), fill=fill)
        elif kind == "line":
            pen.line(xy, fill=fill, width=max(1, int(round(shape[3]))), joint="curve")
        else:
            raise ValueError(f"unknown shape kind {kind!r}")
    if blur > 0:
        # A box blur is enough to anti-alias edges and is several times cheaper than a Gaussian.
        canvas = canvas.filter(ImageFilter.BoxBlur(blur))
    return np.asarray(canvas, dtype=np.float32) / np.float32(255.0)


def shade(
    height_map: FloatArray,
    relief: float,
    light: tuple[float, float, float] = (-0.45, -0.6, 0.66),
    shininess: float = 20.0,
) -> tuple[FloatArray, FloatArray]:
    """Lambert diffuse and Blinn specular terms of a height field lit from the upper left.

    ``relief`` scales the slopes (how domed the object looks).
    """
    grad_y, grad_x = np.gradient(height_map)
    nx, ny = -grad_x * np.float32(relief), -grad_y * np.float32(relief)
    norm = 1.0 / np.sqrt(nx * nx + ny * ny + 1.0)
    lx, ly, lz = (np.float32(c) for c in np.asarray(light) / dm.norm(light))
    diffuse = np.clip((nx * lx + ny * ly + lz) * norm, 0.0, 1.0)
    half = np.asarray([lx, ly, lz + 1.0])
    hx, hy, hz = (np.float32(c) for c in half / dm.norm(half))
    highlight = np.clip((nx * hx + ny * hy + hz) * norm, 0.0, 1.0)
    if float(shininess).is_integer():
        specular = dm.integer_power(highlight, int(shininess))  # a few products: cheap
    else:
        specular = dm.power(highlight, np.float32(shininess))
    return diffuse, specular


def blend(base: FloatArray, top: FloatArray | RGB, alpha: FloatArray | float) -> FloatArray:
    """Alpha-composite ``top`` (H x W x 3 array or an RGB colour) over ``base`` (H x W x 3)."""
    weight = alpha[..., None] if isinstance(alpha, np.ndarray) and alpha.ndim == 2 else alpha
    out = np.asarray(top, dtype=np.float32) - base
    out *= np.float32(weight) if np.isscalar(weight) else weight
    out += base
    return out


def fill(width: int, height: int, colour: RGB) -> FloatArray:
    """An H x W x 3 image of one colour."""
    return np.broadcast_to(np.asarray(colour, dtype=np.float32), (height, width, 3)).copy()


def ramp(tone: FloatArray, dark: RGB, light: RGB) -> FloatArray:
    """Map a tone in [0, 1] to colours on the line from ``dark`` to ``light``."""
    dark_array = np.asarray(dark, dtype=np.float32)
    light_array = np.asarray(light, dtype=np.float32)
    return dark_array + tone[..., None] * (light_array - dark_array)


def jitter_colour(colour: RGB, rng: np.random.Generator, amount: float) -> RGB:
    """``colour`` with each channel moved by up to ``amount``, clipped to [0, 1]."""
    moved = np.clip(np.asarray(colour) + rng.uniform(-amount, amount, 3), 0.0, 1.0)
    return (float(moved[0]), float(moved[1]), float(moved[2]))


def to_uint8(image: FloatArray) -> np.ndarray:
    """Float image in [0, 1] to uint8 (values outside are clipped)."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
