"""Embedded synthetic stand-in for the Met dataset (Ypsilantis et al., NeurIPS 2021).

Every exhibit is a procedurally drawn artwork whose identity is a set of random parameters
(family, palette, composition). Exhibit images are studio views of it; Met queries are
"visitor photos" of the same identity (gallery wall or plinth, clutter, perspective, lighting,
blur, noise); distractors are photos of new identities (other-art) and of non-art scenes.

The output mirrors the official release as read by the public evaluation code
(github.com/nikosips/met, ``code/utils/datasets.py``)::

    out_dir/MET_database.json       [{"id": int, "path": "MET/<id>/<n>.jpg"}, ...]
    out_dir/mini_MET_database.json  same schema, subset (thesis appendix B.4)
    out_dir/valset.json             [{"path": "test_met/<hash>.jpg", "MET_id": int}, ...,
    out_dir/testset.json             {"path": "test_other/<hash>.jpg"}, {"path": "test_noart/..."}]
    out_dir/images/MET/<id>/<n>.jpg, images/test_met/, images/test_other/, images/test_noart/

As in the official archives, val and test queries share the ``test_*`` folders; only the JSON
files say which split a query belongs to. Paths in the JSON files are relative to ``images/``.
"""

from __future__ import annotations

import colorsys
import copy
import functools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from artrec.synth import detmath as dm
from artrec.synth.files import jpeg_bytes, json_bytes, remove_stale_files
from artrec.utils.partitions import DIGEST_NAME, write_partitions

Artwork = dict[str, Any]
Colour = tuple[int, int, int]

FAMILIES = ("painting", "print", "textile", "vessel", "plate", "sculpture")
FAMILY_WEIGHTS = (0.26, 0.2, 0.1, 0.2, 0.1, 0.14)
FLAT_FAMILIES = frozenset({"painting", "print", "textile"})
NON_ART_KINDS = ("landscape", "people", "text", "abstract", "architecture")

# Folder names of the official release; val and test queries share them.
EXHIBIT_DIR = "MET"
MET_QUERY_DIR = "test_met"
OTHER_ART_DIR = "test_other"
NON_ART_DIR = "test_noart"

# Paper, section 2: 60.8% of the classes have one image, at most 10 per class; 81.5% of the
# Met queries are the only query of their class, again at most 10.
REAL_SINGLE_VIEW_SHARE = 0.608
MAX_IMAGES_PER_CLASS = 10
# Class-level chance of a single query, chosen so that about 81.5% of queries are sole queries
# when the other classes draw 2..10 queries with P(k) ~ k^-2.5 (mean about 3.1).
_SINGLE_QUERY_CLASS_P = 0.93
_QUERY_TAIL_EXPONENT = 2.5

_STUDIO_BACKDROPS: tuple[Colour, ...] = (
    (246, 246, 244),
    (232, 232, 230),
    (205, 205, 203),
    (150, 150, 148),
    (30, 30, 32),
    (226, 218, 200),
)
# Mostly neutral gallery walls, some period rooms in strong colours.
_WALL_WEIGHTS = (0.35, 0.3, 0.07, 0.07, 0.07, 0.07, 0.07)
_WALLS: tuple[Colour, ...] = (
    (236, 232, 224),
    (205, 203, 198),
    (120, 38, 40),
    (70, 88, 105),
    (58, 80, 66),
    (160, 150, 130),
    (44, 44, 48),
)
_FRAMES: tuple[Colour, ...] = ((182, 142, 62), (72, 46, 28), (22, 22, 22), (170, 130, 88))
_MATERIALS: tuple[Colour, ...] = (
    (96, 76, 46),  # bronze
    (70, 84, 66),  # patinated bronze
    (226, 220, 208),  # marble
    (132, 88, 52),  # wood
    (182, 102, 70),  # terracotta
    (150, 146, 136),  # limestone
    (204, 164, 72),  # gilt
)
_SKIN: tuple[Colour, ...] = ((236, 200, 170), (200, 150, 110), (140, 95, 65), (90, 60, 42))


# --------------------------------------------------------------------------------------------
# Identities: an artwork is a JSON-able dict of random parameters.


def _hsv(h: float, s: float, v: float) -> Colour:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))
    return (round(255 * r), round(255 * g), round(255 * b))


def _palette(rng: np.random.Generator, n: int = 5) -> list[Colour]:
    base = rng.random()
    spread = float(rng.choice([0.05, 0.15, 0.45]))  # analogous, neighbouring, wide schemes
    return [
        _hsv(base + spread * rng.normal(), rng.uniform(0.2, 0.95), rng.uniform(0.25, 0.97))
        for _ in range(n)
    ]


def _box(rng: np.random.Generator, lo: float, hi: float) -> dict[str, float]:
    return {
        "x": float(rng.random()),
        "y": float(rng.random()),
        "w": float(rng.uniform(lo, hi)),
        "h": float(rng.uniform(lo, hi)),
    }


def _sample_painting(rng: np.random.Generator) -> Artwork:
    kinds = ["ellipse", "rect", "triangle", "band"]
    return {
        "aspect": float(rng.uniform(0.65, 1.5)),
        "bg": int(rng.integers(5)),
        "horizon": float(rng.uniform(0.3, 0.75)) if rng.random() < 0.5 else None,
        "ground": int(rng.integers(5)),
        "elements": [
            {"kind": str(rng.choice(kinds)), **_box(rng, 0.08, 0.5), "c": int(rng.integers(5))}
            for _ in range(int(rng.integers(4, 12)))
        ],
    }


def _sample_print(rng: np.random.Generator) -> Artwork:
    elements: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(2, 6))):
        hatch = {"kind": "hatch", **_box(rng, 0.15, 0.6), "angle": float(rng.uniform(0, math.pi))}
        elements.append(hatch | {"spacing": float(rng.uniform(0.012, 0.04))})
    for _ in range(int(rng.integers(2, 7))):
        kind = str(rng.choice(["ellipse", "rect", "polyline"]))
        pts = rng.random((int(rng.integers(3, 7)), 2)).round(4).tolist()
        line_width = float(rng.uniform(0.004, 0.012))
        elements.append({"kind": kind, **_box(rng, 0.1, 0.5), "pts": pts, "lw": line_width})
    if rng.random() < 0.4:  # hand-coloured impressions
        for _ in range(int(rng.integers(1, 4))):
            elements.append({"kind": "wash", **_box(rng, 0.15, 0.5), "c": int(rng.integers(5))})
    return {
        "aspect": float(rng.uniform(0.65, 1.5)),
        "paper": _hsv(rng.uniform(0.08, 0.14), rng.uniform(0.04, 0.25), rng.uniform(0.86, 0.97)),
        "ink": _hsv(rng.uniform(0, 1), rng.uniform(0.2, 0.8), rng.uniform(0.08, 0.35)),
        "elements": elements,
    }


def _sample_textile(rng: np.random.Generator) -> Artwork:
    nx, ny = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    kinds = ["diamond", "cross", "dot", "stripes", "solid", "chevron"]
    return {
        "aspect": float(rng.uniform(0.6, 1.6)),
        "nx": nx,
        "ny": ny,
        "repeat": int(rng.integers(2, 6)),
        "bg": int(rng.integers(5)),
        "border": int(rng.integers(5)),
        "border_w": float(rng.uniform(0.02, 0.1)),
        "elements": [
            {"kind": str(rng.choice(kinds)), "c": int(rng.integers(5))} for _ in range(nx * ny)
        ],
    }


_SURFACE_PATTERNS = ["solid", "stripes", "zigzag", "dots", "waves", "checker"]


