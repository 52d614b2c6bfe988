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

The drawers live in ``artrec.synth.mame_drawers`` (one module per family of media); the raw
medium strings of the museum records in ``conf/base/mame_raw_media.yml``.

Raw, uncurated museum records (messy medium strings, grey-scale and too-small images) come as
lazy partitions from ``museum_record_partitions`` (what the ingest stage saves) or written into a
folder by ``generate_museum_records``; ``write_mame_dataset`` writes a ready dataset in the
official MAMe file format. All take ``fine_cycles`` (default ``DEFAULT_FINE_CYCLES``).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import yaml
from PIL import Image

# The official files' columns and subsets are those curation reads and writes.
from artrec.curation.mame import MAME_COLUMNS as DATASET_COLUMNS
from artrec.curation.mame import MAME_LABELS, RECORD_COLUMNS, SUBSETS
from artrec.synth import textures as tx
from artrec.synth.files import jpeg_bytes, json_bytes, remove_stale_files
from artrec.synth.mame_drawers import MEDIUM_DRAWERS, scene
from artrec.synth.mame_sizes import (
    MUSEUM_COUNTS,
    MUSEUMS,
    PAPER_MIN_PRODUCT_SIZE,
    sample_image_size,
)
from artrec.utils.atomic import atomic_write_bytes, atomic_write_text
from artrec.utils.partitions import write_partitions

# The 29 classes in the official order of MAMe_labels.csv (label index = position).
MAME_CLASSES: tuple[str, ...] = MAME_LABELS

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

# Raw medium strings as museums publish them (per MAMe class) and media outside MAMe, with the
# class whose look their pictures get; art experts edit the file, see its header.
RAW_MEDIA_FILE = Path(__file__).resolve().parents[3] / "conf" / "base" / "mame_raw_media.yml"


