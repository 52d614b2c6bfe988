"""Ceramics and glass: ceramic, porcelain, faience, glass and unbaked clay."""

from __future__ import annotations

import numpy as np

from artrec.synth import textures as tx
from artrec.synth.mame_drawers import scene


def _painted_bands(w, h, rng, count: int) -> np.ndarray:
    """Horizontal painted bands (rims, friezes) as a mask."""
    _, y = tx.grid(w, h)
    bands = np.zeros((h, w), dtype=np.float32)
    for _ in range(count):
        centre, width = rng.uniform(0.15, 0.85) * h, rng.uniform(0.01, 0.06) * h
        bands = np.maximum(bands, (np.abs(y - centre) < width).astype(np.float32))
    return bands


def draw_ceramic(w, h, rng, period):
    base = scene.choice(
        rng,
        [
            (0.68, 0.4, 0.26),
            (0.78, 0.66, 0.5),
            (0.4, 0.26, 0.14),
            (0.55, 0.62, 0.5),
            (0.15, 0.13, 0.12),
        ],
    )
    mask, albedo = scene.solid_object(w, h, rng, {"vessel": 0.7, "figure": 0.3}, base, 0.05)
    paint = tx.jitter_colour(
        scene.choice(rng, [(0.1, 0.08, 0.07), (0.85, 0.8, 0.7), (0.6, 0.25, 0.15)]), rng, 0.04
    )
    decoration = _painted_bands(w, h, rng, int(rng.integers(0, 4)))
    if rng.random() < 0.3:
        figures = np.clip((tx.value_noise(w, h, 7.0, rng) - 0.6) * 6.0, 0, 1)
        decoration = np.maximum(decoration, figures * _painted_bands(w, h, rng, 1))
    albedo = tx.blend(albedo * scene.mottle(w, h, rng, 5.0, 0.25), paint, decoration)
    return scene.photograph_object(
        w, h, rng, mask, albedo, gloss=rng.uniform(0.1, 0.5), shininess=20
    )


def draw_porcelain(w, h, rng, period):
    mask, albedo = scene.solid_object(
        w, h, rng, {"vessel": 0.7, "coin": 0.3}, (0.95, 0.95, 0.93), 0.02
    )
    floral = np.clip((tx.value_noise(w, h, rng.uniform(5.0, 9.0), rng) - 0.55) * 7.0, 0, 1)
    if rng.random() < 0.6:
        colours = [(0.12, 0.22, 0.55)]
    else:
        colours = [(0.8, 0.25, 0.3), (0.3, 0.6, 0.35), (0.85, 0.65, 0.25)]
    picks = np.stack([tx.value_noise(w, h, 4.0, rng) for _ in colours], axis=-1).argmax(axis=-1)
    paint = np.asarray([tx.jitter_colour(c, rng, 0.05) for c in colours], dtype=np.float32)[picks]
    decoration = np.maximum(floral, _painted_bands(w, h, rng, int(rng.integers(1, 4))))
    albedo = tx.blend(albedo, paint, decoration * rng.uniform(0.7, 1.0))
    return scene.photograph_object(w, h, rng, mask, albedo, gloss=1.1, shininess=80)