def _sample_vessel(rng: np.random.Generator) -> Artwork:
    bands: list[dict[str, Any]] = []
    edges = np.sort(rng.uniform(0.08, 0.95, size=2 * int(rng.integers(1, 4))))
    for t0, t1 in edges.reshape(-1, 2):
        bands.append(
            {
                "kind": str(rng.choice(_SURFACE_PATTERNS)),
                "t0": float(t0),
                "t1": float(max(t1, t0 + 0.04)),
                "c": int(rng.integers(5)),
                "freq": int(rng.integers(3, 15)),
            }
        )
    if rng.random() < 0.6:  # a figurative cartouche on one side: makes views differ
        bands.append(
            {
                "kind": "medallion",
                "x": float(rng.random()),
                "y": float(rng.uniform(0.3, 0.7)),
                "w": float(rng.uniform(0.06, 0.16)),
                "h": float(rng.uniform(0.1, 0.25)),
                "c": int(rng.integers(5)),
            }
        )
    return {
        "rmax": float(rng.uniform(0.18, 0.42)),
        "profile": rng.uniform(-1, 1, size=6).round(4).tolist(),
        "body": int(rng.integers(5)),
        "gloss": float(rng.uniform(0.05, 0.45)),
        "elements": bands,
    }


def _sample_plate(rng: np.random.Generator) -> Artwork:
    edges = np.sort(rng.uniform(0.15, 0.88, size=2 * int(rng.integers(1, 4))))
    rings = [
        {
            "kind": str(rng.choice(_SURFACE_PATTERNS)),
            "r0": float(r0),
            "r1": float(max(r1, r0 + 0.04)),
            "c": int(rng.integers(5)),
            "freq": int(rng.integers(4, 20)),
        }
        for r0, r1 in edges.reshape(-1, 2)
    ]
    return {
        "body": int(rng.integers(5)),
        "center": int(rng.integers(5)),
        "center_r": float(rng.uniform(0.05, 0.25)),
        "rim": int(rng.integers(5)),
        "elements": rings,
    }


def _sample_sculpture(rng: np.random.Generator) -> Artwork:
    """Ellipsoid masses in object coordinates: y up, base top at y = 0.2, height about 1."""
    parts: list[dict[str, float]] = []

    def mass(x: float, y: float, z: float, rx: float, ry: float, rz: float) -> None:
        parts.append({"x": x, "y": y, "z": z, "rx": rx, "ry": ry, "rz": rz})

    def limb(x0: float, y0: float, angle: float, length: float, radius: float) -> None:
        # angle 0 hangs straight down, pi points straight up; segments overlap along the limb
        sx, sy = float(dm.sin(angle)), -float(dm.cos(angle))
        for k in range(4):
            f = (k + 0.5) / 4
            rx, ry = radius + abs(sx) * length / 7, radius + abs(sy) * length / 7
            z = float(rng.normal(0, 0.03))
            mass(x0 + f * length * sx, y0 + f * length * sy, z, rx, ry, radius)

    if rng.random() < 0.7:  # figure: legs, torso, head, arms
        tw, th = float(rng.uniform(0.08, 0.14)), float(rng.uniform(0.14, 0.22))
        leg = float(rng.uniform(0.3, 0.4))
        ty = 0.2 + leg + 0.8 * th
        mass(0.0, ty, 0.0, tw, th, tw * 0.7)
        head = float(rng.uniform(0.05, 0.08))
        mass(float(rng.normal(0, 0.02)), ty + th + head, 0.0, head, head * 1.2, head)
        for side in (-1, 1):
            limb(
                side * tw * 0.9,
                ty + th * 0.7,
                side * rng.uniform(0.1, 2.6),
                rng.uniform(0.2, 0.32),
                tw * 0.35,
            )
            limb(side * tw * 0.5, ty - th * 0.8, side * rng.uniform(0.0, 0.35), leg, tw * 0.45)
    else:  # abstract piece: masses stacked on the base, each resting on the one below
        y, below = 0.2, 0.0
        for _ in range(int(rng.integers(2, 6))):
            rx, ry, rz = rng.uniform(0.06, 0.2), rng.uniform(0.06, 0.2), rng.uniform(0.06, 0.2)
            y += 0.7 * (below + ry) if below else ry
            mass(rng.normal(0, 0.07), y, rng.normal(0, 0.07), rx, ry, rz)
            below = ry
    parts = [{key: float(value) for key, value in p.items()} for p in parts]
    material = np.array(_MATERIALS[int(rng.integers(len(_MATERIALS)))], float)
    material = np.clip(material + rng.normal(0, 12, 3), 0, 255)
    return {
        "material": [int(v) for v in material],
        "base": _MATERIALS[int(rng.integers(len(_MATERIALS)))],
        "base_h": float(rng.uniform(0.04, 0.15)),
        "base_w": float(rng.uniform(0.2, 0.4)),
        "elements": parts,
    }


_SAMPLERS = {
    "painting": _sample_painting,
    "print": _sample_print,
    "textile": _sample_textile,
    "vessel": _sample_vessel,
    "plate": _sample_plate,
    "sculpture": _sample_sculpture,
}


def sample_artwork(rng: np.random.Generator) -> Artwork:
    """Draw the identity of a new artwork: its family and the parameters that fix its look."""
    family = str(rng.choice(FAMILIES, p=FAMILY_WEIGHTS))
    art: Artwork = {
        "family": family,
        "palette": _palette(rng),
        "texture_seed": int(rng.integers(2**31)),
        # One backdrop per exhibit: its views come from one photography session.
        "studio": _STUDIO_BACKDROPS[int(rng.integers(len(_STUDIO_BACKDROPS)))],
    }
    art.update(_SAMPLERS[family](rng))
    return art


def perturb_artwork(art: Artwork, rng: np.random.Generator) -> Artwork:
    """A near-duplicate identity (same template, small changes): pendants, series, replicas.

    These pairs give the large inter-class similarity of the real collection.
    """
    new = copy.deepcopy(art)
    elements = new.get("elements", [])
    for element in elements:
        if rng.random() < 0.35:
            for key in ("x", "y"):
                if key in element:
                    element[key] = float(np.clip(element[key] + rng.normal(0, 0.06), 0, 1))
    coloured = [e for e in elements if "c" in e]
    if coloured:
        element = coloured[int(rng.integers(len(coloured)))]
        element["c"] = int((element["c"] + rng.integers(1, 5)) % 5)
    i = int(rng.integers(len(new["palette"])))
    jittered = np.clip(np.array(new["palette"][i]) + rng.normal(0, 25, 3), 0, 255)
    new["palette"][i] = tuple(int(v) for v in jittered)
    if "material" in new:
        new["material"] = [
            int(v) for v in np.clip(np.array(new["material"]) + rng.normal(0, 15, 3), 0, 255)
        ]
    return new


# --------------------------------------------------------------------------------------------
# Drawing an artwork on its own: RGBA image, transparent outside the object.


def _size(aspect: float, long_side: int) -> tuple[int, int]:
    """(width, height) with height / width = aspect and the longer side = long_side."""
    if aspect >= 1:
        return max(8, round(long_side / aspect)), long_side
    return long_side, max(8, round(long_side * aspect))


def _smooth_noise(seed: int, w: int, h: int, cells: int = 6) -> np.ndarray:
    """Low-frequency noise in [0, 1] fixed by ``seed`` in normalised coordinates (view-invariant)."""
    grid = np.random.default_rng(seed).random((cells, cells))
    small = Image.fromarray((grid * 255).astype(np.uint8))
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), np.float32) / 255.0


