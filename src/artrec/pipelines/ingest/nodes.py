"""Ingest nodes: return a writer that fills the dataset's raw folder (see DirectoryDataset).

The same official layout comes out whatever the source, so curation reads one format:
- MAMe: ``data/<Image file>`` plus either the official ``MAMe_dataset.csv``/``MAMe_labels.csv``
  or, for the synthetic museums, ``museum_records.csv`` with raw medium strings to curate;
- Met: ``images/`` plus ``MET_database.json``, ``mini_MET_database.json``, ``valset.json``,
  ``testset.json``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from artrec.ingest.sources import MAME_OFFICIAL_FILES, MET_OFFICIAL_FILES, fetch_from
from artrec.kedro_io.directory import FolderWriter
from artrec.synth.mame import generate_museum_records
from artrec.synth.met import generate_met_dataset


def ingest_mame(
    dataset: dict[str, Any], downloads_dir: str, spec: dict[str, Any], seed: int
) -> FolderWriter:
    """``dataset``: ``data.mame`` (its source); ``spec``: ``synth.mame`` (the synthetic sizes)."""
    source = str(dataset["source"])
    if source == "synthetic":
        return functools.partial(
            _generate_mame,
            classes=list(spec["classes"]),
            images_per_class=int(spec["images_per_class"]),
            scale=float(spec["scale"]),
            fine_cycles=float(spec["fine_cycles"]),
            seed=seed,
        )
    return functools.partial(
        _fetch,
        source=source,
        files=MAME_OFFICIAL_FILES,
        downloads=Path(downloads_dir) / "mame",
    )


def ingest_met(
    dataset: dict[str, Any], downloads_dir: str, spec: dict[str, Any], seed: int
) -> FolderWriter:
    """``dataset``: ``data.met`` (its source); ``spec``: ``synth.met`` (the synthetic sizes)."""
    source = str(dataset["source"])
    if source == "synthetic":
        return functools.partial(_generate_met, spec=dict(spec), seed=seed)
    return functools.partial(
        _fetch,
        source=source,
        files=MET_OFFICIAL_FILES,
        downloads=Path(downloads_dir) / "met",
    )


def _generate_mame(
    out_dir: Path,
    *,
    classes: list[str],
    images_per_class: int,
    scale: float,
    fine_cycles: float,
    seed: int,
) -> None:
    generate_museum_records(
        out_dir,
        classes=classes,
        images_per_class=images_per_class,
        seed=seed,
        scale=scale,
        fine_cycles=fine_cycles,
    )


def _generate_met(out_dir: Path, *, spec: dict[str, Any], seed: int) -> None:
    generate_met_dataset(out_dir, seed=seed, **spec)


def _fetch(out_dir: Path, *, source: str, files: Any, downloads: Path) -> None:
    fetch_from(source, files, downloads, out_dir)
