"""Scene pieces shared by the MAMe drawers: paper, boxes, silhouettes, museum photography.

Every function draws from the caller's generator in a fixed order; the drawers' output depends
on that order, so reordering calls here changes every synthetic image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from artrec.synth import detmath as dm
from artrec.synth import textures as tx


def choice(rng: np.random.Generator, options: Sequence, weights: Sequence[float] | None = None):
    probabilities = None if weights is None else np.asarray(weights) / np.sum(weights)
    return options[int(rng.choice(len(options), p=probabilities))]


def paper_sheet(w: int, h: int, rng: np.random.Generator, base: tx.RGB = (0.93, 0.9, 0.82)):
    colour = tx.jitter_colour(base, rng, 0.035)
    mottle = tx.fractal_noise(w, h, 3.0, rng, octaves=3) - 0.5
    return tx.fill(w, h, colour) * (1.0 + 0.06 * mottle)[..., None]


def inset_box(w: int, h: int, rng: np.random.Generator, low: float, high: float):
    short = min(w, h)
    left, top, right, bottom = (rng.uniform(low, high) * short for _ in range(4))
    return (int(left), int(top), int(w - right), int(h - bottom))


def box_mask(w: int, h: int, box) -> np.ndarray:
    return tx.draw_mask(w, h, [("rectangle", box, 1.0)], blur=0.0)


def figure_shapes(box, rng: np.random.Generator, value: float = 1.0) -> list[tuple]:
    """A standing human figure (head, torso, drapery, arms, plinth) filling ``box``."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    cx = x0 + bw * rng.uniform(0.42, 0.58)
    head_r = bh * rng.uniform(0.06, 0.09)
    head_y = y0 + head_r
    lean = bw * rng.uniform(-0.08, 0.08)
    shoulder_y = head_y + head_r * 1.3
    hip_y = y0 + bh * rng.uniform(0.45, 0.55)
    foot_y = y0 + bh * 0.9
    torso_w = bw * rng.uniform(0.18, 0.28)
    hem_w = bw * rng.uniform(0.22, 0.42)
    arm_w = max(2.0, bw * 0.07)
    hand_l = (cx - torso_w * rng.uniform(1.1, 2.0), hip_y + bh * rng.uniform(-0.25, 0.05))
    hand_r = (cx + torso_w * rng.uniform(1.1, 2.0), hip_y + bh * rng.uniform(-0.25, 0.05))
    return [
        ("rectangle", (cx - bw * 0.32, foot_y, cx + bw * 0.32, y1), value),
        (
            "polygon",
            [
                (cx + lean - torso_w, shoulder_y),
                (cx + lean + torso_w, shoulder_y),
                (cx + hem_w, foot_y),
                (cx - hem_w, foot_y),
            ],
            value,
        ),
        (
            "ellipse",
            (cx + lean - torso_w, shoulder_y - head_r * 0.3, cx + lean + torso_w, hip_y),
            value,
        ),
        ("line", [(cx + lean - torso_w * 0.8, shoulder_y + arm_w), hand_l], value, arm_w),
        ("line", [(cx + lean + torso_w * 0.8, shoulder_y + arm_w), hand_r], value, arm_w),
        (
            "ellipse",
            (cx + lean - head_r, head_y - head_r, cx + lean + head_r, head_y + head_r),
            value,
        ),
    ]


def _vessel_shapes(box, rng: np.random.Generator) -> list[tuple]:
    """A turned vessel (vase, jar, ewer) as a polygon from a random radius profile."""
    x0, y0, x1, y1 = box
    half = (x1 - x0) / 2.0
    cx = (x0 + x1) / 2.0
    stops = np.array([0.0, 0.08, 0.22, 0.5, 0.8, 0.93, 1.0])
    radii = np.array(
        [
            rng.uniform(0.25, 0.6),
            rng.uniform(0.15, 0.4),
            rng.uniform(0.55, 1.0),
            rng.uniform(0.75, 1.0),
            rng.uniform(0.35, 0.7),
            rng.uniform(0.25, 0.4),
            rng.uniform(0.3, 0.45),
        ]
    )
    t = np.linspace(0.0, 1.0, 48)
    r = dm.interp(t, stops, radii) * half
    ys = y0 + t * (y1 - y0)
    left = list(zip(cx - r, ys, strict=True))
    right = list(zip(cx + r[::-1], ys[::-1], strict=True))
    return [("polygon", left + right, 1.0)]