def _modulate(img: Image.Image, factor: np.ndarray) -> Image.Image:
    rgb = np.asarray(img.convert("RGB"), np.float32) * factor[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _bbox(e: dict[str, float], w: int, h: int) -> tuple[float, float, float, float]:
    return (
        (e["x"] - e["w"] / 2) * w,
        (e["y"] - e["h"] / 2) * h,
        (e["x"] + e["w"] / 2) * w,
        (e["y"] + e["h"] / 2) * h,
    )


def _draw_painting(art: Artwork, w: int, h: int) -> Image.Image:
    pal = [tuple(c) for c in art["palette"]]
    img = Image.new("RGB", (w, h), pal[art["bg"]])
    draw = ImageDraw.Draw(img)
    if art["horizon"] is not None:
        draw.rectangle((0, int(art["horizon"] * h), w, h), fill=pal[art["ground"]])
    for e in art["elements"]:
        x0, y0, x1, y1 = _bbox(e, w, h)
        colour = pal[e["c"]]
        if e["kind"] == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif e["kind"] == "rect":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif e["kind"] == "triangle":
            draw.polygon([(x0, y1), (x1, y1), ((x0 + x1) / 2, y0)], fill=colour)
        else:  # a slanted band across the canvas
            dy = (e["x"] - 0.5) * h * 0.6
            draw.polygon([(0, y0), (w, y0 + dy), (w, y1 + dy), (0, y1)], fill=colour)
    return _modulate(img, 0.88 + 0.24 * _smooth_noise(art["texture_seed"], w, h))


def _hatch(size: tuple[int, int], angle: float, spacing: float) -> Image.Image:
    w, h = size
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    diag = float(dm.hypot(w, h))
    dx, dy = float(dm.cos(angle)), float(dm.sin(angle))
    for offset in np.arange(-diag / 2, diag / 2, max(spacing, 2.0)):
        cx, cy = w / 2 - dy * offset, h / 2 + dx * offset
        draw.line((cx - dx * diag, cy - dy * diag, cx + dx * diag, cy + dy * diag), fill=255)
    return mask


def _draw_print(art: Artwork, w: int, h: int) -> Image.Image:
    paper, ink = tuple(art["paper"]), tuple(art["ink"])
    pal = [tuple(c) for c in art["palette"]]
    img = Image.new("RGB", (w, h), paper)
    washes = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    wash_draw = ImageDraw.Draw(washes)
    draw = ImageDraw.Draw(img)
    for e in art["elements"]:
        x0, y0, x1, y1 = _bbox(e, w, h)
        if e["kind"] == "wash":
            wash_draw.ellipse((x0, y0, x1, y1), fill=(*pal[e["c"]], 110))
    img = Image.alpha_composite(img.convert("RGBA"), washes).convert("RGB")
    draw = ImageDraw.Draw(img)
    for e in art["elements"]:
        x0, y0, x1, y1 = (round(v) for v in _bbox(e, w, h))
        width = max(1, round(e.get("lw", 0) * max(w, h)))
        if e["kind"] == "hatch":
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if x1 - x0 > 2 and y1 - y0 > 2:
                spacing = e["spacing"] * max(w, h)
                img.paste(ink, (x0, y0, x1, y1), _hatch((x1 - x0, y1 - y0), e["angle"], spacing))
        elif e["kind"] == "ellipse":
            draw.ellipse((x0, y0, x1, y1), outline=ink, width=width)
        elif e["kind"] == "rect":
            draw.rectangle((x0, y0, x1, y1), outline=ink, width=width)
        elif e["kind"] == "polyline":
            pts = [(x0 + px * (x1 - x0), y0 + py * (y1 - y0)) for px, py in e["pts"]]
            draw.line(pts, fill=ink, width=width)
    inset = round(0.04 * min(w, h))
    draw.rectangle((inset, inset, w - inset, h - inset), outline=ink, width=1)  # plate mark
    return _modulate(img, 0.94 + 0.1 * _smooth_noise(art["texture_seed"], w, h, cells=10))


def _draw_textile(art: Artwork, w: int, h: int) -> Image.Image:
    pal = [tuple(c) for c in art["palette"]]
    nx, ny = art["nx"], art["ny"]
    cell = max(3, round(w / (art["repeat"] * nx)))
    tile = Image.new("RGB", (cell * nx, cell * ny), pal[art["bg"]])
    draw = ImageDraw.Draw(tile)
    for index, e in enumerate(art["elements"]):
        x0, y0 = (index % nx) * cell, (index // nx) * cell
        x1, y1, xm, ym = x0 + cell - 1, y0 + cell - 1, x0 + cell / 2, y0 + cell / 2
        colour = pal[e["c"]]
        if e["kind"] == "diamond":
            draw.polygon([(xm, y0), (x1, ym), (xm, y1), (x0, ym)], fill=colour)
        elif e["kind"] == "cross":
            draw.rectangle((xm - cell / 8, y0, xm + cell / 8, y1), fill=colour)
            draw.rectangle((x0, ym - cell / 8, x1, ym + cell / 8), fill=colour)
        elif e["kind"] == "dot":
            draw.ellipse((x0 + cell / 4, y0 + cell / 4, x1 - cell / 4, y1 - cell / 4), fill=colour)
        elif e["kind"] == "stripes":
            for k in range(3):
                yy = y0 + (k + 0.25) * cell / 3
                draw.rectangle((x0, yy, x1, yy + cell / 6), fill=colour)
        elif e["kind"] == "solid":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.line(
                [(x0, y1), (xm, y0 + cell / 4), (x1, y1)], fill=colour, width=max(1, cell // 6)
            )
    tiled = np.tile(np.asarray(tile), (h // tile.height + 1, w // tile.width + 1, 1))[:h, :w]
    img = Image.fromarray(tiled)
    band = max(2, round(art["border_w"] * min(w, h)))
    ImageDraw.Draw(img).rectangle((0, 0, w - 1, h - 1), outline=pal[art["border"]], width=band)
    yy, xx = np.mgrid[0:h, 0:w]
    weave = 0.93 + 0.07 * ((xx + yy) % 3 == 0)  # visible threads at close range
    return _modulate(img, weave * (0.9 + 0.2 * _smooth_noise(art["texture_seed"], w, h)))


def _pattern(kind: str, u: np.ndarray, tt: np.ndarray, freq: int) -> np.ndarray:
    """Surface decoration: ``u`` runs around the object (turns), ``tt`` across the band (0..1)."""
    phase = freq * u
    if kind == "solid":
        return np.ones_like(u, bool)
    if kind == "stripes":
        return dm.sin(2 * np.pi * phase) > 0
    if kind == "zigzag":
        return tt < 0.5 + 0.35 * (4 * np.abs(phase % 1 - 0.5) - 1)
    if kind == "dots":
        return ((phase % 1 - 0.5) * 2) ** 2 + ((tt - 0.5) * 2) ** 2 < 0.35
    if kind == "waves":
        return np.abs(tt - 0.5 - 0.3 * dm.sin(2 * np.pi * phase)) < 0.18
    return (np.floor(phase) + np.floor(tt * 2)) % 2 == 0  # checker


def _vessel_radius(art: Artwork, t: np.ndarray) -> np.ndarray:
    """Profile radius (in units of the height) at heights t in [0, 1], foot to lip."""
    a = art["profile"]

    def raw(x: np.ndarray) -> np.ndarray:
        return (
            1.6
            + 0.5 * a[0] * dm.sin(np.pi * x + 3 * a[1])
            + 0.35 * a[2] * dm.sin(2 * np.pi * x + 3 * a[3])
            + 0.25 * a[4] * dm.sin(3 * np.pi * x + 3 * a[5])
        )

    peak = raw(np.linspace(0, 1, 101)).max()
    r = np.clip(raw(t) / peak, 0.25, 1.0) * art["rmax"]
    return np.where(t < 0.04, np.minimum(r, 0.6 * art["rmax"]), r)  # foot ring


def _surface_colours(art: Artwork, u: np.ndarray, t: np.ndarray, radial: bool) -> np.ndarray:
    """Colour of a decorated surface of revolution (vessel body or plate face)."""
    pal = np.array(art["palette"], np.float32)
    colour = np.broadcast_to(pal[art["body"]], (*u.shape, 3)).copy()
    for e in art["elements"]:
        if e["kind"] == "medallion":
            du = (u - e["x"] + 0.5) % 1 - 0.5
            inside = (du / e["w"]) ** 2 + ((t - e["y"]) / e["h"]) ** 2 < 1
            colour[inside] = pal[e["c"]]
            continue
        lo, hi = (e["r0"], e["r1"]) if radial else (e["t0"], e["t1"])
        band = (t >= lo) & (t < hi)
        tt = (t - lo) / (hi - lo)
        colour[band & _pattern(e["kind"], u, tt, e["freq"])] = pal[e["c"]]
    return colour


def _draw_vessel(art: Artwork, long_side: int, angle: float) -> Image.Image:
    w, h = _size(1.0 / (2.1 * art["rmax"]), long_side)
    t = 1.0 - (np.arange(h) + 0.5) / h
    radius = _vessel_radius(art, t)[:, None] * h
    x = (np.arange(w) - w / 2 + 0.5)[None, :]
    inside = np.abs(x) < radius
    theta = dm.arcsin(np.clip(x / radius, -1, 1))
    u = ((theta + angle) / (2 * np.pi)) % 1.0
    tt = np.broadcast_to(t[:, None], u.shape)
    colour = _surface_colours(art, u, tt, radial=False)
    shade = 0.45 + 0.55 * np.clip(dm.cos(theta + 0.55), 0, 1)
    spread = (theta + 0.45) / 0.14
    highlight = art["gloss"] * dm.exp(-(spread * spread))
    rgb = colour * shade[..., None] + 255 * highlight[..., None]
    alpha = np.where(inside, 255, 0).astype(np.uint8)
    return Image.fromarray(np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha]), "RGBA")


def _draw_plate(art: Artwork, long_side: int, angle: float) -> Image.Image:
    squeeze = 0.5 + 0.5 * abs(float(dm.cos(angle)))  # tilted plates look elliptical
    w, h = _size(squeeze, long_side)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = (xx + 0.5) / (w / 2) - 1, (yy + 0.5) / (h / 2) - 1
    rho = dm.hypot(dx, dy)
    u = (dm.arctan2(dy, dx) / (2 * np.pi) + angle / (2 * np.pi)) % 1.0
    colour = _surface_colours(art, u, rho, radial=True)
    pal = np.array(art["palette"], np.float32)
    colour[rho < art["center_r"]] = pal[art["center"]]
    colour[rho > 0.9] = pal[art["rim"]]
    shade = 0.8 + 0.2 * (1 - rho) - 0.15 * (1 - squeeze) * np.clip(dy, 0, 1)
    rgb = colour * shade[..., None]
    alpha = np.where(rho < 1, 255, 0).astype(np.uint8)
    return Image.fromarray(np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha]), "RGBA")


def _draw_sculpture(art: Artwork, long_side: int, angle: float) -> Image.Image:
    c, s = float(dm.cos(angle)), float(dm.sin(angle))
    parts = [
        (p["x"] * c + p["z"] * s, p["y"], float(dm.hypot(p["rx"] * c, p["rz"] * s)), p["ry"])
        for p in art["elements"]
    ]
    base_half = art["base_w"] / 2 * (abs(c) + 0.6 * abs(s))
    x_lo = min([x - rx for x, _, rx, _ in parts] + [-base_half])
    x_hi = max([x + rx for x, _, rx, _ in parts] + [base_half])
    y_hi = max(y + ry for _, y, _, ry in parts)
    y_lo = min(min(y - ry for _, y, _, ry in parts), 0.2 - art["base_h"])
    aspect = float(np.clip((y_hi - y_lo) / (x_hi - x_lo), 0.5, 3.0))
    w, h = _size(aspect, long_side)
    scale_x, scale_y = w / (x_hi - x_lo), h / (y_hi - y_lo)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (x - x_lo) * scale_x, (y_hi - y) * scale_y

    body = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(body)
    for x, y, rx, ry in parts:
        (x0, y0), (x1, y1) = to_px(x - rx, y + ry), to_px(x + rx, y - ry)
        draw.ellipse((x0, y0, x1, y1), fill=255)
    base = Image.new("L", (w, h), 0)
    (x0, y0), (x1, y1) = to_px(-base_half, 0.2), to_px(base_half, 0.2 - art["base_h"])
    ImageDraw.Draw(base).rectangle((x0, y0, x1, y1), fill=255)
    # Relief shading: light from the upper left picks out the rims of the masses.
    blurred = np.asarray(body.filter(ImageFilter.GaussianBlur(max(1, long_side / 40))), np.float32)
    shift = max(1, long_side // 60)
    relief = np.roll(blurred, (shift, shift), (0, 1)) - np.roll(blurred, (-shift, -shift), (0, 1))
    shade = np.clip(0.8 - relief / 255.0 * 1.5, 0.35, 1.4)
    grain = 0.85 + 0.3 * _smooth_noise(art["texture_seed"], w, h, cells=12)
    rgb = np.array(art["material"], np.float32) * (shade * grain)[..., None]
    mask_body = np.asarray(body) > 0
    mask_base = np.asarray(base) > 0
    rgb[~mask_body] = np.array(art["base"], np.float32) * 0.9
    alpha = np.where(mask_body | mask_base, 255, 0).astype(np.uint8)
    return Image.fromarray(np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), alpha]), "RGBA")