def draw_faience(w, h, rng, period):
    if rng.random() < 0.5:  # Egyptian faience: small turquoise figures and amulets
        base = scene.choice(rng, [(0.15, 0.58, 0.6), (0.2, 0.4, 0.7), (0.3, 0.6, 0.4)])
        mask, albedo = scene.solid_object(w, h, rng, {"figure": 0.7, "plaque": 0.3}, base, 0.05)
        details = scene.strokes(
            w,
            h,
            rng,
            int(rng.integers(5, 15)),
            scene.object_box(w, h, rng, 1.0),
            (1.0, max(2.0, min(w, h) / 100)),
        )
        albedo = tx.blend(
            albedo * scene.mottle(w, h, rng, 6.0, 0.3), (0.08, 0.08, 0.1), details * 0.9
        )
        return scene.photograph_object(w, h, rng, mask, albedo, gloss=0.5, shininess=25)
    mask, albedo = scene.solid_object(
        w, h, rng, {"vessel": 0.6, "coin": 0.4}, (0.92, 0.9, 0.82), 0.03
    )
    colours = [(0.2, 0.3, 0.65), (0.9, 0.7, 0.2), (0.3, 0.55, 0.3), (0.45, 0.25, 0.4)]
    picks = np.stack([tx.value_noise(w, h, 5.0, rng) for _ in colours], axis=-1).argmax(axis=-1)
    paint = np.asarray(colours, dtype=np.float32)[picks]
    decoration = np.clip((tx.value_noise(w, h, 6.0, rng) - 0.5) * 6.0, 0, 1)
    albedo = tx.blend(albedo, paint, decoration * 0.85)
    albedo = albedo * (1.0 - 0.3 * scene.craquelure(w, h, rng, 2.0 * period))[..., None]
    return scene.photograph_object(w, h, rng, mask, albedo, gloss=0.6, shininess=30)


def draw_glass(w, h, rng, period):
    """Translucent tinted glass: the backdrop shows through, darker rims, sharp highlights."""
    kinds = {"vessel": 0.8, "coin": 0.2}
    mask = scene.shape_mask(scene.choice(rng, list(kinds), list(kinds.values())), w, h, rng)
    tint = np.asarray(
        tx.jitter_colour(
            scene.choice(
                rng,
                [
                    (0.75, 0.9, 0.8),
                    (0.5, 0.7, 0.95),
                    (0.9, 0.7, 0.4),
                    (0.3, 0.4, 0.85),
                    (0.92, 0.94, 0.95),
                    (0.6, 0.4, 0.7),
                ],
            ),
            rng,
            0.04,
        ),
        dtype=np.float32,
    )
    backdrop = scene.museum_backdrop(w, h, rng)
    inner = tx.smooth(mask, 0.05 * min(w, h))
    rim = mask * np.clip(1.0 - (inner - 0.45) * 3.0, 0, 1)
    albedo = backdrop * tint * (1.0 - 0.6 * rim)[..., None] + 0.15 * tint
    if rng.random() < 0.3:  # weathering iridescence on ancient glass
        albedo = tx.blend(albedo, (0.75, 0.7, 0.85), 0.3 * tx.value_noise(w, h, 6.0, rng))
    return scene.photograph_object(
        w, h, rng, mask, albedo, gloss=1.2, shininess=70, backdrop=backdrop
    )


def draw_clay(w, h, rng, period):
    """Unbaked clay: cuneiform tablets with rows of wedge marks, or matte figurines."""
    base = scene.choice(rng, [(0.66, 0.54, 0.4), (0.55, 0.5, 0.45), (0.7, 0.5, 0.38)])
    if rng.random() < 0.5:
        mask, albedo = scene.solid_object(w, h, rng, {"plaque": 1.0}, base, 0.06)
        x, y = tx.grid(w, h)
        row = 3.0 * period * rng.uniform(1.0, 1.6)
        rows = tx.hatching(x, y, np.pi / 2, row, 0.35, softness_px=1.5)
        wedges = tx.hatching(x, y, 0.0, row * 0.8, 0.3, softness_px=1.5)
        relief = -0.03 * min(w, h) * rows * wedges
        albedo = albedo * (1.0 - 0.35 * rows * wedges)[..., None]
    else:
        mask, albedo = scene.solid_object(w, h, rng, {"figure": 1.0}, base, 0.06)
        relief = 0.015 * min(w, h) * tx.fractal_noise(w, h, 10.0, rng, octaves=2)
    albedo = albedo * scene.mottle(w, h, rng, 8.0, 0.3)
    return scene.photograph_object(w, h, rng, mask, albedo, gloss=0.03, shininess=5, relief=relief)
