"""Carved materials: ivory (carvings, plaques, miniatures on ivory) and unpainted wood."""

from __future__ import annotations

import numpy as np

from artrec.synth import textures as tx
from artrec.synth.mame_drawers import scene


def draw_ivory(w, h, rng, period):
    """Ivory carvings and plaques, or a watercolour miniature portrait on ivory in a gilt frame."""
    base = (0.93, 0.87, 0.72)
    if rng.random() < 0.3:
        box = scene.object_box(w, h, rng, 0.85)
        oval = tx.draw_mask(w, h, [("ellipse", box, 1.0)])
        frame = oval - tx.draw_mask(w, h, [("ellipse", scene.shrink_box(box, 0.06), 1.0)])
        albedo = tx.fill(w, h, tx.jitter_colour(base, rng, 0.03))
        sitter = tx.draw_mask(
            w, h, scene.figure_shapes(scene.shrink_box(box, 0.15), rng), blur=min(w, h) / 100
        )
        albedo = tx.blend(
            albedo, tx.jitter_colour(scene.choice(rng, scene.OIL_COLOURS), rng, 0.05), 0.7 * sitter
        )
        albedo = tx.blend(albedo, (0.85, 0.68, 0.3), np.clip(frame, 0, 1))
        return scene.photograph_object(w, h, rng, oval, albedo, gloss=0.4, shininess=30)
    mask, albedo = scene.solid_object(w, h, rng, {"figure": 0.5, "plaque": 0.5}, base, 0.04)
    x, y = tx.grid(w, h)
    warp = (tx.value_noise(w, h, 3.0, rng) - 0.5) * 6.0 * period
    growth = tx.wood_grain(x, y, 1.5 * period, rng.uniform(0, np.pi), warp, 0.4)
    albedo = albedo * (1.0 + 0.15 * growth)[..., None] * scene.mottle(w, h, rng, 4.0, 0.15)
    return scene.photograph_object(w, h, rng, mask, albedo, gloss=0.3, shininess=20)


def draw_wood(w, h, rng, period):
    """Unpainted wood: brown sculpture, box or panel with visible (coarse) grain."""
    base = scene.choice(rng, [(0.55, 0.36, 0.2), (0.35, 0.22, 0.12), (0.7, 0.55, 0.35)])
    mask, albedo = scene.solid_object(
        w, h, rng, {"figure": 0.45, "plaque": 0.3, "vessel": 0.25}, base, 0.05
    )
    x, y = tx.grid(w, h)
    coarse = period * rng.uniform(2.5, 4.0)
    warp = (tx.value_noise(w, h, 2.0, rng) - 0.5) * 8.0 * coarse
    grain = tx.wood_grain(x, y, coarse, np.pi / 2 + rng.uniform(-0.2, 0.2), warp, 0.35)
    albedo = albedo * (1.0 + 0.5 * grain)[..., None] * scene.mottle(w, h, rng, 4.0, 0.2)
    return scene.photograph_object(w, h, rng, mask, albedo, gloss=0.15, shininess=12)
