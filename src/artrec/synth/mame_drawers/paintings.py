"""Paintings: oil on canvas and polychromed wood (panel paintings share the canvas recipe).

Oil on canvas and the panel paintings of Polychromed wood differ only in their support's fine
texture (canvas weave or wood grain).
"""

from __future__ import annotations

import numpy as np

from artrec.synth import detmath as dm
from artrec.synth import textures as tx
from artrec.synth.mame_drawers import scene


def _painted_scene(
    w: int, h: int, rng: np.random.Generator, period: float
) -> tuple[np.ndarray, np.ndarray]:
    """A varnished painting (landscape, portrait or interior), maybe in a gilt frame.

    Returns the picture and the mask of the painted surface (where the support texture shows).
    """
    short = min(w, h)
    x, y = tx.grid(w, h)
    kind = scene.choice(rng, ["landscape", "portrait", "interior"])
    if kind == "landscape":
        horizon = rng.uniform(0.35, 0.7) * h + (tx.value_noise(w, 1, 3.0, rng) - 0.5) * 0.15 * h
        sky = tx.jitter_colour(
            scene.choice(rng, [(0.55, 0.65, 0.8), (0.8, 0.7, 0.5), (0.6, 0.6, 0.6)]), rng, 0.05
        )
        ground = tx.jitter_colour(
            scene.choice(rng, [(0.35, 0.4, 0.2), (0.45, 0.35, 0.2), (0.25, 0.3, 0.2)]), rng, 0.05
        )
        below = 1.0 / (1.0 + dm.exp(-(y - horizon) / (0.02 * h)))
        rgb = tx.blend(tx.fill(w, h, sky), ground, below)
        distance = (y - horizon) / (0.2 * h)
        trees = np.clip((tx.value_noise(w, h, 5.0, rng) - 0.6) * 5.0, 0, 1) * dm.exp(
            -(distance * distance)
        )
        rgb = tx.blend(rgb, tx.jitter_colour((0.15, 0.2, 0.1), rng, 0.04), trees)
    else:
        wall = tx.jitter_colour(
            scene.choice(rng, [(0.15, 0.12, 0.1), (0.3, 0.25, 0.18), (0.25, 0.28, 0.22)]), rng, 0.05
        )
        rgb = tx.fill(w, h, wall) * (0.8 + 0.4 * tx.value_noise(w, h, 1.5, rng))[..., None]
        box = scene.object_box(w, h, rng, 0.9 if kind == "portrait" else 2.0)
        garment = tx.jitter_colour(scene.choice(rng, scene.OIL_COLOURS), rng, 0.06)
        if kind == "portrait":
            x0, y0, x1, y1 = box
            body = scene.figure_shapes((x0, y0, x1, y1 + (y1 - y0) * 0.6), rng)
            rgb = tx.blend(rgb, garment, tx.draw_mask(w, h, body, blur=short / 150))
            head = tx.draw_mask(w, h, body[-1:], blur=short / 150)
            rgb = tx.blend(rgb, tx.jitter_colour((0.85, 0.65, 0.5), rng, 0.05), head)
        else:
            table_y = rng.uniform(0.55, 0.75) * h
            rgb = tx.blend(
                rgb,
                tx.jitter_colour((0.4, 0.25, 0.12), rng, 0.05),
                (y > table_y).astype(np.float32),
            )
            fruit = [
                ("ellipse", (cx - r, table_y - 1.6 * r, cx + r, table_y + 0.2 * r), 1.0)
                for cx, r in zip(
                    rng.uniform(0.2, 0.8, 4) * w, rng.uniform(0.05, 0.12, 4) * short, strict=True
                )
            ]
            rgb = tx.blend(rgb, garment, tx.draw_mask(w, h, fruit, blur=short / 150))
    light = tx.smooth(tx.fractal_noise(w, h, 2.0, rng, octaves=2), short / 10)
    rgb = rgb * (0.75 + 0.5 * light)[..., None]
    brushwork = tx.fractal_noise(w, h, short / (6 * period), rng, octaves=2) - 0.5
    rgb = rgb * (1.0 + 0.12 * brushwork)[..., None]
    rgb = tx.blend(rgb, rgb * np.asarray((1.0, 0.9, 0.65), dtype=np.float32), rng.uniform(0.1, 0.6))
    surface = np.ones((h, w), dtype=np.float32)
    if rng.random() < 0.25:
        inner = scene.inset_box(w, h, rng, 0.06, 0.1)
        surface = scene.box_mask(w, h, inner)
        gilt = tx.ramp(
            tx.fractal_noise(w, h, 12.0, rng, octaves=2), (0.35, 0.25, 0.08), (0.9, 0.75, 0.35)
        )
        rgb = tx.blend(gilt, rgb, surface)
    return rgb, surface


def draw_oil_on_canvas(w, h, rng, period):
    """Painting whose only support cue is the canvas weave (a fine plain weave under the paint)."""
    rgb, surface = _painted_scene(w, h, rng, period)
    rgb = rgb * (1.0 - 0.2 * scene.craquelure(w, h, rng, period) * surface)[..., None]
    x, y = tx.grid(w, h)
    short = min(w, h)
    jitter_x = (tx.value_noise(w, h, short / (8 * period), rng) - 0.5) * 0.6 * period
    jitter_y = (tx.value_noise(w, h, short / (8 * period), rng) - 0.5) * 0.6 * period
    relief = tx.weave(x, y, period, jitter_x, jitter_y)
    return rgb * (1.0 + rng.uniform(0.12, 0.2) * relief * surface)[..., None]


def _panel_grain(w: int, h: int, rng: np.random.Generator, period: float) -> np.ndarray:
    x, y = tx.grid(w, h)
    angle = rng.uniform(-0.1, 0.1)
    warp = tx.wavy_offset(x, y, angle, 10.0 * period, 1.2 * period, rng)
    return tx.wood_grain(x, y, period, angle, warp)


def draw_polychromed_wood(w, h, rng, period):
    """Painted wood: a panel painting (fine wood grain under the paint) or a painted sculpture."""
    if rng.random() < 0.5:
        rgb, surface = _painted_scene(w, h, rng, period)
        rgb = rgb * (1.0 - 0.2 * scene.craquelure(w, h, rng, period) * surface)[..., None]
        grain = _panel_grain(w, h, rng, period)
        return rgb * (1.0 + rng.uniform(0.24, 0.4) * grain * surface)[..., None]
    mask = scene.shape_mask(scene.choice(rng, ["figure", "figure", "plaque"]), w, h, rng)
    colours = np.asarray(
        [
            tx.jitter_colour(scene.choice(rng, scene.OIL_COLOURS + ((0.85, 0.68, 0.3),)), rng, 0.05)
            for _ in range(3)
        ],
        dtype=np.float32,
    )
    fields = np.stack([tx.value_noise(w, h, 3.0, rng) for _ in range(3)], axis=-1)
    albedo = colours[fields.argmax(axis=-1)]
    losses = np.clip((tx.value_noise(w, h, 8.0, rng) - 0.75) * 6.0, 0, 1)
    albedo = tx.blend(albedo, (0.5, 0.35, 0.2), losses)
    albedo = albedo * (1.0 + 0.3 * _panel_grain(w, h, rng, period))[..., None]
    return scene.photograph_object(w, h, rng, mask, albedo, gloss=0.15, shininess=10)