def draw_artwork(art: Artwork, long_side: int, angle: float = 0.0) -> Image.Image:
    """Render ``art`` alone as RGBA (transparent around 3-D objects); longer side ``long_side``.

    ``angle`` (radians) turns 3-D objects about their vertical axis; flat works ignore it.
    """
    family = art["family"]
    if family in FLAT_FAMILIES:
        w, h = _size(art["aspect"], long_side)
        flat = {"painting": _draw_painting, "print": _draw_print, "textile": _draw_textile}
        return flat[family](art, w, h).convert("RGBA")
    solid = {"vessel": _draw_vessel, "plate": _draw_plate, "sculpture": _draw_sculpture}
    return solid[family](art, long_side, angle)


# --------------------------------------------------------------------------------------------
# Studio photographs: the exhibit (training) images.


def _backdrop(w: int, h: int, colour: Colour, rng: np.random.Generator) -> Image.Image:
    """Seamless studio sweep: a plain colour with a soft vertical fall-off."""
    ramp = np.linspace(rng.uniform(0.9, 1.0), rng.uniform(1.0, 1.08), h, dtype=np.float32)
    rgb = np.array(colour, np.float32)[None, None, :] * ramp[:, None, None]
    return Image.fromarray(np.clip(np.broadcast_to(rgb, (h, w, 3)), 0, 255).astype(np.uint8))


def _place(canvas: Image.Image, obj: Image.Image, cx: float, cy: float) -> None:
    canvas.alpha_composite(obj, (round(cx - obj.width / 2), round(cy - obj.height / 2)))


