"""Stone sculpture: marble (thin veins) and limestone (granular, pitted)."""

from __future__ import annotations

import numpy as np

from artrec.synth import textures as tx
from artrec.synth.mame_drawers import scene


def _stone(w, h, rng, period, marble: bool) -> np.ndarray:
    """Sculpture in pale stone: marble shows thin veins, limestone a granular, pitted surface."""
    base = (0.9, 0.88, 0.83) if marble else (0.84, 0.78, 0.66)
    mask, albedo = scene.solid_object(
        w, h, rng, {"figure": 0.5, "plaque": 0.3, "vessel": 0.2}, base, 0.05
    )
    albedo = albedo * scene.mottle(w, h, rng, 3.0, 0.15)
    if marble:
        veins = np.zeros((h, w), dtype=np.float32)
        for level in (0.5, rng.uniform(0.3, 0.4)):
            field = tx.fractal_noise(w, h, rng.uniform(1.5, 3.0), rng, octaves=4)
            veins = np.maximum(veins, tx.contour_lines(field, level, 0.35 * period))
        albedo = tx.blend(
            albedo, tx.jitter_colour((0.5, 0.5, 0.53), rng, 0.05), veins * rng.uniform(0.5, 0.85)
        )
        gloss = 0.3
    else:
        grain = tx.grain_ink(w, h, 0.5 * period, np.float32(0.4), rng, softness=0.3) - 0.4
        pits = np.clip((tx.blue_noise(w, h, 0.8 * period, rng) - 0.9) * 8.0, 0, 1)
        albedo = albedo * (1.0 - 0.3 * grain - 0.35 * (pits - pits.mean()))[..., None]
        gloss = 0.05
    return scene.photograph_object(w, h, rng, mask, albedo, gloss=gloss, shininess=15)


def draw_marble(w, h, rng, period):
    return _stone(w, h, rng, period, marble=True)


def draw_limestone(w, h, rng, period):
    return _stone(w, h, rng, period, marble=False)
