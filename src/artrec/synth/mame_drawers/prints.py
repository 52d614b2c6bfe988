"""Prints, drawings and photographs: intaglio, lithograph, relief prints, graphite, ink, albumen.

Engraving and Etching (and their hand-coloured versions) share one recipe and differ only in
their line work, a fine cue.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from artrec.synth import detmath as dm
from artrec.synth import textures as tx
from artrec.synth.mame_drawers import scene

_INK_BLACK: tx.RGB = (0.07, 0.06, 0.06)


_WATERCOLOURS: tuple[tx.RGB, ...] = (
    (0.85, 0.35, 0.3),
    (0.35, 0.55, 0.8),
    (0.45, 0.7, 0.4),
    (0.95, 0.8, 0.35),
    (0.8, 0.55, 0.7),
    (0.7, 0.5, 0.3),
)


def _print_tone(w: int, h: int, rng: np.random.Generator, box) -> np.ndarray:
    """Darkness (ink coverage) of a print's composition: landscape tones plus a few figures."""
    _, y = tx.grid(w, h)
    horizon = rng.uniform(0.35, 0.65) * h
    sky = 1.0 / (1.0 + dm.exp(-(y - horizon) / (0.05 * h)))
    tone = 0.12 + 0.45 * sky + 0.55 * (tx.fractal_noise(w, h, 2.5, rng, octaves=3) - 0.5)
    x0, y0, x1, y1 = box
    shapes = []
    for _ in range(int(rng.integers(1, 4))):
        fw = (x1 - x0) * rng.uniform(0.15, 0.35)
        fh = min((y1 - y0) * rng.uniform(0.4, 0.8), fw * 3.0)
        fx = rng.uniform(x0, x1 - fw)
        fy = rng.uniform(y0 + (y1 - y0) * 0.1, y1 - fh)
        shapes += scene.figure_shapes((fx, fy, fx + fw, fy + fh), rng, value=rng.uniform(0.5, 1.0))
    figures = tx.draw_mask(w, h, shapes, blur=min(w, h) / 150)
    tone = np.where(figures > 0, 0.25 + 0.65 * figures, tone)
    return np.clip(tone, 0.03, 0.92) * scene.box_mask(w, h, box)


def _plate_boxes(w: int, h: int, rng: np.random.Generator):
    plate = scene.inset_box(w, h, rng, 0.05, 0.12)
    px0, py0, px1, py1 = plate
    pad = min(px1 - px0, py1 - py0)
    image = (
        int(px0 + pad * rng.uniform(0.03, 0.07)),
        int(py0 + pad * rng.uniform(0.03, 0.07)),
        int(px1 - pad * rng.uniform(0.03, 0.07)),
        int(py1 - pad * rng.uniform(0.1, 0.2)),
    )
    return plate, image