def _coin_shapes(box, rng: np.random.Generator) -> list[tuple]:
    """One disc, or obverse and reverse side by side on a wide photograph."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    count = 2 if bw > 1.7 * bh else 1
    diameter = min(bw / count, bh) * rng.uniform(0.85, 1.0)
    cy = (y0 + y1) / 2.0
    shapes = []
    for k in range(count):
        cx = x0 + bw * (k + 0.5) / count
        shapes.append(
            (
                "ellipse",
                (cx - diameter / 2, cy - diameter / 2, cx + diameter / 2, cy + diameter / 2),
                1.0,
            )
        )
    return shapes


def _blade_shapes(box, rng: np.random.Generator) -> list[tuple]:
    """A sword or dagger laid along the longer side (arms and armour photographs)."""
    x0, y0, x1, y1 = box
    vertical = (y1 - y0) >= (x1 - x0)
    length = (y1 - y0) if vertical else (x1 - x0)
    width = min((x1 - x0) if vertical else (y1 - y0), length * rng.uniform(0.05, 0.1))
    c = ((x0 + x1) / 2.0) if vertical else ((y0 + y1) / 2.0)
    s0 = y0 if vertical else x0
    grip = s0 + length * rng.uniform(0.18, 0.26)

    def pt(along: float, across: float) -> tuple[float, float]:
        return (c + across, along) if vertical else (along, c + across)

    return [
        (
            "polygon",
            [
                pt(grip, -width / 2),
                pt(grip, width / 2),
                pt(s0 + length * 0.97, width * 0.1),
                pt(s0 + length, 0),
                pt(s0 + length * 0.97, -width * 0.1),
            ],
            1.0,
        ),
        (
            "polygon",
            [
                pt(grip - width * 0.4, -width * 2.2),
                pt(grip - width * 0.4, width * 2.2),
                pt(grip, width * 2.2),
                pt(grip, -width * 2.2),
            ],
            1.0,
        ),
        (
            "polygon",
            [
                pt(s0 + width, -width * 0.3),
                pt(s0 + width, width * 0.3),
                pt(grip, width * 0.3),
                pt(grip, -width * 0.3),
            ],
            1.0,
        ),
        (
            "ellipse",
            (*pt(s0, -width * 0.6), *pt(s0 + width * 1.2, width * 0.6))
            if vertical
            else (s0, c - width * 0.6, s0 + width * 1.2, c + width * 0.6),
            1.0,
        ),
    ]


def _helmet_shapes(box, rng: np.random.Generator) -> list[tuple]:
    """A helmet: a dome over a face guard with an eye slit (a hole)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    dome_bottom = y0 + bh * rng.uniform(0.55, 0.7)
    slit_y = y0 + bh * rng.uniform(0.5, 0.6)
    return [
        ("ellipse", (x0, y0, x1, dome_bottom + bh * 0.3), 1.0),
        ("rounded", (x0 + bw * 0.08, y0 + bh * 0.35, x1 - bw * 0.08, y1), 1.0),
        ("rectangle", (x0 + bw * 0.2, slit_y, x1 - bw * 0.2, slit_y + max(2.0, bh * 0.03)), 0.0),
    ]


def object_box(w: int, h: int, rng: np.random.Generator, max_aspect: float):
    """Bounding box of the photographed object: centred, with margins, at most ``max_aspect`` wide."""
    x0, y0, x1, y1 = inset_box(w, h, rng, 0.05, 0.14)
    bw, bh = x1 - x0, y1 - y0
    if bw > max_aspect * bh:
        shrink = (bw - max_aspect * bh) / 2.0
        x0, x1 = x0 + shrink, x1 - shrink
    return (x0, y0, x1, y1)