def load_raw_media(
    path: str | Path = RAW_MEDIA_FILE,
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Read ``(variants, unmapped)`` from the raw-media YAML file and check them.

    ``variants`` maps every MAMe class to its raw strings (the clean class name first);
    ``unmapped`` maps each non-MAMe medium to the MAMe class whose look its pictures get. Every
    string belongs to exactly one class or is unmapped.
    """
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    if not isinstance(raw, dict) or set(raw) != {"variants", "unmapped"}:
        raise ValueError(f"{path}: needs exactly the keys 'variants' and 'unmapped'")
    variants = {str(c): [str(v) for v in strings] for c, strings in raw["variants"].items()}
    unmapped = {str(medium): str(look) for medium, look in raw["unmapped"].items()}
    if sorted(variants) != sorted(MAME_CLASSES):
        missing, extra = set(MAME_CLASSES) - set(variants), set(variants) - set(MAME_CLASSES)
        raise ValueError(
            f"{path}: variants must list the 29 MAMe classes; "
            f"missing {sorted(missing)}, unknown {sorted(extra)}"
        )
    owners: dict[str, str] = {}
    for medium, strings in variants.items():
        if not strings or strings[0] != medium:
            raise ValueError(f"{path}: the variants of {medium!r} must start with {medium!r}")
        for string in strings:
            if owners.setdefault(string, medium) != medium:
                raise ValueError(
                    f"{path}: {string!r} is listed under {owners[string]!r} and {medium!r}"
                )
    for medium, look in unmapped.items():
        if medium in owners or look not in variants:
            raise ValueError(
                f"{path}: unmapped medium {medium!r} must be no MAMe variant and look like "
                f"a MAMe class, got {look!r}"
            )
    return variants, unmapped


RAW_MEDIUM_VARIANTS, _UNMAPPED_LOOKS = load_raw_media()
# Media of records that belong to no MAMe class; curation must leave them unmapped.
UNMAPPED_RAW_MEDIA: list[str] = list(_UNMAPPED_LOOKS)


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


def _check_fine_cycles(fine_cycles: float) -> float:
    if not fine_cycles > 0:
        raise ValueError(f"fine_cycles must be positive, got {fine_cycles!r}")
    return float(fine_cycles)


def _check_classes(classes: Sequence[str]) -> list[str]:
    unknown = [c for c in classes if c not in MEDIUM_DRAWERS]
    if unknown:
        raise KeyError(f"unknown MAMe classes {unknown}; known: {list(MAME_CLASSES)}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes contain duplicates: {list(classes)}")
    return list(classes)


class _RecordJob(NamedTuple):
    """One museum record: everything its image and its row are drawn from."""

    look: str
    raw: str
    index: int
    serial: int
    kind: str
    seed: int
    scale: float
    minimum: int
    fine_cycles: float
    jpeg_quality: int
    rgb_greyscale: bool


def _record_start(job: _RecordJob) -> tuple[np.random.Generator, str, str, str]:
    """``(generator, museum, Image file, instance ID)``: the record's first draws, no image yet."""
    rng = np.random.default_rng([job.seed, job.index, job.serial, 0])
    museum = _pick_museum(job.look, rng) if job.kind != "unmapped" else scene.choice(rng, MUSEUMS)
    file_name, instance = _museum_record_names(museum, job.index, job.serial, rng)
    return rng, museum, file_name, instance


def _record_image(job: _RecordJob) -> bytes:
    """The record's JPEG (the generator continues where ``_record_start`` left it)."""
    rng = _record_start(job)[0]
    if job.kind == "too_small":
        width, height = _below(job.look, rng, job.scale, job.minimum)
    else:
        width, height = _at_least(*sample_image_size(job.look, rng, job.scale), job.minimum)
    image = draw_medium_image(job.look, width, height, rng, fine_cycles=job.fine_cycles)
    if job.kind == "greyscale":
        # Alternate single-channel JPEGs and RGB JPEGs with three equal channels.
        image = image.convert("L")
        if job.rgb_greyscale:
            image = image.convert("RGB")
    return jpeg_bytes(image, job.jpeg_quality)


def museum_record_partitions(
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
) -> dict[str, bytes | Callable[[], bytes]]:
    """Three museums' raw records (before curation) as lazy partitions (``artrec.utils.partitions``).

    ``museum_records.csv`` (columns ``RECORD_COLUMNS``; ``Medium`` is the raw museum string from
    ``RAW_MEDIUM_VARIANTS`` or ``UNMAPPED_RAW_MEDIA``) and ``museum_records_report.json`` (what
    curation must drop) as bytes; each image ``data/<Image file>`` as a callable drawing it.
    Per class, ``images_per_class`` records survive curation; on top come
    ``ceil(greyscale_fraction * images_per_class)`` grey-scale images (half single-channel
    JPEGs, half RGB with equal channels), ``ceil(too_small_fraction * images_per_class)`` colour
    images below ``min_product_size`` (default: the paper's 250,000 px times ``scale**2``), and
    ``ceil(unmapped_fraction * images_per_class * len(classes))`` records in media that are not
    MAMe classes. Raw strings cycle through every variant of a class, so each appears once a
    class has at least as many records as variants.
    """
    classes = _check_classes(classes)
    fine_cycles = _check_fine_cycles(fine_cycles)
    if images_per_class < 1:
        raise ValueError(f"images_per_class must be at least 1, got {images_per_class}")
    fractions = (greyscale_fraction, too_small_fraction, unmapped_fraction)
    if not all(0.0 <= f <= 1.0 for f in fractions):
        raise ValueError(f"record fractions must lie in [0, 1], got {fractions}")
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
    # drawn in any order, on any core, and come out the same.
    greyscale_ordinal = itertools.count()
    partitions: dict[str, bytes | Callable[[], bytes]] = {}
    rows, dropped = [], {"greyscale": [], "too_small": [], "unmapped": []}
    for look, raw, index, serial, kind in plan:
        job = _RecordJob(
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
        _, museum, file_name, instance = _record_start(job)
        partitions[f"data/{file_name}"] = functools.partial(_record_image, job)
        rows.append((file_name, museum, instance, raw))
        if kind != "ok":
            dropped[kind].append(file_name)

    order = np.random.default_rng([seed, 10_000]).permutation(len(rows))
    table = pd.DataFrame([rows[i] for i in order], columns=list(RECORD_COLUMNS))
    partitions[RECORDS_CSV_NAME] = table.to_csv(index=False).encode()
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
    partitions[RECORDS_REPORT_NAME] = json_bytes(report)
    return partitions


def generate_museum_records(
    out_dir: str | Path,
    classes: Sequence[str],
    images_per_class: int,
    seed: int,
    scale: float,
    **options: Any,
) -> Path:
    """Write :func:`museum_record_partitions` into ``out_dir`` (images on all cores); return the
    CSV path. Images an earlier run left that this one does not write are deleted."""
    partitions = museum_record_partitions(classes, images_per_class, seed, scale, **options)
    out = write_partitions(out_dir, partitions, workers=None)
    remove_stale_files(out / "data", [out / key for key in partitions if key.startswith("data/")])
    return out / RECORDS_CSV_NAME


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
    fine_cycles = _check_fine_cycles(fine_cycles)
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
                atomic_write_bytes(out / "data" / file_name, jpeg_bytes(image, jpeg_quality))
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
    remove_stale_files(out / "data", [out / "data" / row["Image file"] for row in rows])
    table = pd.DataFrame(rows, columns=list(DATASET_COLUMNS))
    csv_path = out / DATASET_CSV_NAME
    atomic_write_text(csv_path, table.to_csv(index=False))
    labels = "".join(f"{i},{name}\n" for i, name in enumerate(MAME_CLASSES))
    atomic_write_text(out / LABELS_CSV_NAME, labels)
    return csv_path