def _platemark(rgb: np.ndarray, plate, rng: np.random.Generator) -> np.ndarray:
    """Plate tone inside the plate and the embossed ridge (light top-left, dark bottom-right)."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = plate
    ridge = max(1.5, 0.006 * min(w, h))
    light = tx.draw_mask(
        w, h, [("line", [(x0, y1), (x0, y0), (x1, y0)], 1.0, ridge)], blur=ridge / 2
    )
    dark = tx.draw_mask(
        w, h, [("line", [(x1, y0), (x1, y1), (x0, y1)], 1.0, ridge)], blur=ridge / 2
    )
    plate_tone = 1.0 - rng.uniform(0.02, 0.06) * scene.box_mask(w, h, plate)
    rgb = rgb * plate_tone[..., None]
    return rgb * (1.0 + 0.08 * light - 0.22 * dark)[..., None]


def _lettering(w: int, h: int, rng: np.random.Generator, box, colour: tx.RGB, rgb: np.ndarray):
    """A line or two of small lettering (title, publisher) under the image."""
    x0, y0, x1, y1 = box
    if y1 - y0 < 6:
        return rgb
    shapes = []
    rows = int(rng.integers(1, 3))
    for row in range(rows):
        y = y0 + (y1 - y0) * (row + 0.5) / rows
        x = x0 + (x1 - x0) * rng.uniform(0.1, 0.3)
        end = x1 - (x1 - x0) * rng.uniform(0.1, 0.3)
        while x < end:
            word = (x1 - x0) * rng.uniform(0.02, 0.06)
            shapes.append(
                ("line", [(x, y), (min(x + word, end), y)], 1.0, max(1.0, (y1 - y0) * 0.12))
            )
            x += word * 1.4
    letters = tx.draw_mask(w, h, shapes, blur=0.5)
    return tx.blend(rgb, colour, 0.8 * letters)


def _watercolour_wash(w: int, h: int, rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """Multiplicative watercolour layer: a few transparent hues in soft patches inside ``region``."""
    hues = [_WATERCOLOURS[i] for i in rng.choice(len(_WATERCOLOURS), 3, replace=False)]
    cubes = []
    for _ in hues:
        noise = tx.value_noise(w, h, 2.5, rng)
        cubes.append(noise * noise * noise)
    total = cubes[0] + cubes[1] + cubes[2] + 1e-6
    # The weighted sum of hues term by term in a fixed order (np.einsum would use BLAS kernels).
    colour = np.zeros((h, w, 3), dtype=np.float32)
    for cube, hue in zip(cubes, hues, strict=True):
        colour += (cube / total)[..., None] * np.asarray(hue, dtype=np.float32)
    strength = rng.uniform(0.5, 0.85) * region
    return 1.0 + (colour - 1.0) * strength[..., None]


def _intaglio(
    w: int, h: int, rng: np.random.Generator, period: float, technique: str, coloured: bool
) -> np.ndarray:
    """Engraving or etching: identical composition, plate and paper; only the line work differs.

    Engraved lines are straight, regular and swell and taper along their length (the burin);
    etched lines wander and tremble with softer edges (the needle through a ground, bitten by
    acid). Both cover the same fraction of the paper, so their averaged tones are equal.
    """
    paper = scene.paper_sheet(w, h, rng)
    plate, image = _plate_boxes(w, h, rng)
    tone = _print_tone(w, h, rng, image)
    x, y = tx.grid(w, h)
    first_angle = rng.uniform(0.0, np.pi)
    second_angle = first_angle + rng.choice([-1, 1]) * rng.uniform(0.8, 1.4)
    first, second = tx.split_coverage(tone, rng.uniform(0.35, 0.5))
    if technique == "engraving":
        layers = [
            tx.hatching(
                x,
                y,
                angle,
                period,
                cover,
                swell=tx.along_line_swell(x, y, angle, period, 1.5 * period, rng, 0.3),
            )
            for angle, cover in ((first_angle, first), (second_angle, second))
        ]
    elif technique == "etching":
        layers = []
        for angle, cover in ((first_angle, first), (second_angle, second)):
            wander = tx.wavy_offset(x, y, angle, 6.0 * period, 0.6 * period, rng)
            tremble = tx.wavy_offset(x, y, angle, 1.5 * period, 0.08 * period, rng)
            layers.append(
                tx.hatching(x, y, angle, period, cover, offset=wander + tremble, softness_px=1.5)
            )
    else:
        raise ValueError(f"unknown intaglio technique {technique!r}")
    ink = 1.0 - (1.0 - layers[0]) * (1.0 - layers[1])
    ink_colour = tx.jitter_colour(_INK_BLACK, rng, 0.04)
    rgb = tx.blend(paper, ink_colour, ink * rng.uniform(0.85, 1.0))
    if coloured:
        rgb = rgb * _watercolour_wash(w, h, rng, scene.box_mask(w, h, image))
    rgb = _lettering(w, h, rng, (image[0], image[3], image[2], plate[3]), ink_colour, rgb)
    return _platemark(rgb, plate, rng)


def draw_engraving(w, h, rng, period):
    return _intaglio(w, h, rng, period, "engraving", coloured=False)


def draw_etching(w, h, rng, period):
    return _intaglio(w, h, rng, period, "etching", coloured=False)


def draw_hand_colored_engraving(w, h, rng, period):
    return _intaglio(w, h, rng, period, "engraving", coloured=True)


def draw_hand_colored_etching(w, h, rng, period):
    return _intaglio(w, h, rng, period, "etching", coloured=True)


def draw_lithograph(w, h, rng, period):
    """Crayon on stone: soft tones made of grain (stipple), no platemark, sometimes a tint stone."""
    paper = scene.paper_sheet(w, h, rng, (0.94, 0.92, 0.86))
    image = scene.inset_box(w, h, rng, 0.06, 0.15)
    tone = tx.smooth(_print_tone(w, h, rng, image), min(w, h) / 60)
    if rng.random() < 0.4:
        tint = tx.jitter_colour(
            scene.choice(rng, [(0.88, 0.82, 0.66), (0.78, 0.82, 0.86)]), rng, 0.04
        )
        paper = tx.blend(paper, tint, 0.8 * scene.box_mask(w, h, image))
    ink = tx.grain_ink(w, h, 0.5 * period, tone, rng)
    ink_colour = tx.jitter_colour(scene.choice(rng, [_INK_BLACK, (0.2, 0.13, 0.1)]), rng, 0.04)
    rgb = tx.blend(paper, ink_colour, ink * rng.uniform(0.8, 1.0))
    if rng.random() < 0.3:
        rgb = rgb * _watercolour_wash(w, h, rng, scene.box_mask(w, h, image))
    return rgb


def _frame_line(w: int, h: int, box, width: float) -> np.ndarray:
    """A rectangular border line (the edge of a block or a ruled frame) as a mask."""
    x0, y0, x1, y1 = box
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return tx.draw_mask(w, h, [("line", corners, 1.0, width)])


def draw_wood_engraving(w, h, rng, period):
    """End-grain wood engraving: dark blocks cut by fine white lines, a thin border, no platemark."""
    paper = scene.paper_sheet(w, h, rng, (0.95, 0.94, 0.9))
    image = scene.inset_box(w, h, rng, 0.08, 0.18)
    region = scene.box_mask(w, h, image)
    tone = np.clip(_print_tone(w, h, rng, image) * 1.25 + 0.1, 0.0, 0.97) * region
    x, y = tx.grid(w, h)
    angle = np.pi / 2 + rng.uniform(-0.3, 0.3)
    follow = tx.wavy_offset(x, y, angle, 10.0 * period, 1.0 * period, rng)
    white = tx.hatching(x, y, angle, period, 1.0 - tone, offset=follow)
    ink = np.maximum((1.0 - white) * region, _frame_line(w, h, image, max(1.5, min(w, h) / 200)))
    return tx.blend(paper, tx.jitter_colour(_INK_BLACK, rng, 0.03), ink)


def draw_woodcut(w, h, rng, period):
    """Relief woodcut: bold black areas, thick outlines and coarse hatching (visible at any size)."""
    paper = scene.paper_sheet(w, h, rng, (0.92, 0.88, 0.78))
    image = scene.inset_box(w, h, rng, 0.05, 0.12)
    tone = tx.smooth(_print_tone(w, h, rng, image), min(w, h) / 50)
    x, y = tx.grid(w, h)
    coarse = period * rng.uniform(3.0, 4.5)
    hatch = tx.hatching(x, y, rng.uniform(0.0, np.pi), coarse, np.clip((tone - 0.3) * 1.5, 0, 1))
    ink = np.where(tone > 0.62, 1.0, hatch)
    outline = tx.contour_lines(tone, 0.45, max(1.5, coarse * 0.25))
    ink = np.maximum(ink, outline) * scene.box_mask(w, h, image)
    frame = _frame_line(w, h, image, max(2.0, coarse * 0.5))
    rgb = tx.blend(paper, tx.jitter_colour(_INK_BLACK, rng, 0.04), np.maximum(ink, frame))
    if rng.random() < 0.25:
        rgb = rgb * _watercolour_wash(w, h, rng, scene.box_mask(w, h, image))
    return rgb


_WOODBLOCK_COLOURS: tuple[tx.RGB, ...] = (
    (0.2, 0.3, 0.55),
    (0.8, 0.3, 0.2),
    (0.55, 0.7, 0.5),
    (0.9, 0.75, 0.55),
    (0.85, 0.6, 0.65),
    (0.35, 0.45, 0.3),
    (0.95, 0.9, 0.75),
)


def draw_woodblock(w, h, rng, period):
    """Japanese colour woodblock: flat colour areas, black key-block outlines, misregistration."""
    paper = scene.paper_sheet(w, h, rng, (0.9, 0.84, 0.7))
    image = scene.inset_box(w, h, rng, 0.02, 0.08)
    count = int(rng.integers(3, 6))
    colours = np.asarray(
        [_WOODBLOCK_COLOURS[i] for i in rng.choice(len(_WOODBLOCK_COLOURS), count, replace=False)],
        dtype=np.float32,
    )
    fields = np.stack(
        [tx.value_noise(w, h, rng.uniform(1.5, 3.5), rng) for _ in range(count)], axis=-1
    )
    _, y = tx.grid(w, h)
    fields[..., 0] += 0.6 * (1.0 - y / h) * rng.uniform(0.0, 1.0)
    labels = fields.argmax(axis=-1)
    flat = colours[labels]
    shift = max(1, int(min(w, h) * rng.uniform(0.003, 0.012)))
    flat = np.roll(flat, (shift, -shift), axis=(0, 1))
    region = scene.box_mask(w, h, image)
    rgb = tx.blend(paper, flat * paper, 0.9 * region)
    edges = (labels != np.roll(labels, 1, axis=0)) | (labels != np.roll(labels, 1, axis=1))
    outline = tx.smooth(edges.astype(np.float32), 1.0)
    width = max(1, int(min(w, h) / 250))
    if width > 1:
        outline = (
            np.asarray(
                Image.fromarray(tx.to_uint8(outline)).filter(
                    ImageFilter.MaxFilter(2 * (width // 2) + 1)
                ),
                dtype=np.float32,
            )
            / 255.0
        )
    rgb = tx.blend(rgb, _INK_BLACK, 0.9 * outline * region)
    if rng.random() < 0.6:
        x0, y0, x1, y1 = image
        cw, ch = (x1 - x0) * 0.12, (y1 - y0) * 0.3
        cart = (x1 - cw * 1.4, y0 + ch * 0.1, x1 - cw * 0.4, y0 + ch * 1.1)
        rgb = tx.blend(rgb, (0.9, 0.85, 0.6), scene.box_mask(w, h, cart))
        rgb = _lettering(w, h, rng, cart, _INK_BLACK, rgb)
    return rgb


def draw_graphite(w, h, rng, period):
    """Graphite: silvery-grey smooth strokes, contours and soft shading on white paper."""
    paper = scene.paper_sheet(w, h, rng, (0.95, 0.94, 0.9))
    box = scene.inset_box(w, h, rng, 0.08, 0.2)
    short = min(w, h)
    tone = tx.smooth(_print_tone(w, h, rng, box), short / 40)
    x, y = tx.grid(w, h)
    shading = tx.hatching(x, y, rng.uniform(0, np.pi), 3.0 * period, 0.8 * tone, softness_px=period)
    contours = tx.contour_lines(tone, rng.uniform(0.35, 0.5), max(1.0, short / 250))
    lines = scene.strokes(w, h, rng, int(rng.integers(40, 100)), box, (1.0, max(1.5, short / 150)))
    ink = np.clip(0.6 * shading + np.maximum(contours, lines), 0, 1)
    grey = tx.jitter_colour((0.33, 0.33, 0.36), rng, 0.04)
    return tx.blend(paper, grey, ink * rng.uniform(0.7, 0.95))


def draw_pen_and_brown_ink(w, h, rng, period):
    """Pen and brown ink with brown wash on aged paper; foxing spots."""
    paper = scene.paper_sheet(w, h, rng, (0.9, 0.84, 0.7))
    box = scene.inset_box(w, h, rng, 0.06, 0.2)
    short = min(w, h)
    ink_colour = tx.jitter_colour((0.4, 0.25, 0.12), rng, 0.06)
    wash = tx.smooth(
        np.clip(tx.value_noise(w, h, 3.0, rng) - 0.45, 0, 1) * 1.8, short / 50
    ) * scene.box_mask(w, h, box)
    rgb = tx.blend(paper, ink_colour, wash * rng.uniform(0.25, 0.55))
    lines = scene.strokes(w, h, rng, int(rng.integers(30, 90)), box, (1.0, max(2.0, short / 120)))
    rgb = tx.blend(rgb, ink_colour, lines * rng.uniform(0.75, 1.0))
    foxing = np.clip(tx.value_noise(w, h, 12.0, rng) - 0.85, 0, 1) * 4.0
    return tx.blend(rgb, (0.7, 0.5, 0.3), 0.4 * foxing)


def draw_albumen_photograph(w, h, rng, period):
    """Albumen print: a smooth sepia photograph, faded highlights, mounted on a card."""
    card = scene.paper_sheet(
        w, h, rng, scene.choice(rng, [(0.9, 0.85, 0.74), (0.7, 0.72, 0.62), (0.85, 0.8, 0.8)])
    )
    photo = scene.inset_box(w, h, rng, 0.04, 0.18)
    short = min(w, h)
    tone = 1.0 - tx.smooth(_print_tone(w, h, rng, photo), short / 80)
    tone = np.clip(tone + 0.25 * (tx.fractal_noise(w, h, 6.0, rng) - 0.5), 0, 1)
    dark = tx.jitter_colour((0.22, 0.12, 0.1), rng, 0.04)
    light = tx.jitter_colour((0.93, 0.83, 0.62), rng, 0.04)
    picture = tx.ramp(tone, dark, light)
    region = tx.draw_mask(w, h, [("rounded", photo, 1.0)], blur=1.0)
    fade = tx.smooth(region, short / 20)
    picture = tx.blend(picture, light, 0.4 * (1.0 - fade))
    return tx.blend(card, picture, region)