def _add_frame(img: Image.Image, rng: np.random.Generator, family: str) -> Image.Image:
    """Frame for paintings; white mat and thin frame for works on paper."""
    w, h = img.size
    if family == "painting":
        band = max(3, round(rng.uniform(0.03, 0.08) * max(w, h)))
        colour = _FRAMES[int(rng.integers(len(_FRAMES)))]
        framed = Image.new("RGBA", (w + 2 * band, h + 2 * band), (*colour, 255))
        draw = ImageDraw.Draw(framed)
        light = tuple(min(255, v + 45) for v in colour)
        dark = tuple(max(0, v - 40) for v in colour)
        draw.rectangle((0, 0, w + 2 * band - 1, h + 2 * band - 1), outline=light, width=2)
        draw.rectangle((band - 3, band - 3, w + band + 2, h + band + 2), outline=dark, width=3)
    else:
        band = max(3, round(rng.uniform(0.06, 0.14) * max(w, h)))
        framed = Image.new("RGBA", (w + 2 * band, h + 2 * band), (244, 242, 236, 255))
        edge = max(2, band // 6)
        ImageDraw.Draw(framed).rectangle(
            (0, 0, w + 2 * band - 1, h + 2 * band - 1), outline=(20, 20, 20), width=edge
        )
    framed.alpha_composite(img.convert("RGBA"), (band, band))
    return framed


def _back_of_work(art: Artwork, long_side: int, rng: np.random.Generator) -> Image.Image:
    """Verso view (the collection photographs many): canvas back or paper seen from behind."""
    w, h = _size(art["aspect"], long_side)
    if art["family"] == "print":
        ghost = (
            draw_artwork(art, long_side).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        )
        # paper + 0.15 * (ghost - paper) in numpy: Image.blend's float32 arithmetic may be
        # compiled into a fused multiply-add on arm64, which moves exact ties between bytes.
        paper = np.broadcast_to(np.asarray(art["paper"], np.float32), (h, w, 3))
        show_through = np.asarray(ghost, np.float32) - paper
        blended = paper + np.float32(0.15) * show_through
        return Image.fromarray(blended.astype(np.uint8), "RGB").convert("RGBA")
    linen = _hsv(rng.uniform(0.07, 0.11), rng.uniform(0.2, 0.4), rng.uniform(0.55, 0.8))
    img = Image.new("RGB", (w, h), linen)
    draw = ImageDraw.Draw(img)
    bar = max(3, round(0.06 * min(w, h)))
    wood = (120, 86, 52)
    draw.rectangle((0, 0, w - 1, h - 1), outline=wood, width=bar)
    draw.rectangle((w // 2 - bar // 2, 0, w // 2 + bar // 2, h), fill=wood)
    lx, ly = rng.uniform(0.15, 0.6) * w, rng.uniform(0.15, 0.6) * h
    draw.rectangle((lx, ly, lx + 0.25 * w, ly + 0.12 * h), fill=(238, 234, 222))
    return img.convert("RGBA")


def exhibit_image(
    art: Artwork, view: int, n_views: int, rng: np.random.Generator, max_side: int
) -> Image.Image:
    """Studio photograph number ``view`` of ``n_views`` of an exhibit (RGB, long side max_side).

    View 0 is the canonical frontal record; further views are details, other sides and, for flat
    works, framed, angled or verso shots, as in the open-access collection photographs.
    """
    if art["family"] in FLAT_FAMILIES:
        kind = (
            "front"
            if view == 0
            else str(rng.choice(["detail", "angled", "framed", "back"], p=[0.45, 0.25, 0.2, 0.1]))
        )
        if kind == "detail":
            zoom = rng.uniform(1.5, 2.8)
            full = draw_artwork(art, round(max_side * zoom)).convert("RGB")
            w, h = _size(rng.uniform(0.7, 1.4), max_side)
            w, h = min(w, full.width), min(h, full.height)
            x0 = int(rng.integers(0, max(1, full.width - w)))
            y0 = int(rng.integers(0, max(1, full.height - h)))
            return full.crop((x0, y0, x0 + w, y0 + h))
        if kind == "back":
            obj = _back_of_work(art, max_side, rng)
        else:
            obj = draw_artwork(art, max_side)
            if kind == "framed":
                obj = _add_frame(obj, rng, art["family"])
        margin = rng.uniform(0.0, 0.04) if kind == "front" else rng.uniform(0.04, 0.12)
        obj = obj.resize(_size(obj.height / obj.width, round(max_side * (1 - 2 * margin))))
        if kind == "angled":
            obj = _tilt(obj, rng.uniform(0.05, 0.18) * rng.choice([-1, 1]))
        w, h = _size(obj.height / obj.width, max_side)
        canvas = _backdrop(w, h, art["studio"], rng).convert("RGBA")
        _place(canvas, obj, w / 2, h / 2)
        return canvas.convert("RGB")

    angle = 2 * math.pi * view / n_views + rng.normal(0, 0.25)
    if view > 0 and rng.random() < 0.15:  # detail of the surface
        full = draw_artwork(art, round(max_side * 2.2), angle)
        box = full.getbbox() or (0, 0, full.width, full.height)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        w, h = min(max_side, full.width), min(max_side, full.height)
        canvas = _backdrop(full.width, full.height, art["studio"], rng).convert("RGBA")
        canvas.alpha_composite(full)
        x0 = round(np.clip(cx - w / 2 + rng.normal(0, w / 8), 0, full.width - w))
        y0 = round(np.clip(cy - h / 2 + rng.normal(0, h / 8), 0, full.height - h))
        return canvas.crop((x0, y0, x0 + w, y0 + h)).convert("RGB")
    obj = draw_artwork(art, round(max_side * rng.uniform(0.72, 0.9)), angle)
    w, h = _size(float(np.clip(obj.height / obj.width, 0.6, 1.6)), max_side)
    canvas = _backdrop(w, h, art["studio"], rng).convert("RGBA")
    cy = h / 2 + rng.normal(0, 0.02 * h)
    shadow = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    foot_y = cy + obj.height / 2
    ImageDraw.Draw(shadow).ellipse(
        (w / 2 - obj.width * 0.45, foot_y - 0.03 * h, w / 2 + obj.width * 0.45, foot_y + 0.02 * h),
        fill=(0, 0, 0, 70),
    )
    canvas.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(max(1, max_side / 60))))
    _place(canvas, obj, w / 2, cy)
    return canvas.convert("RGB")


# --------------------------------------------------------------------------------------------
# Camera: perspective, lighting, blur and noise of a hand-held photo.


def _perspective_coeffs(
    src: list[tuple[float, float]], dst: list[tuple[float, float]]
) -> list[float]:
    """PIL PERSPECTIVE coefficients sending output points ``dst`` to input points ``src``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend([u, v])
    return dm.solve(rows, rhs).tolist()


def _tilt(obj: Image.Image, amount: float) -> Image.Image:
    """Turn a flat RGBA object about its vertical axis: one side foreshortened."""
    w, h = obj.size
    shrink = abs(amount) * h
    if amount > 0:
        src = [(0, 0), (w, 0), (w, h), (0, h)]
        dst = [(0, 0), (w, shrink), (w, h - shrink), (0, h)]
    else:
        src = [(0, 0), (w, 0), (w, h), (0, h)]
        dst = [(0, shrink), (w, 0), (w, h), (0, h - shrink)]
    coeffs = _perspective_coeffs(src, dst)
    return obj.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)


_GAMMA_STEPS = 4096


def _gamma(values: np.ndarray, gamma: float) -> np.ndarray:
    """``values ** gamma`` for float32 values in [0, 1], from a table of 4097 exact powers.

    The table comes from ``detmath.power`` (identical on every CPU) and is interpolated
    linearly (error below 1e-4): a few basic operations per value instead of an exp and a log.
    """
    table = dm.power(np.arange(_GAMMA_STEPS + 1) / _GAMMA_STEPS, gamma).astype(np.float32)
    slopes = table[1:] - table[:-1]
    position = values * np.float32(_GAMMA_STEPS)
    index = position.astype(np.int32)  # truncation: the floor of a non-negative value
    np.minimum(index, _GAMMA_STEPS - 1, out=index)
    fraction = position - index.astype(np.float32)
    return np.take(table, index) + fraction * np.take(slopes, index)


def _camera(
    scene: Image.Image, max_side: int, rng: np.random.Generator, strength: float = 1.0
) -> Image.Image:
    """Hand-held photo of ``scene``: random homography, light, blur, noise; long side max_side."""
    W, H = scene.size
    out_w, out_h = _size(H / W, max_side)
    j = 0.14 * strength * min(W, H)
    quad = [
        (rng.uniform(0, j), rng.uniform(0, j)),
        (W - rng.uniform(0, j), rng.uniform(0, j)),
        (W - rng.uniform(0, j), H - rng.uniform(0, j)),
        (rng.uniform(0, j), H - rng.uniform(0, j)),
    ]
    corners = [(0, 0), (out_w, 0), (out_w, out_h), (0, out_h)]
    img = scene.convert("RGB").transform(
        (out_w, out_h),
        Image.Transform.PERSPECTIVE,
        _perspective_coeffs(quad, corners),
        Image.Resampling.BICUBIC,
    )
    radius = rng.uniform(0, 1.3) * strength * max_side / 300
    if radius > 0.3:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    a = np.asarray(img, np.float32) / 255.0
    warm = rng.uniform(-0.15, 0.18) * strength  # tungsten or daylight cast
    gains = np.array([1 + warm, 1.0, 1 - warm], np.float32)
    contrast = rng.uniform(1 - 0.25 * strength, 1 + 0.15 * strength)
    brightness = rng.uniform(1 - 0.35 * strength, 1 + 0.2 * strength)
    a = ((a - 0.5) * contrast + 0.5) * brightness * gains
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    cx, cy = rng.uniform(0, out_w), rng.uniform(0, out_h)
    falloff = dm.hypot(xx - cx, yy - cy) / float(dm.hypot(out_w, out_h))
    a *= (1 - rng.uniform(0, 0.8) * strength * falloff * falloff)[..., None]  # spotlight
    a = _gamma(np.clip(a, 0, 1), rng.uniform(0.85, 1.2))
    a += rng.normal(0, rng.uniform(0.004, 0.03) * strength, a.shape).astype(np.float32)
    return Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8))


# --------------------------------------------------------------------------------------------
# Visitor photos (Met queries, other-art distractors) and non-art photos.


def _textured(w: int, h: int, colour: Colour, rng: np.random.Generator, amp: float) -> np.ndarray:
    base = np.array(colour, np.float32)[None, None, :]
    noise = _smooth_noise(int(rng.integers(2**31)), w, h, cells=5)[..., None]
    return base * (1 - amp + 2 * amp * noise)


def _wall(w: int, h: int, rng: np.random.Generator, floor: float | None) -> Image.Image:
    wall = _WALLS[int(rng.choice(len(_WALLS), p=_WALL_WEIGHTS))]
    rgb = _textured(w, h, wall, rng, 0.06)
    if floor is not None:
        y = round(floor * h)
        floor_colour = _hsv(rng.uniform(0.05, 0.1), rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.6))
        rgb[y:] = _textured(w, h - y, floor_colour, rng, 0.1)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).convert("RGBA")


def _neighbour_work(rng: np.random.Generator, long_side: int) -> Image.Image:
    """A nearby exhibit in the background, out of focus: a framed blur of colour."""
    w, h = _size(rng.uniform(0.6, 1.5), long_side)
    img = Image.new("RGB", (w, h), _hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.3, 0.9)))
    draw = ImageDraw.Draw(img)
    for _ in range(3):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        colour = _hsv(rng.random(), rng.uniform(0.1, 0.8), rng.uniform(0.2, 0.95))
        draw.rectangle(
            (x0, y0, x0 + rng.uniform(0.2, 0.6) * w, y0 + rng.uniform(0.2, 0.6) * h), fill=colour
        )
    return _add_frame(img.filter(ImageFilter.GaussianBlur(long_side / 25)), rng, "painting")


def _people(canvas: Image.Image, rng: np.random.Generator, n: int, dark: bool) -> None:
    """Visitors or passers-by: head and body blobs rising from the bottom edge."""
    w, h = canvas.size
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(n):
        x = (
            rng.choice([rng.uniform(-0.1, 0.25), rng.uniform(0.75, 1.1)]) * w
            if dark
            else rng.uniform(0, w)
        )
        size = rng.uniform(0.2, 0.45) * h
        top = h - size * rng.uniform(0.8, 1.5)
        if dark:
            skin = body = (int(rng.integers(10, 50)),) * 3
        else:
            skin = _SKIN[int(rng.integers(len(_SKIN)))]
            body = _hsv(rng.random(), rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.9))
        head = size * 0.22
        draw.ellipse((x - head / 2, top, x + head / 2, top + head * 1.2), fill=(*skin, 255))
        draw.rounded_rectangle(
            (x - size * 0.25, top + head * 1.1, x + size * 0.25, h + size),
            radius=size * 0.12,
            fill=(*body, 255),
        )
    canvas.alpha_composite(layer)


def visitor_photo(art: Artwork, rng: np.random.Generator, max_side: int) -> Image.Image:
    """A museum visitor's photo of ``art``: gallery setting, other exhibits, people, camera."""
    flat = art["family"] in FLAT_FAMILIES
    long_side = round(max_side * 1.25)
    # Visitors frame the exhibit they photograph; sometimes only part of it fits.
    partial = rng.random() < 0.15
    fraction = rng.uniform(1.1, 1.5) if partial else rng.uniform(0.7, 1.0)
    if flat:
        obj = draw_artwork(art, max(16, round(fraction * long_side * 0.9)))
        if art["family"] != "textile" and rng.random() < 0.85:
            obj = _add_frame(obj, rng, art["family"])
    else:
        angle = rng.uniform(0, 2 * math.pi)
        obj = draw_artwork(art, max(16, round(fraction * long_side * 0.85)), angle)
    # Portrait photos of tall works, landscape of wide ones, mostly.
    shape = obj.height / obj.width
    aspect = 1.333 if shape > 1.15 else 0.75 if shape < 0.87 else 1.0
    if rng.random() < 0.25:
        aspect = float(rng.choice([0.75, 1.0, 1.333]))
    W, H = _size(aspect, long_side)
    fit = min(1.0, fraction * W / obj.width, fraction * H / obj.height)
    obj = obj.resize((max(8, round(obj.width * fit)), max(8, round(obj.height * fit))))

    floor = rng.uniform(0.72, 0.88) if (not flat or rng.random() < 0.35) else None
    canvas = _wall(W, H, rng, floor)
    for _ in range(int(rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2]))):
        side = rng.choice([rng.uniform(-0.05, 0.12), rng.uniform(0.88, 1.05)])
        neighbour = _neighbour_work(rng, round(rng.uniform(0.2, 0.45) * min(W, H)))
        _place(canvas, neighbour, side * W, rng.uniform(0.3, 0.5) * H)

    cx = W / 2 + rng.normal(0, 0.06 * W)
    if flat:
        cy = H / 2 + rng.normal(0, 0.06 * H)
        _place(canvas, obj, cx, cy)
        if rng.random() < 0.5:  # wall label
            lx, ly = cx + obj.width / 2 + 0.03 * W, cy + obj.height * 0.3
            label = (lx, ly, lx + 0.06 * W, ly + 0.04 * H)
            ImageDraw.Draw(canvas).rectangle(label, fill=(240, 238, 232))
        if rng.random() < 0.3:  # glare on the glazing
            glare = Image.new("RGBA", (W, H), (0, 0, 0, 0))
            gx, gy = cx + rng.normal(0, obj.width / 4), cy + rng.normal(0, obj.height / 4)
            r = rng.uniform(0.05, 0.15) * W
            ImageDraw.Draw(glare).ellipse(
                (gx - r, gy - r / 2, gx + r, gy + r / 2), fill=(255, 255, 255, 110)
            )
            canvas.alpha_composite(glare.filter(ImageFilter.GaussianBlur(r / 3)))
    else:
        plinth_top = min(0.95 * H, H / 2 + obj.height / 2 + rng.normal(0, 0.04 * H))
        plinth = _hsv(0, 0, float(rng.choice([0.92, 0.75, 0.12])))
        pw = max(obj.width * 1.1, 0.2 * W)
        ImageDraw.Draw(canvas).rectangle((cx - pw / 2, plinth_top, cx + pw / 2, H), fill=plinth)
        _place(canvas, obj, cx, plinth_top - obj.height / 2 + 2)
        if rng.random() < 0.3:  # vitrine: diagonal reflections on the glass
            glass = Image.new("RGBA", (W, H), (0, 0, 0, 0))
            draw = ImageDraw.Draw(glass)
            for _ in range(int(rng.integers(1, 4))):
                x0 = rng.uniform(-0.2, 1.0) * W
                dx = rng.uniform(0.03, 0.1) * W
                draw.polygon(
                    [(x0, 0), (x0 + dx, 0), (x0 + dx + 0.3 * W, H), (x0 + 0.3 * W, H)],
                    fill=(255, 255, 255, 45),
                )
            canvas.alpha_composite(glass)
    if rng.random() < 0.2:
        _people(canvas, rng, int(rng.integers(1, 3)), dark=True)
    return _camera(canvas, max_side, rng)


