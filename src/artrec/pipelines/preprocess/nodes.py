"""Preprocess nodes: resize the curated MAMe images once per input version.

Outputs are cached as DVC stage outputs, so training never decodes the original high-resolution
files again. The folder holds ``images/``, ``manifest.csv`` (image_file, path, width, height) and
``quarantine.csv`` (image_file, reason).

Two nodes, both returning data. ``preprocess_mame`` returns the resized images as lazy
partitions (``{"images": {file name: callable}}``, ``artrec.images.preprocess``) that the folder's
``DirectoryDataset`` evaluates in a process pool, writes atomically and resumes; an unusable
image's callable returns ``None``, so it has no file. The partitions end with the bad-fraction
check, which runs in the work folder before it is swapped in: when more than
``max_bad_fraction`` of the images are unusable the save fails and the previous folder stays as
it was (a rerun resumes the images already written). ``summarise_mame_images`` then reads the
finished folder: the manifest from the outputs' headers, the quarantine from the inputs without
output (decoded again for the reason); the catalog saves both tables as CSV files inside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from artrec.images.preprocess import (
    ResizeSpec,
    preprocess_partitions,
    resize_spec,
    summarise_outputs,
)
from artrec.utils.partitions import Partitions


def preprocess_mame(
    dataset: pd.DataFrame, raw_dir: Path, params: dict[str, Any], version: str
) -> Partitions:
    """The resized images of ``version`` as lazy partitions under ``images/``."""
    images = preprocess_partitions(
        _rows(dataset, raw_dir),
        _spec(params, version),
        int(params["quality"]),
        max_pixels=int(params["max_image_pixels"]),
        max_bad_fraction=float(params["max_bad_fraction"]),
    )
    return {"images": images}


def summarise_mame_images(
    dataset: pd.DataFrame,
    raw_dir: Path,
    images_dir: Path,
    params: dict[str, Any],
    version: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(manifest, quarantine)`` of the folder ``preprocess_mame`` wrote."""
    result = summarise_outputs(
        _rows(dataset, raw_dir),
        images_dir / "images",
        _spec(params, version),
        float(params["max_bad_fraction"]),
        max_pixels=int(params["max_image_pixels"]),
    )
    return result.manifest, result.quarantine


def _rows(dataset: pd.DataFrame, raw_dir: Path) -> list[tuple[str, Path]]:
    return [(name, raw_dir / "data" / name) for name in dataset["Image file"]]


def _spec(params: dict[str, Any], version: str) -> ResizeSpec:
    spec_params = params["versions"][version]
    return resize_spec(spec_params["preset"], spec_params.get("size"))