def shape_mask(kind: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "figure":
        shapes = figure_shapes(object_box(w, h, rng, 0.7), rng)
    elif kind == "vessel":
        shapes = _vessel_shapes(object_box(w, h, rng, 1.3), rng)
    elif kind == "coin":
        shapes = _coin_shapes(object_box(w, h, rng, 3.0), rng)
    elif kind == "blade":
        shapes = _blade_shapes(object_box(w, h, rng, 20.0), rng)
    elif kind == "helmet":
        shapes = _helmet_shapes(object_box(w, h, rng, 1.2), rng)
    elif kind == "plaque":
        shapes = [("rounded", object_box(w, h, rng, 4.0), 1.0)]
    else:
        raise ValueError(f"unknown object shape {kind!r}")
    return tx.draw_mask(w, h, shapes, blur=max(0.8, min(w, h) / 400))


def museum_backdrop(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A museum photo backdrop: white, grey, black or tinted, with a soft vertical gradient."""
    base = choice(
        rng,
        [
            (0.94, 0.94, 0.93),
            (0.8, 0.8, 0.79),
            (0.55, 0.55, 0.56),
            (0.1, 0.1, 0.1),
            (0.78, 0.74, 0.66),
        ],
        [0.35, 0.25, 0.15, 0.15, 0.1],
    )
    colour = tx.jitter_colour(base, rng, 0.03)
    _, y = tx.grid(w, h)
    gradient = 1.0 + rng.uniform(-0.12, 0.12) * (y / h - 0.5)
    return tx.fill(w, h, colour) * gradient[..., None]


def photograph_object(
    w: int,
    h: int,
    rng: np.random.Generator,
    mask: np.ndarray,
    albedo: np.ndarray,
    *,
    gloss: float,
    shininess: float,
    reflections: float = 0.0,
    relief: np.ndarray | None = None,
    backdrop: np.ndarray | None = None,
) -> np.ndarray:
    """Light an object (mask + albedo) like a museum photograph and place it on a backdrop.

    The height field is the blurred silhouette (a rounded solid) plus optional ``relief``;
    ``reflections`` adds the high-contrast environment bands of polished metal.
    """
    short = min(w, h)
    height_map = tx.smooth(mask, 0.06 * short)
    if relief is not None:
        height_map = height_map + relief * mask
    diffuse, specular = tx.shade(height_map, relief=0.12 * short, shininess=shininess)
    lit = albedo * (0.3 + 0.8 * diffuse)[..., None]
    if reflections > 0:
        bands = tx.triangle_wave(diffuse * rng.uniform(1.5, 3.0) + rng.uniform(0, 1))
        lit = lit * (1.0 - reflections + 2.0 * reflections * bands)[..., None]
    lit = lit + (gloss * specular)[..., None]
    background = museum_backdrop(w, h, rng) if backdrop is None else backdrop
    shadow_shift = max(1, int(0.03 * short))
    shadow = np.roll(tx.smooth(mask, 0.05 * short), (shadow_shift, shadow_shift), axis=(0, 1))
    background = background * (1.0 - 0.35 * shadow)[..., None]
    return tx.blend(background, lit, mask)


def solid_object(
    w, h, rng, shapes: Mapping[str, float], colour: tx.RGB, jitter: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pick a silhouette from ``shapes`` (kind -> weight) and a flat albedo near ``colour``."""
    kinds = list(shapes)
    mask = shape_mask(choice(rng, kinds, [shapes[k] for k in kinds]), w, h, rng)
    return mask, tx.fill(w, h, tx.jitter_colour(colour, rng, jitter))


def mottle(w, h, rng, cells: float, amount: float) -> np.ndarray:
    return (1.0 + amount * (tx.fractal_noise(w, h, cells, rng, octaves=3) - 0.5))[..., None]


def shrink_box(box, fraction: float):
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * fraction, (y1 - y0) * fraction
    return (x0 + dx, y0 + dy, x1 - dx, y1 - dy)


def craquelure(w: int, h: int, rng: np.random.Generator, period: float) -> np.ndarray:
    """Fine crack network of an aged paint layer (both supports crack)."""
    field = tx.value_noise(w, h, min(w, h) / (3.0 * period), rng)
    return tx.contour_lines(field, 0.5, 0.3 * period)


def strokes(
    w: int, h: int, rng: np.random.Generator, count: int, box, width_px: tuple[float, float]
) -> np.ndarray:
    """Sketchy hand-drawn strokes (random smooth polylines) rasterised with ImageDraw."""
    x0, y0, x1, y1 = box
    shapes = []
    for _ in range(count):
        n = int(rng.integers(4, 9))
        start = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        steps = rng.normal(0.0, 0.05 * min(x1 - x0, y1 - y0), (n, 2)).cumsum(axis=0)
        steps += rng.normal(0.0, 0.04 * min(x1 - x0, y1 - y0), 2) * np.arange(n)[:, None]
        points = np.clip(start + steps, [x0, y0], [x1, y1])
        shapes.append(
            ("line", [tuple(p) for p in points], rng.uniform(0.5, 1.0), rng.uniform(*width_px))
        )
    return tx.draw_mask(w, h, shapes, blur=0.7)


OIL_COLOURS: tuple[tx.RGB, ...] = (
    (0.55, 0.35, 0.2),
    (0.2, 0.3, 0.55),
    (0.65, 0.15, 0.12),
    (0.3, 0.4, 0.22),
    (0.85, 0.75, 0.55),
    (0.12, 0.1, 0.08),
    (0.6, 0.7, 0.8),
)
