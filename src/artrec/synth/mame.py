"""Synthetic MAMe-like images, museum records and datasets (no network, deterministic per seed).

Each of the 29 MAMe classes gets a procedural look built from the cues the MAMe paper (sections
3 and 5) says experts use: print line work, platemarks, canvas weave, textile weave and metal
thread glitter, metal colour and patina, marble veins, limestone grain, glazes.

Fine cues repeat about ``fine_cycles`` times along the image's shorter side. Resizing the shorter
side to ``S_hr`` (HR&VS) leaves a period of ``S_hr / fine_cycles`` px, visible from ~3 px; a
fixed ``S_lr x S_lr`` resize (LR&FS) leaves ``S_lr / fine_cycles`` px or less along each axis,
which anti-aliased resizing averages away below ~1.5 px. So pick ``fine_cycles ~ S_hr / 3.3``
with ``S_hr / S_lr >= ~2.5`` (e.g. 48 for 160 and 64). Every fine texture keeps the local mean
tone (it is zero-mean at the scale of one period), so nothing of it survives as coarse structure.

Three pairs differ ONLY in fine cues (their coarse scene comes from the same random recipe):
Engraving / Etching, Oil on canvas / Polychromed wood (its panel paintings; half of the class
are painted sculptures), Woven fabric / Silk and metal thread; Iron / Steel share shapes and
colours too. Other classes differ by colour, shape and layout, visible at any resolution.

Two writers produce files: ``generate_museum_records`` (raw, uncurated museum records with messy
medium strings, grey-scale and too-small images) and ``write_mame_dataset`` (a ready dataset in
the official MAMe file format).
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageFilter

from artrec.curation.mame import MAME_LABELS
from artrec.synth import detmath as dm
from artrec.synth import textures as tx
from artrec.synth.mame_sizes import (
    MUSEUM_COUNTS,
    MUSEUMS,
    PAPER_MIN_PRODUCT_SIZE,
    sample_image_size,
)
from artrec.utils.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text

# The 29 classes in the official order of MAMe_labels.csv (label index = position).
MAME_CLASSES: tuple[str, ...] = MAME_LABELS

DATASET_COLUMNS: tuple[str, ...] = (
    "Image file",
    "Medium",
    "Museum",
    "Museum-based instance ID",
    "Subset",
    "Width",
    "Height",
    "Product size",
    "Aspect ratio",
)
RECORD_COLUMNS: tuple[str, ...] = ("Image file", "Museum", "Museum-based instance ID", "Medium")
SUBSETS: tuple[str, ...] = ("train", "val", "test")

# The official MAMe_dataset.csv spells this one class with a trailing space (MAMe_labels.csv
# does not); the synthetic file copies the quirk so readers are tested against it.
DATASET_CSV_SPELLING: dict[str, str] = {"Woven fabric": "Woven fabric "}

# Fine textures repeat this many times along the image's shorter side (+-10% per image); suits
# S_hr = 160 px against S_lr = 64 px (periods ~3.3 px and ~1.3 px).
DEFAULT_FINE_CYCLES = 48.0
# Below this native period a texture cannot be drawn; small images get fewer, coarser cycles.
MIN_PERIOD_PX = 3.0
# Channel spread (of 1) the most colourful 1% of a colour picture's pixels must reach.
_MIN_COLOUR_SPREAD = 0.07

RECORDS_CSV_NAME = "museum_records.csv"
RECORDS_REPORT_NAME = "museum_records_report.json"
DATASET_CSV_NAME = "MAMe_dataset.csv"
LABELS_CSV_NAME = "MAMe_labels.csv"

# Raw medium strings as museums publish them, grouped by the MAMe class expert curation gives
# them (paper section 3.2): written variants (case, spacing, punctuation, spelling), synonyms,
# subtypes merged into a parent, and combinations named after their main medium. Every string
# belongs to exactly one class; the first entry is the clean class name.
RAW_MEDIUM_VARIANTS: dict[str, list[str]] = {
    "Albumen photograph": [
        "Albumen photograph",
        "Albumen print",
        "albumen silver print",
        "Albumen silver print from glass negative",
        "Albumen print, mounted on card",
    ],
    "Bronze": ["Bronze", "bronze", "Bronze ", "BRONZE", "Cast bronze", "Bronze, lost-wax cast"],
    "Ceramic": [
        "Ceramic",
        "ceramic",
        "Pottery",
        "Earthenware",
        "Stoneware",
        "Terracotta",
        "Terra-cotta",
        "Glazed earthenware",
    ],
    "Clay": ["Clay", "clay", "Unbaked clay", "Clay; unbaked", "Mud"],
    "Engraving": [
        "Engraving",
        "engraving",
        "Engraving;",
        "Line engraving",
        "Engraving and etching",
    ],
    "Etching": [
        "Etching",
        "Etching ",
        "etching",
        "Etching and engraving",
        "Etching and drypoint",
        "Etching; first state",
    ],
    "Faience": [
        "Faience",
        "faience",
        "Egyptian faience",
        "Tin-glazed earthenware (faience)",
        "Faïence",
    ],
    "Glass": ["Glass", "glass", "Blown glass", "Mold-blown glass", "Glass, free-blown"],
    "Gold": ["Gold", "gold", "Gold ", "Hammered gold", "Gold; repoussé"],
    "Graphite": [
        "Graphite",
        "Graphite on paper",
        "graphite",
        "Graphite on off-white wove paper",
        "Pencil (graphite)",
    ],
    "Hand-colored engraving": [
        "Hand-colored engraving",
        "Hand colored engraving",
        "Hand-coloured engraving",
        "Engraving, hand-colored",
        "Engraving with hand coloring",
    ],
    "Hand-colored etching": [
        "Hand-colored etching",
        "Hand colored etching",
        "hand-colored etching",
        "Hand-coloured etching",
        "Etching, hand-colored",
    ],
    "Iron": ["Iron", "iron", "Wrought iron", "Cast iron", "Iron, forged"],
    "Ivory": ["Ivory", "ivory", "Elephant ivory", "Walrus ivory", "Watercolor on ivory"],
    "Limestone": ["Limestone", "limestone", "Limestone ", "Painted limestone", "Lime stone"],
    "Lithograph": [
        "Lithograph",
        "lithograph",
        "Lithograph ",
        "Color lithograph",
        "Lithograph on chine collé",
        "Litograph",
    ],
    "Marble": ["Marble", "marble", "Marble ", "White marble", "Pentelic marble"],
    "Oil on canvas": [
        "Oil on canvas",
        "oil on canvas",
        "Oil on canvas ",
        "Oil on Canvas",
        "Oil on canvas, mounted on board",
        "Oil on canvas, lined",
    ],
    "Pen and brown ink": [
        "Pen and brown ink",
        "pen and brown ink",
        "Pen and brown ink, brush and brown wash",
        "Pen and brown ink on paper",
        "Pen & brown ink",
    ],
    "Polychromed wood": [
        "Polychromed wood",
        "Polychrome wood",
        "polychromed wood",
        "Painted wood",
        "Oil on wood",
        "Tempera on wood",
        "Oil on oak panel",
    ],
    "Porcelain": [
        "Porcelain",
        "porcelain",
        "Hard-paste porcelain",
        "Soft-paste porcelain",
        "Hard-paste porcelain ",
        "Porcelain, underglaze blue",
    ],
    "Silk and metal thread": [
        "Silk and metal thread",
        "Silk, metal thread",
        "silk and metal thread",
        "Silk and metallic thread",
        "Silk and metal-wrapped thread",
    ],
    "Silver": ["Silver", "silver", "Silver ", "Sterling silver", "Silver, partially gilded"],
    "Steel": ["Steel", "steel", "Steel ", "Etched steel", "Steel, gold"],
    "Wood": ["Wood", "wood", "Oak", "Boxwood", "Limewood", "Walnut"],
    "Wood engraving": [
        "Wood engraving",
        "Wood-engraving",
        "wood engraving",
        "Wood engraving on paper",
        "Engraving on wood (end-grain)",
    ],
    "Woodblock": [
        "Woodblock",
        "Woodblock print",
        "woodblock print",
        "Color woodblock print",
        "Woodblock print; ink and color on paper",
    ],
    "Woodcut": ["Woodcut", "woodcut", "Woodcut ", "Chiaroscuro woodcut", "Woodcut on laid paper"],
    "Woven fabric": [
        "Woven fabric",
        "Cotton",
        "Linen",
        "Silk",
        "Wool",
        "Cotton, plain weave",
        "Linen, tabby weave",
        "Woven fabric ",
    ],
}

# Media of records that belong to no MAMe class; curation must leave them unmapped. Several share
# words with MAMe classes on purpose ("Stained glass" is excluded from Glass by Table 2).
UNMAPPED_RAW_MEDIA: list[str] = [
    "Screenprint",
    "Photogravure",
    "Gelatin silver print",
    "Charcoal on paper",
    "Acrylic on canvas",
    "Stained glass",
    "Lacquered wood",
    "Jade",
]
# What an unmapped record's picture looks like (the closest MAMe look; the medium decides).
_UNMAPPED_LOOKS: dict[str, str] = {
    "Screenprint": "Woodblock",
    "Photogravure": "Albumen photograph",
    "Gelatin silver print": "Albumen photograph",
    "Charcoal on paper": "Graphite",
    "Acrylic on canvas": "Oil on canvas",
    "Stained glass": "Glass",
    "Lacquered wood": "Wood",
    "Jade": "Marble",
}

Drawer = Callable[[int, int, np.random.Generator, float], np.ndarray]


# --------------------------------------------------------------------------------------------
# Shared scene pieces
# --------------------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, options: Sequence, weights: Sequence[float] | None = None):
    probabilities = None if weights is None else np.asarray(weights) / np.sum(weights)
    return options[int(rng.choice(len(options), p=probabilities))]


def _paper(w: int, h: int, rng: np.random.Generator, base: tx.RGB = (0.93, 0.9, 0.82)):
    colour = tx.jitter_colour(base, rng, 0.035)
    mottle = tx.fractal_noise(w, h, 3.0, rng, octaves=3) - 0.5
    return tx.fill(w, h, colour) * (1.0 + 0.06 * mottle)[..., None]


def _inset_box(w: int, h: int, rng: np.random.Generator, low: float, high: float):
    short = min(w, h)
    left, top, right, bottom = (rng.uniform(low, high) * short for _ in range(4))
    return (int(left), int(top), int(w - right), int(h - bottom))


def _box_mask(w: int, h: int, box) -> np.ndarray:
    return tx.draw_mask(w, h, [("rectangle", box, 1.0)], blur=0.0)


def _figure_shapes(box, rng: np.random.Generator, value: float = 1.0) -> list[tuple]:
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


def _object_box(w: int, h: int, rng: np.random.Generator, max_aspect: float):
    """Bounding box of the photographed object: centred, with margins, at most ``max_aspect`` wide."""
    x0, y0, x1, y1 = _inset_box(w, h, rng, 0.05, 0.14)
    bw, bh = x1 - x0, y1 - y0
    if bw > max_aspect * bh:
        shrink = (bw - max_aspect * bh) / 2.0
        x0, x1 = x0 + shrink, x1 - shrink
    return (x0, y0, x1, y1)


def _shape_mask(kind: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "figure":
        shapes = _figure_shapes(_object_box(w, h, rng, 0.7), rng)
    elif kind == "vessel":
        shapes = _vessel_shapes(_object_box(w, h, rng, 1.3), rng)
    elif kind == "coin":
        shapes = _coin_shapes(_object_box(w, h, rng, 3.0), rng)
    elif kind == "blade":
        shapes = _blade_shapes(_object_box(w, h, rng, 20.0), rng)
    elif kind == "helmet":
        shapes = _helmet_shapes(_object_box(w, h, rng, 1.2), rng)
    elif kind == "plaque":
        shapes = [("rounded", _object_box(w, h, rng, 4.0), 1.0)]
    else:
        raise ValueError(f"unknown object shape {kind!r}")
    return tx.draw_mask(w, h, shapes, blur=max(0.8, min(w, h) / 400))


def _backdrop(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A museum photo backdrop: white, grey, black or tinted, with a soft vertical gradient."""
    base = _choice(
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


def _photograph_object(
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
    background = _backdrop(w, h, rng) if backdrop is None else backdrop
    shadow_shift = max(1, int(0.03 * short))
    shadow = np.roll(tx.smooth(mask, 0.05 * short), (shadow_shift, shadow_shift), axis=(0, 1))
    background = background * (1.0 - 0.35 * shadow)[..., None]
    return tx.blend(background, lit, mask)


# --------------------------------------------------------------------------------------------
# Prints, drawings and photographs
# --------------------------------------------------------------------------------------------

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
        shapes += _figure_shapes((fx, fy, fx + fw, fy + fh), rng, value=rng.uniform(0.5, 1.0))
    figures = tx.draw_mask(w, h, shapes, blur=min(w, h) / 150)
    tone = np.where(figures > 0, 0.25 + 0.65 * figures, tone)
    return np.clip(tone, 0.03, 0.92) * _box_mask(w, h, box)


def _plate_boxes(w: int, h: int, rng: np.random.Generator):
    plate = _inset_box(w, h, rng, 0.05, 0.12)
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
    plate_tone = 1.0 - rng.uniform(0.02, 0.06) * _box_mask(w, h, plate)
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
    paper = _paper(w, h, rng)
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
        rgb = rgb * _watercolour_wash(w, h, rng, _box_mask(w, h, image))
    rgb = _lettering(w, h, rng, (image[0], image[3], image[2], plate[3]), ink_colour, rgb)
    return _platemark(rgb, plate, rng)


def _draw_engraving(w, h, rng, period):
    return _intaglio(w, h, rng, period, "engraving", coloured=False)


def _draw_etching(w, h, rng, period):
    return _intaglio(w, h, rng, period, "etching", coloured=False)


def _draw_hand_colored_engraving(w, h, rng, period):
    return _intaglio(w, h, rng, period, "engraving", coloured=True)


def _draw_hand_colored_etching(w, h, rng, period):
    return _intaglio(w, h, rng, period, "etching", coloured=True)


def _draw_lithograph(w, h, rng, period):
    """Crayon on stone: soft tones made of grain (stipple), no platemark, sometimes a tint stone."""
    paper = _paper(w, h, rng, (0.94, 0.92, 0.86))
    image = _inset_box(w, h, rng, 0.06, 0.15)
    tone = tx.smooth(_print_tone(w, h, rng, image), min(w, h) / 60)
    if rng.random() < 0.4:
        tint = tx.jitter_colour(_choice(rng, [(0.88, 0.82, 0.66), (0.78, 0.82, 0.86)]), rng, 0.04)
        paper = tx.blend(paper, tint, 0.8 * _box_mask(w, h, image))
    ink = tx.grain_ink(w, h, 0.5 * period, tone, rng)
    ink_colour = tx.jitter_colour(_choice(rng, [_INK_BLACK, (0.2, 0.13, 0.1)]), rng, 0.04)
    rgb = tx.blend(paper, ink_colour, ink * rng.uniform(0.8, 1.0))
    if rng.random() < 0.3:
        rgb = rgb * _watercolour_wash(w, h, rng, _box_mask(w, h, image))
    return rgb


def _frame_line(w: int, h: int, box, width: float) -> np.ndarray:
    """A rectangular border line (the edge of a block or a ruled frame) as a mask."""
    x0, y0, x1, y1 = box
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return tx.draw_mask(w, h, [("line", corners, 1.0, width)])


def _draw_wood_engraving(w, h, rng, period):
    """End-grain wood engraving: dark blocks cut by fine white lines, a thin border, no platemark."""
    paper = _paper(w, h, rng, (0.95, 0.94, 0.9))
    image = _inset_box(w, h, rng, 0.08, 0.18)
    region = _box_mask(w, h, image)
    tone = np.clip(_print_tone(w, h, rng, image) * 1.25 + 0.1, 0.0, 0.97) * region
    x, y = tx.grid(w, h)
    angle = np.pi / 2 + rng.uniform(-0.3, 0.3)
    follow = tx.wavy_offset(x, y, angle, 10.0 * period, 1.0 * period, rng)
    white = tx.hatching(x, y, angle, period, 1.0 - tone, offset=follow)
    ink = np.maximum((1.0 - white) * region, _frame_line(w, h, image, max(1.5, min(w, h) / 200)))
    return tx.blend(paper, tx.jitter_colour(_INK_BLACK, rng, 0.03), ink)


def _draw_woodcut(w, h, rng, period):
    """Relief woodcut: bold black areas, thick outlines and coarse hatching (visible at any size)."""
    paper = _paper(w, h, rng, (0.92, 0.88, 0.78))
    image = _inset_box(w, h, rng, 0.05, 0.12)
    tone = tx.smooth(_print_tone(w, h, rng, image), min(w, h) / 50)
    x, y = tx.grid(w, h)
    coarse = period * rng.uniform(3.0, 4.5)
    hatch = tx.hatching(x, y, rng.uniform(0.0, np.pi), coarse, np.clip((tone - 0.3) * 1.5, 0, 1))
    ink = np.where(tone > 0.62, 1.0, hatch)
    outline = tx.contour_lines(tone, 0.45, max(1.5, coarse * 0.25))
    ink = np.maximum(ink, outline) * _box_mask(w, h, image)
    frame = _frame_line(w, h, image, max(2.0, coarse * 0.5))
    rgb = tx.blend(paper, tx.jitter_colour(_INK_BLACK, rng, 0.04), np.maximum(ink, frame))
    if rng.random() < 0.25:
        rgb = rgb * _watercolour_wash(w, h, rng, _box_mask(w, h, image))
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


def _draw_woodblock(w, h, rng, period):
    """Japanese colour woodblock: flat colour areas, black key-block outlines, misregistration."""
    paper = _paper(w, h, rng, (0.9, 0.84, 0.7))
    image = _inset_box(w, h, rng, 0.02, 0.08)
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
    region = _box_mask(w, h, image)
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
        rgb = tx.blend(rgb, (0.9, 0.85, 0.6), _box_mask(w, h, cart))
        rgb = _lettering(w, h, rng, cart, _INK_BLACK, rgb)
    return rgb


def _strokes(
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


def _draw_graphite(w, h, rng, period):
    """Graphite: silvery-grey smooth strokes, contours and soft shading on white paper."""
    paper = _paper(w, h, rng, (0.95, 0.94, 0.9))
    box = _inset_box(w, h, rng, 0.08, 0.2)
    short = min(w, h)
    tone = tx.smooth(_print_tone(w, h, rng, box), short / 40)
    x, y = tx.grid(w, h)
    shading = tx.hatching(x, y, rng.uniform(0, np.pi), 3.0 * period, 0.8 * tone, softness_px=period)
    contours = tx.contour_lines(tone, rng.uniform(0.35, 0.5), max(1.0, short / 250))
    lines = _strokes(w, h, rng, int(rng.integers(40, 100)), box, (1.0, max(1.5, short / 150)))
    ink = np.clip(0.6 * shading + np.maximum(contours, lines), 0, 1)
    grey = tx.jitter_colour((0.33, 0.33, 0.36), rng, 0.04)
    return tx.blend(paper, grey, ink * rng.uniform(0.7, 0.95))


def _draw_pen_and_brown_ink(w, h, rng, period):
    """Pen and brown ink with brown wash on aged paper; foxing spots."""
    paper = _paper(w, h, rng, (0.9, 0.84, 0.7))
    box = _inset_box(w, h, rng, 0.06, 0.2)
    short = min(w, h)
    ink_colour = tx.jitter_colour((0.4, 0.25, 0.12), rng, 0.06)
    wash = tx.smooth(
        np.clip(tx.value_noise(w, h, 3.0, rng) - 0.45, 0, 1) * 1.8, short / 50
    ) * _box_mask(w, h, box)
    rgb = tx.blend(paper, ink_colour, wash * rng.uniform(0.25, 0.55))
    lines = _strokes(w, h, rng, int(rng.integers(30, 90)), box, (1.0, max(2.0, short / 120)))
    rgb = tx.blend(rgb, ink_colour, lines * rng.uniform(0.75, 1.0))
    foxing = np.clip(tx.value_noise(w, h, 12.0, rng) - 0.85, 0, 1) * 4.0
    return tx.blend(rgb, (0.7, 0.5, 0.3), 0.4 * foxing)


def _draw_albumen_photograph(w, h, rng, period):
    """Albumen print: a smooth sepia photograph, faded highlights, mounted on a card."""
    card = _paper(w, h, rng, _choice(rng, [(0.9, 0.85, 0.74), (0.7, 0.72, 0.62), (0.85, 0.8, 0.8)]))
    photo = _inset_box(w, h, rng, 0.04, 0.18)
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


# --------------------------------------------------------------------------------------------
# Paintings and textiles
# --------------------------------------------------------------------------------------------

_OIL_COLOURS: tuple[tx.RGB, ...] = (
    (0.55, 0.35, 0.2),
    (0.2, 0.3, 0.55),
    (0.65, 0.15, 0.12),
    (0.3, 0.4, 0.22),
    (0.85, 0.75, 0.55),
    (0.12, 0.1, 0.08),
    (0.6, 0.7, 0.8),
)


def _painted_scene(
    w: int, h: int, rng: np.random.Generator, period: float
) -> tuple[np.ndarray, np.ndarray]:
    """A varnished painting (landscape, portrait or interior), maybe in a gilt frame.

    Returns the picture and the mask of the painted surface (where the support texture shows).
    """
    short = min(w, h)
    x, y = tx.grid(w, h)
    kind = _choice(rng, ["landscape", "portrait", "interior"])
    if kind == "landscape":
        horizon = rng.uniform(0.35, 0.7) * h + (tx.value_noise(w, 1, 3.0, rng) - 0.5) * 0.15 * h
        sky = tx.jitter_colour(
            _choice(rng, [(0.55, 0.65, 0.8), (0.8, 0.7, 0.5), (0.6, 0.6, 0.6)]), rng, 0.05
        )
        ground = tx.jitter_colour(
            _choice(rng, [(0.35, 0.4, 0.2), (0.45, 0.35, 0.2), (0.25, 0.3, 0.2)]), rng, 0.05
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
            _choice(rng, [(0.15, 0.12, 0.1), (0.3, 0.25, 0.18), (0.25, 0.28, 0.22)]), rng, 0.05
        )
        rgb = tx.fill(w, h, wall) * (0.8 + 0.4 * tx.value_noise(w, h, 1.5, rng))[..., None]
        box = _object_box(w, h, rng, 0.9 if kind == "portrait" else 2.0)
        garment = tx.jitter_colour(_choice(rng, _OIL_COLOURS), rng, 0.06)
        if kind == "portrait":
            x0, y0, x1, y1 = box
            body = _figure_shapes((x0, y0, x1, y1 + (y1 - y0) * 0.6), rng)
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
        inner = _inset_box(w, h, rng, 0.06, 0.1)
        surface = _box_mask(w, h, inner)
        gilt = tx.ramp(
            tx.fractal_noise(w, h, 12.0, rng, octaves=2), (0.35, 0.25, 0.08), (0.9, 0.75, 0.35)
        )
        rgb = tx.blend(gilt, rgb, surface)
    return rgb, surface


def _craquelure(w: int, h: int, rng: np.random.Generator, period: float) -> np.ndarray:
    """Fine crack network of an aged paint layer (both supports crack)."""
    field = tx.value_noise(w, h, min(w, h) / (3.0 * period), rng)
    return tx.contour_lines(field, 0.5, 0.3 * period)


def _draw_oil_on_canvas(w, h, rng, period):
    """Painting whose only support cue is the canvas weave (a fine plain weave under the paint)."""
    rgb, surface = _painted_scene(w, h, rng, period)
    rgb = rgb * (1.0 - 0.2 * _craquelure(w, h, rng, period) * surface)[..., None]
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


def _draw_polychromed_wood(w, h, rng, period):
    """Painted wood: a panel painting (fine wood grain under the paint) or a painted sculpture."""
    if rng.random() < 0.5:
        rgb, surface = _painted_scene(w, h, rng, period)
        rgb = rgb * (1.0 - 0.2 * _craquelure(w, h, rng, period) * surface)[..., None]
        grain = _panel_grain(w, h, rng, period)
        return rgb * (1.0 + rng.uniform(0.24, 0.4) * grain * surface)[..., None]
    mask = _shape_mask(_choice(rng, ["figure", "figure", "plaque"]), w, h, rng)
    colours = np.asarray(
        [
            tx.jitter_colour(_choice(rng, _OIL_COLOURS + ((0.85, 0.68, 0.3),)), rng, 0.05)
            for _ in range(3)
        ],
        dtype=np.float32,
    )
    fields = np.stack([tx.value_noise(w, h, 3.0, rng) for _ in range(3)], axis=-1)
    albedo = colours[fields.argmax(axis=-1)]
    losses = np.clip((tx.value_noise(w, h, 8.0, rng) - 0.75) * 6.0, 0, 1)
    albedo = tx.blend(albedo, (0.5, 0.35, 0.2), losses)
    albedo = albedo * (1.0 + 0.3 * _panel_grain(w, h, rng, period))[..., None]
    return _photograph_object(w, h, rng, mask, albedo, gloss=0.15, shininess=10)


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
    style = _choice(rng, ["stripes", "medallions", "floral"])
    if style == "stripes":
        repeat = short * rng.uniform(0.08, 0.25)
        angle = _choice(rng, [0.0, np.pi / 2, np.pi / 4])
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
        box = _inset_box(w, h, rng, 0.03, 0.1)
        fragment = tx.smooth(_box_mask(w, h, box), short / 40)
        fragment = np.clip((fragment + 0.3 * (edge - 0.5) - 0.5) * 12.0, 0, 1)
        board = tx.fill(
            w, h, tx.jitter_colour(_choice(rng, [(0.8, 0.77, 0.7), (0.55, 0.55, 0.55)]), rng, 0.03)
        )
        rgb = tx.blend(board, rgb, fragment)
    return rgb


def _draw_woven_fabric(w, h, rng, period):
    return _textile(w, h, rng, period, metal=False)


def _draw_silk_and_metal_thread(w, h, rng, period):
    return _textile(w, h, rng, period, metal=True)


# --------------------------------------------------------------------------------------------
# Objects: metals, stone, ceramics, glass, wood, ivory
# --------------------------------------------------------------------------------------------


def _object(
    w, h, rng, shapes: Mapping[str, float], colour: tx.RGB, jitter: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pick a silhouette from ``shapes`` (kind -> weight) and a flat albedo near ``colour``."""
    kinds = list(shapes)
    mask = _shape_mask(_choice(rng, kinds, [shapes[k] for k in kinds]), w, h, rng)
    return mask, tx.fill(w, h, tx.jitter_colour(colour, rng, jitter))


def _mottle(w, h, rng, cells: float, amount: float) -> np.ndarray:
    return (1.0 + amount * (tx.fractal_noise(w, h, cells, rng, octaves=3) - 0.5))[..., None]


def _draw_bronze(w, h, rng, period):
    base = _choice(rng, [(0.62, 0.44, 0.22), (0.34, 0.24, 0.14), (0.4, 0.36, 0.2)])
    mask, albedo = _object(
        w, h, rng, {"figure": 0.45, "vessel": 0.25, "coin": 0.15, "plaque": 0.15}, base, 0.05
    )
    patina = np.clip((tx.fractal_noise(w, h, 4.0, rng) - rng.uniform(0.5, 0.75)) * 6.0, 0, 1)
    albedo = tx.blend(
        albedo * _mottle(w, h, rng, 6.0, 0.3),
        tx.jitter_colour((0.3, 0.5, 0.4), rng, 0.05),
        patina * rng.uniform(0.3, 0.9),
    )
    return _photograph_object(w, h, rng, mask, albedo, gloss=0.45, shininess=25, reflections=0.25)


def _draw_gold(w, h, rng, period):
    mask, albedo = _object(
        w,
        h,
        rng,
        {"coin": 0.35, "plaque": 0.2, "vessel": 0.2, "figure": 0.25},
        (0.86, 0.66, 0.24),
        0.04,
    )
    relief = 0.02 * min(w, h) * tx.fractal_noise(w, h, 8.0, rng, octaves=2)
    return _photograph_object(
        w, h, rng, mask, albedo, gloss=0.9, shininess=40, reflections=0.5, relief=relief
    )


def _draw_silver(w, h, rng, period):
    mask, albedo = _object(
        w, h, rng, {"vessel": 0.5, "coin": 0.25, "plaque": 0.25}, (0.78, 0.78, 0.8), 0.03
    )
    tarnish = np.clip((tx.fractal_noise(w, h, 3.0, rng) - 0.55) * 4.0, 0, 1) * rng.uniform(0.0, 0.5)
    albedo = tx.blend(albedo, (0.55, 0.45, 0.3), tarnish)
    return _photograph_object(w, h, rng, mask, albedo, gloss=1.0, shininess=60, reflections=0.6)


def _ferrous(w, h, rng, period, steel: bool) -> np.ndarray:
    """Iron and steel share shapes and colours; iron is pitted, steel finely brushed."""
    grey = rng.uniform(0.3, 0.5)
    tint = _choice(rng, [(1.08, 1.0, 0.92), (0.94, 0.98, 1.08), (1.03, 1.0, 0.97)])
    kinds = {"blade": 0.35, "helmet": 0.3, "plaque": 0.2, "vessel": 0.15}
    mask, albedo = _object(w, h, rng, kinds, tuple(grey * c for c in tint), 0.03)
    rust = np.clip((tx.fractal_noise(w, h, 4.0, rng) - rng.uniform(0.6, 0.9)) * 5.0, 0, 1)
    albedo = tx.blend(albedo, (0.45, 0.25, 0.12), rust) * _mottle(w, h, rng, 5.0, 0.2)
    if steel:  # polishing marks run along the object's longer side
        x, y = tx.grid(w, h)
        across = 0.0 if h >= w else np.pi / 2
        texture = tx.hatching(x, y, across, period, 0.3, softness_px=1.2) - 0.3
    else:
        texture = 0.3 - tx.grain_ink(w, h, 0.6 * period, np.float32(0.3), rng, softness=0.1)
    albedo = albedo * (1.0 + rng.uniform(0.35, 0.55) * texture)[..., None]
    return _photograph_object(w, h, rng, mask, albedo, gloss=0.5, shininess=30, reflections=0.3)


def _draw_iron(w, h, rng, period):
    return _ferrous(w, h, rng, period, steel=False)


def _draw_steel(w, h, rng, period):
    return _ferrous(w, h, rng, period, steel=True)


def _stone(w, h, rng, period, marble: bool) -> np.ndarray:
    """Sculpture in pale stone: marble shows thin veins, limestone a granular, pitted surface."""
    base = (0.9, 0.88, 0.83) if marble else (0.84, 0.78, 0.66)
    mask, albedo = _object(w, h, rng, {"figure": 0.5, "plaque": 0.3, "vessel": 0.2}, base, 0.05)
    albedo = albedo * _mottle(w, h, rng, 3.0, 0.15)
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
    return _photograph_object(w, h, rng, mask, albedo, gloss=gloss, shininess=15)


def _draw_marble(w, h, rng, period):
    return _stone(w, h, rng, period, marble=True)


def _draw_limestone(w, h, rng, period):
    return _stone(w, h, rng, period, marble=False)


def _painted_bands(w, h, rng, count: int) -> np.ndarray:
    """Horizontal painted bands (rims, friezes) as a mask."""
    _, y = tx.grid(w, h)
    bands = np.zeros((h, w), dtype=np.float32)
    for _ in range(count):
        centre, width = rng.uniform(0.15, 0.85) * h, rng.uniform(0.01, 0.06) * h
        bands = np.maximum(bands, (np.abs(y - centre) < width).astype(np.float32))
    return bands


def _draw_ceramic(w, h, rng, period):
    base = _choice(
        rng,
        [
            (0.68, 0.4, 0.26),
            (0.78, 0.66, 0.5),
            (0.4, 0.26, 0.14),
            (0.55, 0.62, 0.5),
            (0.15, 0.13, 0.12),
        ],
    )
    mask, albedo = _object(w, h, rng, {"vessel": 0.7, "figure": 0.3}, base, 0.05)
    paint = tx.jitter_colour(
        _choice(rng, [(0.1, 0.08, 0.07), (0.85, 0.8, 0.7), (0.6, 0.25, 0.15)]), rng, 0.04
    )
    decoration = _painted_bands(w, h, rng, int(rng.integers(0, 4)))
    if rng.random() < 0.3:
        figures = np.clip((tx.value_noise(w, h, 7.0, rng) - 0.6) * 6.0, 0, 1)
        decoration = np.maximum(decoration, figures * _painted_bands(w, h, rng, 1))
    albedo = tx.blend(albedo * _mottle(w, h, rng, 5.0, 0.25), paint, decoration)
    return _photograph_object(w, h, rng, mask, albedo, gloss=rng.uniform(0.1, 0.5), shininess=20)


def _draw_porcelain(w, h, rng, period):
    mask, albedo = _object(w, h, rng, {"vessel": 0.7, "coin": 0.3}, (0.95, 0.95, 0.93), 0.02)
    floral = np.clip((tx.value_noise(w, h, rng.uniform(5.0, 9.0), rng) - 0.55) * 7.0, 0, 1)
    if rng.random() < 0.6:
        colours = [(0.12, 0.22, 0.55)]
    else:
        colours = [(0.8, 0.25, 0.3), (0.3, 0.6, 0.35), (0.85, 0.65, 0.25)]
    picks = np.stack([tx.value_noise(w, h, 4.0, rng) for _ in colours], axis=-1).argmax(axis=-1)
    paint = np.asarray([tx.jitter_colour(c, rng, 0.05) for c in colours], dtype=np.float32)[picks]
    decoration = np.maximum(floral, _painted_bands(w, h, rng, int(rng.integers(1, 4))))
    albedo = tx.blend(albedo, paint, decoration * rng.uniform(0.7, 1.0))
    return _photograph_object(w, h, rng, mask, albedo, gloss=1.1, shininess=80)


def _draw_faience(w, h, rng, period):
    if rng.random() < 0.5:  # Egyptian faience: small turquoise figures and amulets
        base = _choice(rng, [(0.15, 0.58, 0.6), (0.2, 0.4, 0.7), (0.3, 0.6, 0.4)])
        mask, albedo = _object(w, h, rng, {"figure": 0.7, "plaque": 0.3}, base, 0.05)
        details = _strokes(
            w,
            h,
            rng,
            int(rng.integers(5, 15)),
            _object_box(w, h, rng, 1.0),
            (1.0, max(2.0, min(w, h) / 100)),
        )
        albedo = tx.blend(albedo * _mottle(w, h, rng, 6.0, 0.3), (0.08, 0.08, 0.1), details * 0.9)
        return _photograph_object(w, h, rng, mask, albedo, gloss=0.5, shininess=25)
    mask, albedo = _object(w, h, rng, {"vessel": 0.6, "coin": 0.4}, (0.92, 0.9, 0.82), 0.03)
    colours = [(0.2, 0.3, 0.65), (0.9, 0.7, 0.2), (0.3, 0.55, 0.3), (0.45, 0.25, 0.4)]
    picks = np.stack([tx.value_noise(w, h, 5.0, rng) for _ in colours], axis=-1).argmax(axis=-1)
    paint = np.asarray(colours, dtype=np.float32)[picks]
    decoration = np.clip((tx.value_noise(w, h, 6.0, rng) - 0.5) * 6.0, 0, 1)
    albedo = tx.blend(albedo, paint, decoration * 0.85)
    albedo = albedo * (1.0 - 0.3 * _craquelure(w, h, rng, 2.0 * period))[..., None]
    return _photograph_object(w, h, rng, mask, albedo, gloss=0.6, shininess=30)


def _draw_glass(w, h, rng, period):
    """Translucent tinted glass: the backdrop shows through, darker rims, sharp highlights."""
    kinds = {"vessel": 0.8, "coin": 0.2}
    mask = _shape_mask(_choice(rng, list(kinds), list(kinds.values())), w, h, rng)
    tint = np.asarray(
        tx.jitter_colour(
            _choice(
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
    backdrop = _backdrop(w, h, rng)
    inner = tx.smooth(mask, 0.05 * min(w, h))
    rim = mask * np.clip(1.0 - (inner - 0.45) * 3.0, 0, 1)
    albedo = backdrop * tint * (1.0 - 0.6 * rim)[..., None] + 0.15 * tint
    if rng.random() < 0.3:  # weathering iridescence on ancient glass
        albedo = tx.blend(albedo, (0.75, 0.7, 0.85), 0.3 * tx.value_noise(w, h, 6.0, rng))
    return _photograph_object(w, h, rng, mask, albedo, gloss=1.2, shininess=70, backdrop=backdrop)


def _draw_clay(w, h, rng, period):
    """Unbaked clay: cuneiform tablets with rows of wedge marks, or matte figurines."""
    base = _choice(rng, [(0.66, 0.54, 0.4), (0.55, 0.5, 0.45), (0.7, 0.5, 0.38)])
    if rng.random() < 0.5:
        mask, albedo = _object(w, h, rng, {"plaque": 1.0}, base, 0.06)
        x, y = tx.grid(w, h)
        row = 3.0 * period * rng.uniform(1.0, 1.6)
        rows = tx.hatching(x, y, np.pi / 2, row, 0.35, softness_px=1.5)
        wedges = tx.hatching(x, y, 0.0, row * 0.8, 0.3, softness_px=1.5)
        relief = -0.03 * min(w, h) * rows * wedges
        albedo = albedo * (1.0 - 0.35 * rows * wedges)[..., None]
    else:
        mask, albedo = _object(w, h, rng, {"figure": 1.0}, base, 0.06)
        relief = 0.015 * min(w, h) * tx.fractal_noise(w, h, 10.0, rng, octaves=2)
    albedo = albedo * _mottle(w, h, rng, 8.0, 0.3)
    return _photograph_object(w, h, rng, mask, albedo, gloss=0.03, shininess=5, relief=relief)


def _draw_ivory(w, h, rng, period):
    """Ivory carvings and plaques, or a watercolour miniature portrait on ivory in a gilt frame."""
    base = (0.93, 0.87, 0.72)
    if rng.random() < 0.3:
        box = _object_box(w, h, rng, 0.85)
        oval = tx.draw_mask(w, h, [("ellipse", box, 1.0)])
        frame = oval - tx.draw_mask(w, h, [("ellipse", _shrink(box, 0.06), 1.0)])
        albedo = tx.fill(w, h, tx.jitter_colour(base, rng, 0.03))
        sitter = tx.draw_mask(w, h, _figure_shapes(_shrink(box, 0.15), rng), blur=min(w, h) / 100)
        albedo = tx.blend(
            albedo, tx.jitter_colour(_choice(rng, _OIL_COLOURS), rng, 0.05), 0.7 * sitter
        )
        albedo = tx.blend(albedo, (0.85, 0.68, 0.3), np.clip(frame, 0, 1))
        return _photograph_object(w, h, rng, oval, albedo, gloss=0.4, shininess=30)
    mask, albedo = _object(w, h, rng, {"figure": 0.5, "plaque": 0.5}, base, 0.04)
    x, y = tx.grid(w, h)
    warp = (tx.value_noise(w, h, 3.0, rng) - 0.5) * 6.0 * period
    growth = tx.wood_grain(x, y, 1.5 * period, rng.uniform(0, np.pi), warp, 0.4)
    albedo = albedo * (1.0 + 0.15 * growth)[..., None] * _mottle(w, h, rng, 4.0, 0.15)
    return _photograph_object(w, h, rng, mask, albedo, gloss=0.3, shininess=20)


def _shrink(box, fraction: float):
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * fraction, (y1 - y0) * fraction
    return (x0 + dx, y0 + dy, x1 - dx, y1 - dy)


def _draw_wood(w, h, rng, period):
    """Unpainted wood: brown sculpture, box or panel with visible (coarse) grain."""
    base = _choice(rng, [(0.55, 0.36, 0.2), (0.35, 0.22, 0.12), (0.7, 0.55, 0.35)])
    mask, albedo = _object(w, h, rng, {"figure": 0.45, "plaque": 0.3, "vessel": 0.25}, base, 0.05)
    x, y = tx.grid(w, h)
    coarse = period * rng.uniform(2.5, 4.0)
    warp = (tx.value_noise(w, h, 2.0, rng) - 0.5) * 8.0 * coarse
    grain = tx.wood_grain(x, y, coarse, np.pi / 2 + rng.uniform(-0.2, 0.2), warp, 0.35)
    albedo = albedo * (1.0 + 0.5 * grain)[..., None] * _mottle(w, h, rng, 4.0, 0.2)
    return _photograph_object(w, h, rng, mask, albedo, gloss=0.15, shininess=12)


MEDIUM_DRAWERS: dict[str, Drawer] = {
    "Albumen photograph": _draw_albumen_photograph,
    "Bronze": _draw_bronze,
    "Ceramic": _draw_ceramic,
    "Clay": _draw_clay,
    "Engraving": _draw_engraving,
    "Etching": _draw_etching,
    "Faience": _draw_faience,
    "Glass": _draw_glass,
    "Gold": _draw_gold,
    "Graphite": _draw_graphite,
    "Hand-colored engraving": _draw_hand_colored_engraving,
    "Hand-colored etching": _draw_hand_colored_etching,
    "Iron": _draw_iron,
    "Ivory": _draw_ivory,
    "Limestone": _draw_limestone,
    "Lithograph": _draw_lithograph,
    "Marble": _draw_marble,
    "Oil on canvas": _draw_oil_on_canvas,
    "Pen and brown ink": _draw_pen_and_brown_ink,
    "Polychromed wood": _draw_polychromed_wood,
    "Porcelain": _draw_porcelain,
    "Silk and metal thread": _draw_silk_and_metal_thread,
    "Silver": _draw_silver,
    "Steel": _draw_steel,
    "Wood": _draw_wood,
    "Wood engraving": _draw_wood_engraving,
    "Woodblock": _draw_woodblock,
    "Woodcut": _draw_woodcut,
    "Woven fabric": _draw_woven_fabric,
}


def fine_period(width: int, height: int, rng: np.random.Generator, fine_cycles: float) -> float:
    """Native period (px) of an image's fine textures: shorter side / ~``fine_cycles``."""
    cycles = fine_cycles * rng.uniform(0.9, 1.1)
    return max(min(width, height) / cycles, MIN_PERIOD_PX)


def draw_medium_image(
    medium: str,
    width: int,
    height: int,
    rng: np.random.Generator,
    *,
    fine_cycles: float = DEFAULT_FINE_CYCLES,
) -> Image.Image:
    """Draw one RGB picture of an artwork in MAMe class ``medium`` at ``width`` x ``height``."""
    if medium not in MEDIUM_DRAWERS:
        raise KeyError(f"unknown MAMe medium {medium!r}; known: {sorted(MEDIUM_DRAWERS)}")
    if width < 8 or height < 8:
        raise ValueError(f"image too small to draw: {width} x {height} (need at least 8 x 8)")
    period = fine_period(width, height, rng, fine_cycles)
    rgb = MEDIUM_DRAWERS[medium](width, height, rng, period)
    return Image.fromarray(tx.to_uint8(_colour_cast(rgb, rng)), "RGB")


def _colour_cast(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply a warm or cool photographic cast, whichever leaves the picture more colourful.

    Museum photographs are never perfectly neutral. The sign that does not cancel the picture's
    own tint is chosen, and the cast is strengthened (up to 3 times) until the most colourful 1%
    of pixels differ by at least ``_MIN_COLOUR_SPREAD`` between channels: every colour record
    stays clearly apart from the grey-scale records that curation has to drop.
    """
    sample = rgb[::4, ::4]

    def cast(warmth: float) -> tuple[np.ndarray, float]:
        options = [np.asarray([1 + s * warmth, 1.0, 1 - s * warmth], np.float32) for s in (1, -1)]
        spreads = [np.quantile(np.ptp(np.clip(sample * o, 0, 1), axis=2), 0.99) for o in options]
        best = int(np.argmax(spreads))
        return options[best], float(spreads[best])

    warmth = rng.uniform(0.03, 0.07)
    factor, spread = cast(warmth)
    for _ in range(3):
        if spread >= _MIN_COLOUR_SPREAD:
            break
        warmth *= 1.6
        factor, spread = cast(warmth)
    return rgb * factor


# --------------------------------------------------------------------------------------------
# Files: raw museum records and the ready MAMe-format dataset
# --------------------------------------------------------------------------------------------


def _museum_record_names(
    museum: str, class_index: int, serial: int, rng: np.random.Generator
) -> tuple[str, str]:
    """``(Image file, Museum-based instance ID)`` in each museum's own style, unique by construction.

    Met files are numbered object ids with an accession number as instance ID; LACMA uses
    ``<object>-<image>`` for both; Cleveland names ``<accession>.jpeg``.
    """
    year = int(rng.integers(1890, 2021))
    number = (class_index + 1) * 100_000 + serial
    if museum == MUSEUMS[0]:
        return f"{number}.jpg", f"{year}.{class_index + 1}.{serial}"
    if museum == MUSEUMS[1]:
        instance = f"{number}-{int(rng.integers(10_000, 300_000))}"
        return f"{instance}.jpg", instance
    instance = f"{year}.{class_index + 1}{serial:05d}"
    return f"{instance}.jpeg", instance


def _pick_museum(medium: str, rng: np.random.Generator) -> str:
    counts = np.asarray(MUSEUM_COUNTS[medium], dtype=float)
    return MUSEUMS[int(rng.choice(len(MUSEUMS), p=counts / counts.sum()))]


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _at_least(width: int, height: int, min_product_size: int) -> tuple[int, int]:
    """Grow ``(width, height)`` (aspect kept) until the product reaches ``min_product_size``."""
    if width * height >= min_product_size:
        return width, height
    factor = math.sqrt(min_product_size / (width * height))
    return math.ceil(width * factor), math.ceil(height * factor)


def _below(
    medium: str, rng: np.random.Generator, scale: float, min_product_size: int
) -> tuple[int, int]:
    """A size of the class's aspect ratio with a product of 30-90% of ``min_product_size``."""
    width, height = sample_image_size(medium, rng, scale)
    target = rng.uniform(0.3, 0.9) * min_product_size
    factor = math.sqrt(target / (width * height))
    width, height = max(8, math.floor(width * factor)), max(8, math.floor(height * factor))
    if width * height >= min_product_size:
        raise ValueError(
            f"min_product_size {min_product_size} px is too small to draw an image below it; "
            "raise scale or min_product_size"
        )
    return width, height


def _remove_stale_images(data_dir: Path, keep: set[str]) -> None:
    """Delete JPEGs an earlier run left in ``data_dir`` that the new listing no longer names."""
    if data_dir.is_dir():
        for path in data_dir.iterdir():
            if path.suffix in {".jpg", ".jpeg"} and path.name not in keep:
                path.unlink()


def _check_classes(classes: Sequence[str]) -> list[str]:
    unknown = [c for c in classes if c not in MEDIUM_DRAWERS]
    if unknown:
        raise KeyError(f"unknown MAMe classes {unknown}; known: {list(MAME_CLASSES)}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes contain duplicates: {list(classes)}")
    return list(classes)


def _draw_record(job: tuple) -> tuple[tuple[str, str, str, str], str]:
    """Draw and write one museum record's image; returns (record row, kind)."""
    (
        out,
        look,
        raw,
        index,
        serial,
        kind,
        seed,
        scale,
        minimum,
        fine_cycles,
        jpeg_quality,
        rgb_greyscale,
    ) = job
    rng = np.random.default_rng([seed, index, serial, 0])
    museum = _pick_museum(look, rng) if kind != "unmapped" else _choice(rng, MUSEUMS)
    file_name, instance = _museum_record_names(museum, index, serial, rng)
    if kind == "too_small":
        width, height = _below(look, rng, scale, minimum)
    else:
        width, height = _at_least(*sample_image_size(look, rng, scale), minimum)
    image = draw_medium_image(look, width, height, rng, fine_cycles=fine_cycles)
    if kind == "greyscale":
        # Alternate single-channel JPEGs and RGB JPEGs with three equal channels.
        image = image.convert("L")
        if rgb_greyscale:
            image = image.convert("RGB")
    atomic_write_bytes(out / "data" / file_name, _jpeg_bytes(image, jpeg_quality))
    return (file_name, museum, instance, raw), kind


def generate_museum_records(
    out_dir: str | Path,
    classes: Sequence[str],
    images_per_class: int,
    seed: int,
    scale: float,
    *,
    min_product_size: int | None = None,
    greyscale_fraction: float = 0.1,
    too_small_fraction: float = 0.1,
    unmapped_fraction: float = 0.1,
    fine_cycles: float = DEFAULT_FINE_CYCLES,
    jpeg_quality: int = 90,
) -> Path:
    """Write three museums' raw records (before curation) and their images; return the CSV path.

    Writes ``out_dir/museum_records.csv`` (columns ``RECORD_COLUMNS``; ``Medium`` is the raw
    museum string from ``RAW_MEDIUM_VARIANTS`` or ``UNMAPPED_RAW_MEDIA``), the images as
    ``out_dir/data/<Image file>`` and ``out_dir/museum_records_report.json`` listing what
    curation must drop. Per class, ``images_per_class`` records survive curation; on top come
    ``ceil(greyscale_fraction * images_per_class)`` grey-scale images (half single-channel
    JPEGs, half RGB with equal channels), ``ceil(too_small_fraction * images_per_class)`` colour
    images below ``min_product_size`` (default: the paper's 250,000 px times ``scale**2``), and
    ``ceil(unmapped_fraction * images_per_class * len(classes))`` records in media that are not
    MAMe classes. Raw strings cycle through every variant of a class, so each appears once a
    class has at least as many records as variants.
    """
    classes = _check_classes(classes)
    if images_per_class < 1:
        raise ValueError(f"images_per_class must be at least 1, got {images_per_class}")
    fractions = (greyscale_fraction, too_small_fraction, unmapped_fraction)
    if not all(0.0 <= f <= 1.0 for f in fractions):
        raise ValueError(f"record fractions must lie in [0, 1], got {fractions}")
    out = Path(out_dir)
    minimum = (
        round(PAPER_MIN_PRODUCT_SIZE * scale * scale)
        if min_product_size is None
        else min_product_size
    )
    n_grey = math.ceil(greyscale_fraction * images_per_class)
    n_small = math.ceil(too_small_fraction * images_per_class)
    n_unmapped = math.ceil(unmapped_fraction * images_per_class * len(classes))

    plan: list[tuple[str, str, int, int, str]] = []  # (look, medium string, index, serial, kind)
    for medium in classes:
        index = MAME_CLASSES.index(medium)
        variants = RAW_MEDIUM_VARIANTS[medium]
        kinds = ["ok"] * images_per_class + ["greyscale"] * n_grey + ["too_small"] * n_small
        for serial, kind in enumerate(kinds):
            plan.append((medium, variants[serial % len(variants)], index, serial, kind))
    for serial in range(n_unmapped):
        position = serial % len(UNMAPPED_RAW_MEDIA)
        raw = UNMAPPED_RAW_MEDIA[position]
        plan.append((_UNMAPPED_LOOKS[raw], raw, len(MAME_CLASSES) + position, serial, "unmapped"))

    # Every record has its own generator, seeded by (seed, class, serial), so the images can be
    # drawn in any order: they are spread over all cores and come out the same.
    greyscale_ordinal = itertools.count()
    jobs = [
        (
            out,
            look,
            raw,
            index,
            serial,
            kind,
            seed,
            scale,
            minimum,
            fine_cycles,
            jpeg_quality,
            kind == "greyscale" and next(greyscale_ordinal) % 2 == 1,
        )
        for look, raw, index, serial, kind in plan
    ]
    rows, dropped = [], {"greyscale": [], "too_small": [], "unmapped": []}
    with ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, 8)) as pool:
        for row, kind in pool.map(_draw_record, jobs, chunksize=8):
            rows.append(row)
            if kind != "ok":
                dropped[kind].append(row[0])

    _remove_stale_images(out / "data", {row[0] for row in rows})
    order = np.random.default_rng([seed, 10_000]).permutation(len(rows))
    table = pd.DataFrame([rows[i] for i in order], columns=list(RECORD_COLUMNS))
    csv_path = out / RECORDS_CSV_NAME
    atomic_write_text(csv_path, table.to_csv(index=False))
    report = {
        "seed": seed,
        "scale": scale,
        "min_product_size": minimum,
        "classes": classes,
        "counts": {
            "records": len(rows),
            "curatable": images_per_class * len(classes),
            **{kind: len(files) for kind, files in dropped.items()},
        },
        "curatable_per_class": {medium: images_per_class for medium in classes},
        "greyscale_files": sorted(dropped["greyscale"]),
        "too_small_files": sorted(dropped["too_small"]),
        "unmapped_files": sorted(dropped["unmapped"]),
    }
    atomic_write_json(out / RECORDS_REPORT_NAME, report)
    return csv_path


def write_mame_dataset(
    out_dir: str | Path,
    classes: Sequence[str],
    split_sizes: Mapping[str, int],
    seed: int,
    scale: float,
    *,
    fine_cycles: float = DEFAULT_FINE_CYCLES,
    jpeg_quality: int = 90,
) -> Path:
    """Write a ready dataset in the official MAMe format; return the path of ``MAMe_dataset.csv``.

    ``split_sizes`` gives the images per class for each subset (``train``, ``val``, ``test``).
    Files: ``out_dir/data/<Image file>``, ``out_dir/MAMe_dataset.csv`` (official columns and
    number formats, rows grouped by subset then class; the one class the official file spells
    with a trailing space keeps it, see ``DATASET_CSV_SPELLING``) and ``out_dir/MAMe_labels.csv``
    (headerless ``index,name`` for all 29 official classes, whichever have images). All images
    are in colour and at least 250,000 px times ``scale**2``, as curation guarantees.
    """
    classes = _check_classes(classes)
    unknown = set(split_sizes) - set(SUBSETS)
    if unknown:
        raise ValueError(f"unknown subsets {sorted(unknown)} in split_sizes; use {SUBSETS}")
    if any(int(n) != n or n < 0 for n in split_sizes.values()):
        raise ValueError(f"split sizes must be non-negative integers, got {dict(split_sizes)}")
    out = Path(out_dir)
    minimum = round(PAPER_MIN_PRODUCT_SIZE * scale * scale)
    ordered = [c for c in MAME_CLASSES if c in classes]
    rows = []
    for subset in SUBSETS:
        for medium in ordered:
            index = MAME_CLASSES.index(medium)
            start = sum(split_sizes.get(s, 0) for s in SUBSETS[: SUBSETS.index(subset)])
            for serial in range(start, start + split_sizes.get(subset, 0)):
                rng = np.random.default_rng([seed, index, serial, 1])
                museum = _pick_museum(medium, rng)
                file_name, instance = _museum_record_names(museum, index, serial, rng)
                width, height = _at_least(*sample_image_size(medium, rng, scale), minimum)
                image = draw_medium_image(medium, width, height, rng, fine_cycles=fine_cycles)
                atomic_write_bytes(out / "data" / file_name, _jpeg_bytes(image, jpeg_quality))
                rows.append(
                    {
                        "Image file": file_name,
                        "Medium": DATASET_CSV_SPELLING.get(medium, medium),
                        "Museum": museum,
                        "Museum-based instance ID": instance,
                        "Subset": subset,
                        "Width": float(width),
                        "Height": float(height),
                        "Product size": float(width * height),
                        "Aspect ratio": round(width / height, 4),
                    }
                )
    _remove_stale_images(out / "data", {row["Image file"] for row in rows})
    table = pd.DataFrame(rows, columns=list(DATASET_COLUMNS))
    csv_path = out / DATASET_CSV_NAME
    atomic_write_text(csv_path, table.to_csv(index=False))
    labels = "".join(f"{i},{name}\n" for i, name in enumerate(MAME_CLASSES))
    atomic_write_text(out / LABELS_CSV_NAME, labels)
    return csv_path