def _landscape(w: int, h: int, rng: np.random.Generator) -> Image.Image:
    horizon = rng.uniform(0.35, 0.7) * h
    sky_top = np.array(
        _hsv(rng.uniform(0.55, 0.65), rng.uniform(0.3, 0.8), rng.uniform(0.6, 1)), np.float32
    )
    sky_low = np.array(
        _hsv(rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.4), rng.uniform(0.8, 1)), np.float32
    )
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    rgb = np.broadcast_to(sky_top * (1 - ramp) + sky_low * ramp, (h, w, 3))
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for layer in range(int(rng.integers(1, 4))):
        ridge = horizon - rng.uniform(0.05, 0.3) * h / (layer + 1)
        xs = np.linspace(0, w, 9)
        ys = ridge + rng.normal(0, 0.06 * h, 9)
        colour = _hsv(rng.uniform(0.25, 0.7), rng.uniform(0.1, 0.5), rng.uniform(0.25, 0.7))
        draw.polygon([*zip(xs.tolist(), ys.tolist(), strict=True), (w, h), (0, h)], fill=colour)
    ground = _hsv(rng.uniform(0.12, 0.35), rng.uniform(0.3, 0.8), rng.uniform(0.2, 0.6))
    draw.rectangle((0, horizon, w, h), fill=ground)
    for _ in range(int(rng.integers(0, 8))):  # trees, bushes
        x, y, r = rng.uniform(0, w), rng.uniform(horizon, h), rng.uniform(0.03, 0.12) * h
        draw.ellipse(
            (x - r, y - 2 * r, x + r, y),
            fill=_hsv(rng.uniform(0.22, 0.4), 0.6, rng.uniform(0.15, 0.45)),
        )
    return img


