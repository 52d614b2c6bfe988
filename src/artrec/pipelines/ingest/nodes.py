"""Ingest nodes: return the dataset's raw folder as lazy partitions (``artrec.utils.partitions``).

Each node returns data, ``{relative path: bytes | callable}``, that the catalog's
``DirectoryDataset`` writes (callables evaluated at save time, in a process pool, resumable):
- synthetic: one callable per generated image, the tables as bytes (``*_partitions`` of
  ``artrec.synth``);
- official, a mirror or a folder: one callable (``""``: the folder itself) that fetches the
  verified archives into the download cache and returns the paths they unpacked to, hard-linked
  into place; why an archive is one partition and not one per member: ``artrec.ingest.sources``.

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
    fetched_partitions,
)
from artrec.ingest.tate import fetched_tate_partitions
from artrec.synth.mame import museum_record_partitions
from artrec.synth.met import met_partitions
from artrec.synth.rijksmuseum import collection_partitions
from artrec.synth.tate import tate_partitions
from artrec.utils.partitions import Partitions


def ingest_mame(
    dataset: dict[str, Any], downloads_dir: str, spec: dict[str, Any], seed: int
) -> Partitions:
    """``dataset``: ``data.mame`` (its source); ``spec``: ``synth.mame`` (the synthetic sizes)."""
    source = str(dataset["source"])
    if source == "synthetic":
        return museum_record_partitions(
            list(spec["classes"]),
            int(spec["images_per_class"]),
            seed,
            float(spec["scale"]),
            fine_cycles=float(spec["fine_cycles"]),
        )
    return _fetched(source, MAME_OFFICIAL_FILES, Path(downloads_dir) / "mame")


def ingest_met(
    dataset: dict[str, Any], downloads_dir: str, spec: dict[str, Any], seed: int
) -> Partitions:
    """``dataset``: ``data.met`` (its source); ``spec``: ``synth.met`` (the synthetic sizes)."""
    source = str(dataset["source"])
    if source == "synthetic":
        return met_partitions(seed=seed, **dict(spec))[0]
    return _fetched(source, MET_OFFICIAL_FILES, Path(downloads_dir) / "met")


def ingest_tate(
    dataset: dict[str, Any],
    downloads_dir: str,
    spec: dict[str, Any],
    curation: dict[str, Any],
    seed: int,
) -> Partitions:
    """``dataset``: ``data.tate``; ``spec``: ``synth.tate``; ``curation``: ``curate.tate`` (which
    classes, how many images each: the thumbnails to fetch or draw). Layout:
    ``tate_artworks.csv[.gz]`` or ``artwork_data.csv`` plus ``images/`` (artrec.datasets.tate)."""
    source = str(dataset["source"])
    n_classes = int(curation["n_classes"])
    per_class = sum(int(n) for n in curation["split"].values())
    if source == "synthetic":
        return tate_partitions(
            facts_path=str(spec["media_facts"]),
            records=int(spec["records"]),
            n_classes=n_classes,
            images_per_class=per_class,
            thumbnail_size_px=int(spec["thumbnail_size"]),
            fine_cycles=float(spec["fine_cycles"]),
            seed=seed,
            tagger=MediumTagger.load(curation["tag_vocabulary"]),
        )
    fetch = functools.partial(
        fetched_tate_partitions,
        Path(downloads_dir) / "tate",
        source=source,
        n_classes=n_classes,
        per_class=per_class,
        seed=seed,
    )
    return {"": fetch}


def ingest_collection(
    dataset: dict[str, Any], downloads_dir: str, spec: dict[str, Any], seed: int, name: str
) -> Partitions:
    """The transfer study's collection ``name`` (``rijksmuseum`` or ``antwerp``): ``dataset`` is
    ``data.<name>``, ``spec`` ``synth.<name>``. Layout: ``jpg2/`` + ``xml2/``
    (artrec.datasets.rijksmuseum), synthetic or copied from a folder or mirror; the official
    archives have no verified names or checksums, so ``official`` is refused with instructions."""
    source = str(dataset["source"])
    if source == "synthetic":
        return collection_partitions(name, seed=seed, **dict(spec))
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
    return _fetched(source, RIJKSMUSEUM_OFFICIAL_FILES, Path(downloads_dir) / name)


def _fetched(source: str, files: Any, downloads: Path) -> Partitions:
    """One lazy partition for the whole folder: fetch (resumable) when the folder is saved."""
    return {"": functools.partial(fetched_partitions, source, files, downloads)}
