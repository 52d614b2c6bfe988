"""Ingest nodes: return a writer that fills the dataset's raw folder (see DirectoryDataset).

The same official layout comes out whatever the source, so curation reads one format:
- MAMe: ``data/<Image file>`` plus either the official ``MAMe_dataset.csv``/``MAMe_labels.csv``
  or, for the synthetic museums, ``museum_records.csv`` with raw medium strings to curate;
- Met: ``images/`` plus ``MET_database.json``, ``mini_MET_database.json``, ``valset.json``,
  ``testset.json``;
- Tate: ``tate_artworks.csv`` (synthetic, or ``.csv.gz`` as copied) or the official
  ``artwork_data.csv``, plus the thumbnails in ``images/`` (``artrec.datasets.tate``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from artrec.curation.medium_tags import MediumTagger
from artrec.errors import BadInputError
from artrec.ingest.sources import (
    MAME_OFFICIAL_FILES,
    MET_OFFICIAL_FILES,
    RIJKSMUSEUM_OFFICIAL_FILES,
    RIJKSMUSEUM_PAGE,
    fetch_from,
)
from artrec.ingest.tate import fetch_tate
from artrec.kedro_io.directory import FolderWriter
from artrec.synth.mame import generate_museum_records
from artrec.synth.met import generate_met_dataset
from artrec.synth.rijksmuseum import write_collection
from artrec.synth.tate import generate_tate_dataset


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


def ingest_tate(
    dataset: dict[str, Any],
    downloads_dir: str,
    spec: dict[str, Any],
    curation: dict[str, Any],
    seed: int,
) -> FolderWriter:
    """``dataset``: ``data.tate``; ``spec``: ``synth.tate``; ``curation``: ``curate.tate`` (which
    classes, how many images each: the thumbnails to fetch or draw). Layout:
    ``tate_artworks.csv[.gz]`` or ``artwork_data.csv`` plus ``images/`` (artrec.datasets.tate)."""
    source = str(dataset["source"])
    n_classes = int(curation["n_classes"])
    per_class = sum(int(n) for n in curation["split"].values())
    if source == "synthetic":
        return functools.partial(
            generate_tate_dataset,
            facts_path=str(spec["media_facts"]),
            records=int(spec["records"]),
            n_classes=n_classes,
            images_per_class=per_class,
            thumbnail_size_px=int(spec["thumbnail_size"]),
            fine_cycles=float(spec["fine_cycles"]),
            seed=seed,
            tagger=MediumTagger.load(curation["tag_vocabulary"]),
        )
    return functools.partial(
        fetch_tate,
        source=source,
        downloads=Path(downloads_dir) / "tate",
        n_classes=n_classes,
        per_class=per_class,
        seed=seed,
    )


def ingest_collection(
    dataset: dict[str, Any], downloads_dir: str, spec: dict[str, Any], seed: int, name: str
) -> FolderWriter:
    """The transfer study's collection ``name`` (``rijksmuseum`` or ``antwerp``): ``dataset`` is
    ``data.<name>``, ``spec`` ``synth.<name>``. Layout: ``jpg2/`` + ``xml2/``
    (artrec.datasets.rijksmuseum), synthetic or copied from a folder or mirror; the official
    archives have no verified names or checksums, so ``official`` is refused with instructions."""
    source = str(dataset["source"])
    if source == "synthetic":
        return functools.partial(write_collection, design=name, seed=seed, **dict(spec))
    if source == "official":
        where = (
            f"download the Rijksmuseum Challenge files from {RIJKSMUSEUM_PAGE}"
            if name == "rijksmuseum"
            else "ask the transfer-learning paper's authors for the Antwerp collection"
        )
        raise BadInputError(
            f"data.{name}.source",
            "'official' has no scripted download for this collection (no verified file names "
            "or checksums are published)",
            f"{where}, unpack it into a folder holding jpg2/ and xml2/ (one <number>.jpg and "
            f"one OAI-PMH Dublin Core <number>.xml per object), and set data.{name}.source to "
            "that folder",
        )
    return functools.partial(
        _fetch,
        source=source,
        files=RIJKSMUSEUM_OFFICIAL_FILES,
        downloads=Path(downloads_dir) / name,
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