def _architecture(w: int, h: int, rng: np.random.Generator) -> Image.Image:
    sky = _hsv(rng.uniform(0.55, 0.65), rng.uniform(0.1, 0.6), rng.uniform(0.7, 1))
    img = Image.new("RGB", (w, h), sky)
    draw = ImageDraw.Draw(img)
    x = -rng.uniform(0, 0.2) * w
    while x < w:
        bw = rng.uniform(0.15, 0.45) * w
        top = rng.uniform(0.05, 0.5) * h
        facade = _hsv(rng.uniform(0, 0.15), rng.uniform(0.05, 0.4), rng.uniform(0.35, 0.9))
        draw.rectangle((x, top, x + bw, h), fill=facade)
        win = _hsv(rng.uniform(0.5, 0.65), rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.5))
        step = rng.uniform(0.04, 0.08) * w
        for wx in np.arange(x + step / 2, x + bw - step / 2, step):
            for wy in np.arange(top + step / 2, h - step, step * 1.3):
                draw.rectangle((wx, wy, wx + step * 0.5, wy + step * 0.7), fill=win)
        x += bw + rng.uniform(0, 0.05) * w
    return img


def _text_page(w: int, h: int, rng: np.random.Generator) -> Image.Image:
    paper = _hsv(rng.uniform(0, 1), rng.uniform(0, 0.3), rng.uniform(0.75, 1))
    img = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(img)
    ink = _hsv(rng.uniform(0, 1), rng.uniform(0, 0.9), rng.uniform(0, 0.45))
    size = max(6, round(rng.uniform(0.025, 0.08) * h))
    font = ImageFont.load_default(size=size)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    y = rng.uniform(0.02, 0.1) * h
    while y < h:
        words = [
            "".join(rng.choice(letters, int(rng.integers(2, 9))))
            for _ in range(int(rng.integers(2, 10)))
        ]
        draw.text((rng.uniform(0.02, 0.1) * w, y), " ".join(words), fill=ink, font=font)
        y += size * rng.uniform(1.3, 1.8)
    return img


def _abstract(w: int, h: int, rng: np.random.Generator) -> Image.Image:
    """Skies, water, walls, close-ups: smooth colour fields with some texture."""
    a, b = (
        np.array(_hsv(rng.random(), rng.uniform(0, 0.8), rng.uniform(0.2, 1)), np.float32)
        for _ in range(2)
    )
    mix = _smooth_noise(int(rng.integers(2**31)), w, h, cells=int(rng.integers(2, 9)))[..., None]
    fine = _smooth_noise(int(rng.integers(2**31)), w, h, cells=int(rng.integers(20, 60)))[..., None]
    rgb = (a * (1 - mix) + b * mix) * (0.85 + 0.3 * fine)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def non_art_photo(rng: np.random.Generator, max_side: int) -> Image.Image:
    """A photo that depicts no artwork (landscape, people, text, texture, buildings)."""
    kind = str(rng.choice(NON_ART_KINDS))
    W, H = _size(float(rng.choice([0.75, 1.0, 1.333])), round(max_side * 1.25))
    if kind == "landscape":
        scene = _landscape(W, H, rng)
    elif kind == "architecture":
        scene = _architecture(W, H, rng)
    elif kind == "text":
        scene = _text_page(W, H, rng)
    elif kind == "abstract":
        scene = _abstract(W, H, rng)
    else:
        background = (_landscape, _architecture, _abstract)[int(rng.integers(3))]
        scene = background(W, H, rng).convert("RGBA")
        _people(scene, rng, int(rng.integers(1, 6)), dark=False)
    return _camera(scene.convert("RGB"), max_side, rng)


def other_art_photo(art: Artwork, rng: np.random.Generator, max_side: int) -> Image.Image:
    """An artwork outside the collection: a gallery snapshot or a reproduction-like record."""
    if rng.random() < 0.5:
        return visitor_photo(art, rng, max_side)
    studio = exhibit_image(art, 0, 1, rng, round(max_side * 1.25))
    return _camera(studio, max_side, rng, strength=0.5)


# --------------------------------------------------------------------------------------------
# Dataset layout.


def _views_per_exhibit(rng: np.random.Generator, n: int, single_share: float) -> np.ndarray:
    """Long-tailed 1..10 views per exhibit: P(1) = single_share, P(k) ~ k^-1.6 for k >= 2."""
    tail = dm.power(np.arange(2, MAX_IMAGES_PER_CLASS + 1, dtype=float), -1.6)
    probs = np.concatenate([[single_share], (1 - single_share) * tail / tail.sum()])
    return rng.choice(np.arange(1, MAX_IMAGES_PER_CLASS + 1), size=n, p=probs)


def _queries_per_class(rng: np.random.Generator, n_queries: int) -> list[int]:
    """Met queries per query class, summing to ``n_queries`` (most classes get one)."""
    tail = dm.power(np.arange(2, MAX_IMAGES_PER_CLASS + 1, dtype=float), -_QUERY_TAIL_EXPONENT)
    sizes: list[int] = []
    remaining = n_queries
    while remaining > 0:
        k = 1
        if rng.random() >= _SINGLE_QUERY_CLASS_P:
            k = int(rng.choice(np.arange(2, MAX_IMAGES_PER_CLASS + 1), p=tail / tail.sum()))
        sizes.append(min(k, remaining))
        remaining -= sizes[-1]
    return sizes


def _check_counts(counts: dict[str, int], max_side: int) -> None:
    for name, value in counts.items():
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if counts["n_exhibits"] < 1:
        raise ValueError("n_exhibits must be at least 1")
    if max_side < 32:
        raise ValueError(f"max_side must be at least 32 px, got {max_side}")


DATASET_FILES = ("MET_database.json", "mini_MET_database.json", "valset.json", "testset.json")


def _check_out_dir(out_dir: Path) -> None:
    """Refuse to write into a folder holding anything a generated dataset does not.

    An empty folder, an earlier dataset or one a crashed run left half-written is fine.
    """
    allowed = {"images", *DATASET_FILES, DIGEST_NAME}
    foreign = (
        sorted(p.name for p in out_dir.iterdir() if p.name not in allowed)
        if out_dir.is_dir()
        else []
    )
    if foreign or (out_dir.exists() and not out_dir.is_dir()):
        raise FileExistsError(
            f"{out_dir} holds files of no synthetic Met dataset ({', '.join(foreign[:5])}); "
            "refusing to write a synthetic Met dataset into it"
        )


