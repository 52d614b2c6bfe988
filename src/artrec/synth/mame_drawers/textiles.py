"""Textiles: woven fabric and silk with metal thread, differing only in thread-level texture."""

from __future__ import annotations

import numpy as np

from artrec.synth import detmath as dm
from artrec.synth import textures as tx
from artrec.synth.mame_drawers import scene

_TEXTILE_COLOURS: tuple[tx.RGB, ...] = (
    (0.6, 0.12, 0.12),
    (0.15, 0.2, 0.45),
    (0.2, 0.4, 0.25),
    (0.85, 0.8, 0.65),
    (0.8, 0.65, 0.3),
    (0.45, 0.3, 0.2),
    (0.7, 0.7, 0.72),
    (0.35, 0.15, 0.35),
)


def _textile(w: int, h: int, rng: np.random.Generator, period: float, metal: bool) -> np.ndarray:
    """A patterned textile (maybe a fragment on a mount board).

    Both fabric classes share this recipe; ``metal`` only changes the thread-level texture:
    plain or twill weave everywhere, versus satin silk with glittering metal-wrapped threads in
    the motif.
    """
    short = min(w, h)
    x, y = tx.grid(w, h)
    picks = rng.choice(len(_TEXTILE_COLOURS), 3, replace=False)
    ground, motif, accent = (tx.jitter_colour(_TEXTILE_COLOURS[i], rng, 0.05) for i in picks)
    style = scene.choice(rng, ["stripes", "medallions", "floral"])
    if style == "stripes":
        repeat = short * rng.uniform(0.08, 0.25)
        angle = scene.choice(rng, [0.0, np.pi / 2, np.pi / 4])
        motif_mask = tx.hatching(x, y, angle, repeat, rng.uniform(0.25, 0.5), softness_px=2.0)
    elif style == "medallions":
        repeat = short * rng.uniform(0.12, 0.3)
        cells = dm.cos(2 * np.pi * x / repeat) * dm.cos(2 * np.pi * y / repeat)
        motif_mask = np.clip((cells - rng.uniform(0.2, 0.5)) * 8.0, 0, 1)
    else:
        motif_mask = np.clip((tx.value_noise(w, h, rng.uniform(4.0, 8.0), rng) - 0.55) * 8.0, 0, 1)
    accent_mask = np.clip((tx.value_noise(w, h, 6.0, rng) - 0.7) * 8.0, 0, 1) * motif_mask
    rgb = tx.blend(tx.fill(w, h, ground), motif, motif_mask)
    rgb = tx.blend(rgb, accent, accent_mask)
    rgb = rgb * (0.85 + 0.3 * tx.smooth(tx.value_noise(w, h, 2.0, rng), short / 10))[..., None]
    texture = rng.uniform(0.14, 0.22) * tx.weave(x, y, period)
    if metal:
        glitter = tx.glints(x, y, period, rng) * motif_mask
        texture = 0.6 * texture * (1.0 - motif_mask) + rng.uniform(0.9, 1.3) * glitter
    rgb = rgb * (1.0 + texture)[..., None]
    if rng.random() < 0.5:
        edge = tx.value_noise(w, h, 10.0, rng)
        box = scene.inset_box(w, h, rng, 0.03, 0.1)
        fragment = tx.smooth(scene.box_mask(w, h, box), short / 40)
        fragment = np.clip((fragment + 0.3 * (edge - 0.5) - 0.5) * 12.0, 0, 1)
        board = tx.fill(
            w,
            h,
            tx.jitter_colour(scene.choice(rng, [(0.8, 0.77, 0.7), (0.55, 0.55, 0.55)]), rng, 0.03),
        )
        rgb = tx.blend(board, rgb, fragment)
    return rgb


def draw_woven_fabric(w, h, rng, period):
    return _textile(w, h, rng, period, metal=False)


def draw_silk_and_metal_thread(w, h, rng, period):
    return _textile(w, h, rng, period, metal=True)
