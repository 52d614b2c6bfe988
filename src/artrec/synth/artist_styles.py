"""Artist styles of the synthetic collections: a signature mark, a border and a colour cast.

An artist's style is one combination of primitives from a shared vocabulary: the shape, colour
and corner of a small mark (a monogram stand-in), a border and a photographic colour cast. Two
collections can then have entirely different artists whose styles are built from the same
visual vocabulary, so what a network learns to tell one collection's artists apart also helps
with the other's: the cross-collection transfer that the paper finds (Table 3), built in. A work
is unsigned with some probability; then only its look (the artist's media) and the cast tell
the artist, so artist recognition cannot be perfect.

The mark is about ``MARK_SIZE`` of the shorter side (9 px at a 64 px network input), so it
survives any resize the transfer pipeline uses. Drawing is integer only (Pillow's ImageDraw on
8-bit images, uint8 arithmetic for the cast), so the bytes are the same on every machine.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

MARK_SHAPES: tuple[str, ...] = (
    "square",
    "disc",
    "triangle",
    "diamond",
    "cross",
    "ring",
    "bar",
    "column",
)
MARK_COLOURS: tuple[tuple[int, int, int], ...] = (
    (200, 30, 30),
    (30, 60, 200),
    (15, 15, 15),
    (245, 245, 245),
    (230, 180, 30),
    (30, 150, 60),
)
CORNERS: tuple[str, ...] = ("top left", "top right", "bottom left", "bottom right")
BORDERS: tuple[tuple[int, int, int] | None, ...] = (None, (25, 25, 25), (240, 240, 235))
# Per-channel gains in 1/256 (256 = unchanged): neutral, warm, cool.
CASTS: tuple[tuple[int, int, int], ...] = ((256, 256, 256), (276, 256, 236), (236, 256, 276))
MARK_SIZE = 0.15
BORDER_WIDTH = 0.05


@dataclass(frozen=True)
class Style:
    """Indices into the primitive vocabularies above."""

    shape: int
    colour: int
    corner: int
    border: int
    cast: int


def style_space() -> list[Style]:
    """Every combination of primitives, in a fixed order."""
    sizes = (len(MARK_SHAPES), len(MARK_COLOURS), len(CORNERS), len(BORDERS), len(CASTS))
    return [Style(*combo) for combo in itertools.product(*(range(n) for n in sizes))]


def assign_styles(count: int, rng: np.random.Generator) -> list[Style]:
    """``count`` distinct styles drawn at random from the whole space."""
    space = style_space()
    if count > len(space):
        raise ValueError(f"only {len(space)} distinct styles exist, {count} asked")
    return [space[int(i)] for i in rng.permutation(len(space))[:count]]


def _mark(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], colour) -> None:
    x0, y0, x1, y1 = box
    cx, cy, w, h = (x0 + x1) // 2, (y0 + y1) // 2, x1 - x0, y1 - y0
    thick = max(1, w // 4)
    if shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "disc":
        draw.ellipse(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=colour)
    elif shape == "diamond":
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=colour)
    elif shape == "cross":
        draw.rectangle((x0, cy - thick // 2, x1, cy + thick // 2), fill=colour)
        draw.rectangle((cx - thick // 2, y0, cx + thick // 2, y1), fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=thick)
    elif shape == "bar":
        draw.rectangle((x0, cy - h // 4, x1, cy + h // 4), fill=colour)
    elif shape == "column":
        draw.rectangle((cx - w // 4, y0, cx + w // 4, y1), fill=colour)
    else:
        raise ValueError(f"unknown mark shape {shape!r}")


def apply_style(
    image: Image.Image, style: Style, rng: np.random.Generator, signed: bool = True
) -> Image.Image:
    """``image`` (RGB) with the artist's cast and border, and their mark when ``signed``."""
    gains = np.asarray(CASTS[style.cast], dtype=np.uint32)
    pixels = (np.asarray(image, dtype=np.uint32) * gains) >> 8
    styled = Image.fromarray(np.minimum(pixels, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(styled)
    width, height = styled.size
    short = min(width, height)
    border = BORDERS[style.border]
    if border is not None:
        band = max(2, round(BORDER_WIDTH * short))
        draw.rectangle((0, 0, width - 1, height - 1), outline=border, width=band)
    # Jitter in whole pixels, so the mark's place varies a little as a hand-made one would.
    size = max(4, round(MARK_SIZE * short * rng.uniform(0.85, 1.15)))
    margin = max(2, round(0.08 * short)) + int(rng.integers(0, max(1, short // 40) + 1))
    corner = CORNERS[style.corner]
    x0 = margin if "left" in corner else width - margin - size
    y0 = margin if "top" in corner else height - margin - size
    if signed:
        _mark(
            draw,
            MARK_SHAPES[style.shape],
            (x0, y0, x0 + size, y0 + size),
            MARK_COLOURS[style.colour],
        )
    return styled
