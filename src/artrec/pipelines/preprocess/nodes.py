"""Preprocess nodes: resize the curated MAMe images once per input version.

Outputs are cached as DVC stage outputs, so training never decodes the original high-resolution
files again. The folder holds ``images/``, ``manifest.csv`` (image_file, path, width, height) and
``quarantine.csv`` (image_file, reason).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd

from artrec.images.preprocess import preprocess_dataset, resize_spec
from artrec.kedro_io.directory import FolderWriter
from artrec.utils.atomic import atomic_write_text


def preprocess_mame(
    dataset: pd.DataFrame, raw_dir: Path, params: dict[str, Any], version: str
) -> FolderWriter:
    spec_params = params["versions"][version]
    spec = resize_spec(spec_params["preset"], spec_params.get("size"))
    images_dir = raw_dir / "data"
    rows = [(name, images_dir / name) for name in dataset["Image file"]]
    return functools.partial(
        _write_version,
        rows=rows,
        spec=spec,
        workers=params.get("workers"),
        max_bad_fraction=float(params["max_bad_fraction"]),
        max_pixels=int(params["max_image_pixels"]),
        quality=int(params["quality"]),
    )


def _write_version(out_dir: Path, *, rows, spec, workers, max_bad_fraction, max_pixels, quality):
    result = preprocess_dataset(
        rows,
        out_dir / "images",
        spec,
        workers=workers,
        max_bad_fraction=max_bad_fraction,
        quality=quality,
        max_pixels=max_pixels,
    )
    atomic_write_text(out_dir / "manifest.csv", result.manifest.to_csv(index=False))
    atomic_write_text(out_dir / "quarantine.csv", result.quarantine.to_csv(index=False))
