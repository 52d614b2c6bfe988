"""Metal objects: bronze, gold, silver; iron and steel differ only in their surface texture."""

from __future__ import annotations

import numpy as np

from artrec.synth import textures as tx
from artrec.synth.mame_drawers import scene


def draw_bronze(w, h, rng, period):
    base = scene.choice(rng, [(0.62, 0.44, 0.22), (0.34, 0.24, 0.14), (0.4, 0.36, 0.2)])
    mask, albedo = scene.solid_object(
        w, h, rng, {"figure": 0.45, "vessel": 0.25, "coin": 0.15, "plaque": 0.15}, base, 0.05
    )
    patina = np.clip((tx.fractal_noise(w, h, 4.0, rng) - rng.uniform(0.5, 0.75)) * 6.0, 0, 1)
    albedo = tx.blend(
        albedo * scene.mottle(w, h, rng, 6.0, 0.3),
        tx.jitter_colour((0.3, 0.5, 0.4), rng, 0.05),
        patina * rng.uniform(0.3, 0.9),
    )
    return scene.photograph_object(
        w, h, rng, mask, albedo, gloss=0.45, shininess=25, reflections=0.25
    )


def draw_gold(w, h, rng, period):
    mask, albedo = scene.solid_object(
        w,
        h,
        rng,
        {"coin": 0.35, "plaque": 0.2, "vessel": 0.2, "figure": 0.25},
        (0.86, 0.66, 0.24),
        0.04,
    )
    relief = 0.02 * min(w, h) * tx.fractal_noise(w, h, 8.0, rng, octaves=2)
    return scene.photograph_object(
        w, h, rng, mask, albedo, gloss=0.9, shininess=40, reflections=0.5, relief=relief
    )


def draw_silver(w, h, rng, period):
    mask, albedo = scene.solid_object(
        w, h, rng, {"vessel": 0.5, "coin": 0.25, "plaque": 0.25}, (0.78, 0.78, 0.8), 0.03
    )
    tarnish = np.clip((tx.fractal_noise(w, h, 3.0, rng) - 0.55) * 4.0, 0, 1) * rng.uniform(0.0, 0.5)
    albedo = tx.blend(albedo, (0.55, 0.45, 0.3), tarnish)
    return scene.photograph_object(
        w, h, rng, mask, albedo, gloss=1.0, shininess=60, reflections=0.6
    )


def _ferrous(w, h, rng, period, steel: bool) -> np.ndarray:
    """Iron and steel share shapes and colours; iron is pitted, steel finely brushed."""
    grey = rng.uniform(0.3, 0.5)
    tint = scene.choice(rng, [(1.08, 1.0, 0.92), (0.94, 0.98, 1.08), (1.03, 1.0, 0.97)])
    kinds = {"blade": 0.35, "helmet": 0.3, "plaque": 0.2, "vessel": 0.15}
    mask, albedo = scene.solid_object(w, h, rng, kinds, tuple(grey * c for c in tint), 0.03)
    rust = np.clip((tx.fractal_noise(w, h, 4.0, rng) - rng.uniform(0.6, 0.9)) * 5.0, 0, 1)
    albedo = tx.blend(albedo, (0.45, 0.25, 0.12), rust) * scene.mottle(w, h, rng, 5.0, 0.2)
    if steel:  # polishing marks run along the object's longer side
        x, y = tx.grid(w, h)
        across = 0.0 if h >= w else np.pi / 2
        texture = tx.hatching(x, y, across, period, 0.3, softness_px=1.2) - 0.3
    else:
        texture = 0.3 - tx.grain_ink(w, h, 0.6 * period, np.float32(0.3), rng, softness=0.1)
    albedo = albedo * (1.0 + rng.uniform(0.35, 0.55) * texture)[..., None]
    return scene.photograph_object(
        w, h, rng, mask, albedo, gloss=0.5, shininess=30, reflections=0.3
    )


def draw_iron(w, h, rng, period):
    return _ferrous(w, h, rng, period, steel=False)


def draw_steel(w, h, rng, period):
    return _ferrous(w, h, rng, period, steel=True)