def _draw_job(job: tuple, max_side: int, quality: int) -> bytes:
    """Draw one image: an exhibit view, a visitor photo or a distractor; its JPEG bytes.

    Exhibit views use ``quality``; queries a random quality in [55, 91] drawn after the image.
    """
    kind, key, art, view, n_views, _ = job
    rng = np.random.default_rng(key)
    if kind == "exhibit":
        image = exhibit_image(art, view, n_views, rng, max_side)
        return jpeg_bytes(image.convert("RGB"), quality)
    if kind == "visitor":
        image = visitor_photo(art, rng, max_side)
    elif kind == "other_art":
        image = other_art_photo(sample_artwork(rng), rng, max_side)
    else:
        image = non_art_photo(rng, max_side)
    quality = int(rng.integers(55, 92))
    return jpeg_bytes(image.convert("RGB"), quality)


def generate_met_dataset(out_dir: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
    """Write :func:`met_partitions` into ``out_dir`` (images on all cores); return the summary.

    Images an earlier run left that this one does not write are deleted. ``out_dir`` must hold
    nothing but such a dataset (or be empty).
    """
    out_dir = Path(out_dir)
    partitions, summary = met_partitions(**options)
    _check_out_dir(out_dir)
    write_partitions(out_dir, partitions, workers=None)
    images = out_dir / "images"
    remove_stale_files(images, [out_dir / key for key in partitions if key.startswith("images/")])
    return summary


def met_partitions(
    n_exhibits: int = 300,
    seed: int = 0,
    max_side: int = 500,
    n_val_queries: int = 40,
    n_test_queries: int = 120,
    n_val_other_art: int = 80,
    n_val_non_art: int = 60,
    n_test_other_art: int = 260,
    n_test_non_art: int = 200,
    similar_fraction: float = 0.12,
    single_view_share: float = REAL_SINGLE_VIEW_SHARE,
    mini_extra_fraction: float = 0.1,
    jpeg_quality: int = 90,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A synthetic Met dataset in the official layout as lazy partitions, and its summary.

    The partitions (``artrec.utils.partitions``) hold the four JSON files as bytes and each image
    ``images/<path>`` as a callable drawing it.

    ``n_*_queries`` are Met queries (visitor photos of exhibits; val and test use disjoint
    classes); ``n_*_other_art`` and ``n_*_non_art`` are distractors. ``similar_fraction`` of the
    exhibits are near-duplicates of another exhibit. The mini database holds every image of the
    query classes plus ``mini_extra_fraction`` of the other images (thesis appendix B.4).
    ``single_view_share`` is the share of exhibits with one image (paper: 60.8%).
    ``jpeg_quality`` applies to the exhibit images; queries get a random quality in [55, 91],
    as phone photos do. Every image is at most ``max_side`` pixels on its longer side.
    Deterministic for a given seed and arguments.
    """
    counts = {
        "n_exhibits": n_exhibits,
        "n_val_queries": n_val_queries,
        "n_test_queries": n_test_queries,
        "n_val_other_art": n_val_other_art,
        "n_val_non_art": n_val_non_art,
        "n_test_other_art": n_test_other_art,
        "n_test_non_art": n_test_non_art,
    }
    _check_counts(counts, max_side)
    if not 0 <= similar_fraction <= 1 or not 0 <= mini_extra_fraction <= 1:
        raise ValueError("similar_fraction and mini_extra_fraction must lie in [0, 1]")
    if not 0 < single_view_share <= 1:
        raise ValueError(f"single_view_share must lie in (0, 1], got {single_view_share}")
    layout = np.random.default_rng([seed, 0])
    val_sizes = _queries_per_class(layout, n_val_queries)
    test_sizes = _queries_per_class(layout, n_test_queries)
    if len(val_sizes) + len(test_sizes) > n_exhibits:
        raise ValueError(
            f"{len(val_sizes) + len(test_sizes)} query classes are needed (val and test must not "
            f"share classes) but there are only {n_exhibits} exhibits"
        )
    met_ids = np.sort(layout.choice(np.arange(1, 900_000), size=n_exhibits, replace=False))
    views = _views_per_exhibit(layout, n_exhibits, single_view_share)
    arts = [sample_artwork(np.random.default_rng([seed, 1, i])) for i in range(n_exhibits)]
    n_similar = round(similar_fraction * n_exhibits) if n_exhibits > 1 else 0
    for i in layout.choice(n_exhibits, size=n_similar, replace=False):
        template = int((i + layout.integers(1, n_exhibits)) % n_exhibits)
        arts[i] = perturb_artwork(arts[template], np.random.default_rng([seed, 2, int(i)]))
    order = layout.permutation(n_exhibits)
    val_classes = order[: len(val_sizes)]
    test_classes = order[len(val_sizes) : len(val_sizes) + len(test_sizes)]

    used_names: set[str] = set()

    def fresh_name(rng: np.random.Generator, folder: str) -> str:
        while True:
            name = f"{folder}/{rng.bytes(6).hex()}.jpg"
            if name not in used_names:
                used_names.add(name)
                return name

    # Images are described here as jobs, each with its own seed, drawn in any order.
    jobs: list[tuple] = []
    database: list[dict[str, Any]] = []
    for i, met_id in enumerate(met_ids.tolist()):
        for view in range(int(views[i])):
            path = f"{EXHIBIT_DIR}/{met_id}/{view}.jpg"
            jobs.append(("exhibit", [seed, 3, i, view], arts[i], view, int(views[i]), path))
            database.append({"id": met_id, "path": path})

    splits: dict[str, list[dict[str, Any]]] = {}
    summary_splits: dict[str, dict[str, int]] = {}
    for split_code, (split, classes, sizes, n_other, n_non_art) in enumerate(
        [
            ("val", val_classes, val_sizes, n_val_other_art, n_val_non_art),
            ("test", test_classes, test_sizes, n_test_other_art, n_test_non_art),
        ]
    ):
        entries: list[dict[str, Any]] = []
        names = np.random.default_rng([seed, 4, split_code])
        exhibit_of_query = [int(c) for c, k in zip(classes, sizes, strict=True) for _ in range(k)]
        for j, i in enumerate(exhibit_of_query):
            path = fresh_name(names, MET_QUERY_DIR)
            jobs.append(("visitor", [seed, 5, split_code, j], arts[i], 0, 0, path))
            entries.append({"path": path, "MET_id": int(met_ids[i])})
        for j in range(n_other):
            path = fresh_name(names, OTHER_ART_DIR)
            jobs.append(("other_art", [seed, 6, split_code, j], None, 0, 0, path))
            entries.append({"path": path})
        for j in range(n_non_art):
            path = fresh_name(names, NON_ART_DIR)
            jobs.append(("non_art", [seed, 7, split_code, j], None, 0, 0, path))
            entries.append({"path": path})
        shuffle = names.permutation(len(entries))
        splits[split] = [entries[k] for k in shuffle]
        summary_splits[split] = {
            "met": len(exhibit_of_query),
            "other_art": n_other,
            "non_art": n_non_art,
            "classes": len(sizes),
        }

    partitions: dict[str, Any] = {
        f"images/{job[-1]}": functools.partial(
            _draw_job, job, max_side=max_side, quality=jpeg_quality
        )
        for job in jobs
    }
    query_ids = {int(met_ids[i]) for i in np.concatenate([val_classes, test_classes])}
    keep_extra = layout.random(len(database)) < mini_extra_fraction
    mini = [
        e for e, extra in zip(database, keep_extra, strict=True) if e["id"] in query_ids or extra
    ]

    partitions["MET_database.json"] = json_bytes(database)
    partitions["mini_MET_database.json"] = json_bytes(mini)
    partitions["valset.json"] = json_bytes(splits["val"])
    partitions["testset.json"] = json_bytes(splits["test"])

    families = [a["family"] for a in arts]
    return partitions, {
        "seed": seed,
        "max_side": max_side,
        "n_exhibits": n_exhibits,
        "n_train_images": len(database),
        "single_image_class_share": float(np.mean(views == 1)),
        "n_similar_exhibits": n_similar,
        "families": {f: families.count(f) for f in FAMILIES},
        "mini_images": len(mini),
        "mini_classes": len({e["id"] for e in mini}),
        "val": summary_splits["val"],
        "test": summary_splits["test"],
    }
