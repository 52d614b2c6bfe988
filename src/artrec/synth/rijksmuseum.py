"""Synthetic Rijksmuseum-like collections, written in the official layout (jpg2/ + xml2/).

Two collections stand in for the transfer-learning paper's data (Sabatelli et al. 2018):

- ``RIJKSMUSEUM``: the large source collection with material, type and artist metadata;
- ``ANTWERP``: the smaller second collection, with no material metadata (the paper's Table 1
  has none), types of which about 15% (1 of 7) also occur in the first collection, and artists
  who never do.

Every object is drawn by one of the MAMe drawers (``artrec.synth.mame``), its *look*; the look
decides its type and material, in Dutch as in the museum's records (``Look``). Because the MAMe
stand-in draws from the same drawers, a network trained on MAMe has seen this visual vocabulary,
which is what makes it a meaningful starting point (theta) in the embedded default. Types and
materials group looks differently (``prent`` is six print looks, ``papier`` nine looks of prints,
drawings and photographs; ``hout`` is both sculpture and furniture), so the two challenges are
different problems.

Artists follow a long tail (Zipf weights over the artists, plus anonymous objects, which the
artist challenge drops as the paper does). Each artist works in one type (one or two of its
looks) and has a style (``artrec.synth.artist_styles``): a signature mark, a border, a colour
cast, all from one shared vocabulary. The two collections' artists draw disjoint styles and
names from it, so no artist is shared but what tells one collection's artists apart is the same
kind of visual evidence as in the other: the paper's cross-collection transfer (Table 3), built
into the data.

Records are written by :func:`artrec.datasets.rijksmuseum.record_xml`, so the reader used for
the official files reads these. Every object has its own generator seeded by
``(seed, collection, index)``: the images are drawn in any order, on any core, and come out the
same (``collection_partitions`` describes them as lazy partitions, ``artrec.utils.partitions``); all
arithmetic is integer or goes through ``artrec.synth.detmath`` (the MAMe drawers), so the bytes
are the same on every machine.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from artrec.datasets.rijksmuseum import (
    IMAGES_DIR,
    RECORDS_DIR,
    RIJKSMUSEUM_OAI_PREFIX,
    file_stem,
    record_xml,
)
from artrec.synth.artist_styles import Style, apply_style, assign_styles
from artrec.synth.files import jpeg_bytes, remove_stale_files
from artrec.synth.mame import draw_medium_image
from artrec.utils.partitions import write_partitions


@dataclass(frozen=True)
class Look:
    """One MAMe drawer and the Dutch type, material and maker's role it stands for."""

    mame_class: str
    type: str
    material: str | None
    role: str
    weight: float


@dataclass(frozen=True)
class Design:
    """A collection's vocabulary and record conventions."""

    name: str
    code: int  # part of every object's seed
    looks: tuple[Look, ...]
    object_prefixes: dict[str, str]
    repository: str
    publisher: str
    style_parity: int  # the collections take alternate styles and names: never shared


_PAPER = "papier"
RIJKSMUSEUM = Design(
    name="rijksmuseum",
    code=1,
    looks=(
        Look("Engraving", "prent", _PAPER, "prentmaker", 10),
        Look("Etching", "prent", _PAPER, "prentmaker", 9),
        Look("Woodcut", "prent", _PAPER, "prentmaker", 4),
        Look("Lithograph", "prent", _PAPER, "prentmaker", 4),
        Look("Hand-colored engraving", "prent", _PAPER, "prentmaker", 3),
        Look("Hand-colored etching", "prent", _PAPER, "prentmaker", 3),
        Look("Graphite", "tekening", _PAPER, "tekenaar", 5),
        Look("Pen and brown ink", "tekening", _PAPER, "tekenaar", 5),
        Look("Albumen photograph", "foto", _PAPER, "fotograaf", 6),
        Look("Oil on canvas", "schilderij", "olieverf", "schilder", 8),
        Look("Bronze", "beeldhouwwerk", "brons", "beeldhouwer", 4),
        Look("Marble", "beeldhouwwerk", "marmer", "beeldhouwer", 3),
        Look("Ivory", "beeldhouwwerk", "ivoor", "beeldhouwer", 2),
        Look("Polychromed wood", "beeldhouwwerk", "hout", "beeldhouwer", 2),
        Look("Porcelain", "vaas", "porselein", "porseleinschilder", 4),
        Look("Faience", "schotel", "aardewerk", "plateelbakker", 3),
        Look("Silver", "beker", "zilver", "zilversmid", 3),
        Look("Glass", "beker", "glas", "glasblazer", 3),
        Look("Iron", "wapen", "ijzer", "wapensmid", 3),
        Look("Steel", "wapen", "staal", "wapensmid", 3),
        Look("Woven fabric", "textiel", "linnen", "wever", 3),
        Look("Silk and metal thread", "textiel", "zijde", "wever", 3),
        Look("Gold", "penning", "goud", "medailleur", 3),
        Look("Wood", "meubel", "hout", "meubelmaker", 3),
    ),
    object_prefixes={
        "prent": "RP-P-1992",
        "tekening": "RP-T-1898",
        "foto": "RP-F-F",
        "schilderij": "SK-A",
        "penning": "NG-VG-1",
    },
    repository=RIJKSMUSEUM_OAI_PREFIX,
    publisher="Rijksmuseum",
    style_parity=0,
)
# 7 types, one of them (schilderij) shared with the Rijksmuseum: 1/7 = 14% overlap (paper: ~15%).
ANTWERP = Design(
    name="antwerp",
    code=2,
    looks=(
        Look("Oil on canvas", "schilderij", None, "schilder", 6),
        Look("Lithograph", "affiche", None, "ontwerper", 4),
        Look("Woodblock", "affiche", None, "ontwerper", 3),
        Look("Limestone", "bouwfragment", None, "steenhouwer", 3),
        Look("Marble", "bouwfragment", None, "steenhouwer", 2),
        Look("Gold", "munt", None, "muntmeester", 3),
        Look("Silver", "munt", None, "muntmeester", 2),
        Look("Woven fabric", "wandtapijt", None, "tapijtwever", 3),
        Look("Silk and metal thread", "wandtapijt", None, "tapijtwever", 2),
        Look("Ceramic", "gebruiksvoorwerp", None, "pottenbakker", 2),
        Look("Clay", "gebruiksvoorwerp", None, "pottenbakker", 2),
        Look("Faience", "gebruiksvoorwerp", None, "pottenbakker", 2),
        Look("Iron", "harnas", None, "harnasmaker", 2),
        Look("Steel", "harnas", None, "harnasmaker", 2),
    ),
    object_prefixes={"schilderij": "KMSKA", "affiche": "MPM.AF"},
    repository="oai:dams.antwerpen.be:",
    publisher="Musea en Erfgoed Antwerpen",
    style_parity=1,
)
DESIGNS: dict[str, Design] = {d.name: d for d in (RIJKSMUSEUM, ANTWERP)}

ANONYMOUS = "anoniem"
_FIRST_NAMES = (
    "Jan",
    "Pieter",
    "Hendrick",
    "Cornelis",
    "Willem",
    "Dirck",
    "Claes",
    "Jacob",
    "Adriaen",
    "Maria",
    "Anna",
    "Geertruyd",
    "Abraham",
    "Isaac",
    "Gerrit",
    "Johannes",
    "Maerten",
    "Lucas",
    "Frans",
    "Joost",
    "Reinier",
    "Aert",
    "Barend",
    "Catharina",
    "Judith",
    "Simon",
    "Theodor",
    "Volckert",
    "Wouter",
    "Zacharias",
)
_SURNAMES = (
    "Bos",
    "Veen",
    "Dam",
    "Haan",
    "Berg",
    "Wit",
    "Leeuw",
    "Smit",
    "Brink",
    "Graaf",
    "Vos",
    "Hoek",
    "Meer",
    "Linden",
    "Beek",
    "Broek",
    "Velde",
    "Kamp",
    "Bosch",
    "Wal",
    "Heuvel",
    "Dijk",
    "Laan",
    "Hout",
    "Poel",
    "Schouw",
    "Borch",
    "Kruys",
    "Steen",
    "Weyde",
)
_PARTICLES = ("", "van", "de", "van der", "ter")
_TITLES = (
    "Portret van een man",
    "Portret van een vrouw",
    "Landschap met ruiters",
    "Gezicht op een stad",
    "Allegorie",
    "Stilleven",
    "Zeegezicht",
    "Bijbelse voorstelling",
    "Ornament",
    "Studie",
)


@dataclass(frozen=True)
class Artist:
    name: str
    looks: tuple[int, ...]  # indices into the design's looks
    style: Style


def artist_names(count: int, parity: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct Dutch-sounding names "Surname, First (particle)" for one collection."""
    space = [(s, f, p) for s in _SURNAMES for f in _FIRST_NAMES for p in _PARTICLES]
    order = rng.permutation(len(space))[parity::2]
    if count > len(order):
        raise ValueError(f"at most {len(order)} artists per collection, {count} asked")
    names = []
    for index in order[:count]:
        surname, first, particle = space[int(index)]
        names.append(f"{surname}, {first} {particle}".strip())
    return names


def plan_artists(design: Design, count: int, seed: int) -> list[Artist]:
    """The collection's artists, most prolific first: names, media (looks) and styles.

    Styles and names come from one permutation shared by both collections (same ``seed``), each
    collection taking every other entry, so the collections never share an artist.
    """
    shared = np.random.default_rng([seed, 7001])
    styles = assign_styles(2 * count + 2, shared)[design.style_parity :: 2][:count]
    names = artist_names(count, design.style_parity, np.random.default_rng([seed, 7002]))
    rng = np.random.default_rng([seed, design.code, 7003])
    weights = np.asarray([look.weight for look in design.looks], dtype=float)
    artists = []
    for name, style in zip(names, styles, strict=True):
        first = int(rng.choice(len(design.looks), p=weights / weights.sum()))
        kind = design.looks[first].type
        siblings = [i for i, look in enumerate(design.looks) if look.type == kind and i != first]
        looks = (first,)
        if siblings and rng.random() < 0.5:
            looks = (first, siblings[int(rng.integers(len(siblings)))])
        artists.append(Artist(name, looks, style))
    return artists


@dataclass(frozen=True)
class ObjectPlan:
    index: int  # 1-based running number
    look: int
    artist: int | None  # None: anonymous
    signed: bool


def plan_objects(
    design: Design,
    artists: Sequence[Artist],
    objects: int,
    seed: int,
    *,
    artist_zipf: float,
    anonymous_share: float,
    unsigned_share: float,
) -> list[ObjectPlan]:
    """Which look, artist and signature every object gets.

    The look is drawn first, with the design's weights, so types and materials keep their
    shares; then, unless the object is anonymous (``anonymous_share``, or no artist works in
    that look), one of the artists working in that look, with Zipf weights 1/rank^s over the
    collection's ranking: a long tail within every medium.
    """
    rng = np.random.default_rng([seed, design.code, 7004])
    ranks = np.arange(1, len(artists) + 1, dtype=float)
    zipf = ranks ** -float(artist_zipf)
    look_p = np.asarray([look.weight for look in design.looks], dtype=float)
    look_p /= look_p.sum()
    makers = [
        [a for a, artist in enumerate(artists) if look in artist.looks]
        for look in range(len(design.looks))
    ]
    plans = []
    for index in range(1, objects + 1):
        look = int(rng.choice(len(look_p), p=look_p))
        anonymous = rng.random() < anonymous_share
        signed = bool(rng.random() >= unsigned_share)
        if anonymous or not makers[look]:
            plans.append(ObjectPlan(index, look, None, False))
            continue
        weights = zipf[makers[look]]
        artist = makers[look][int(rng.choice(len(weights), p=weights / weights.sum()))]
        plans.append(ObjectPlan(index, look, artist, signed))
    return plans


def _object_number(design: Design, look: Look, index: int) -> str:
    prefix = design.object_prefixes.get(look.type, "BK-NM" if design is RIJKSMUSEUM else "MAS")
    return f"{prefix}-{index}" if "." not in prefix else f"{prefix}.{index}"


# The photograph and the record come from one generator (the record's draws follow the image's),
# so both files need the drawing; the object's two partitions are listed one after the other and
# this cache draws it once when they are evaluated in a row (same worker, same chunk). Evaluated
# apart, it is drawn twice, with the same bytes.
@functools.lru_cache(maxsize=2)
def _draw_object(job: tuple[Any, ...]) -> tuple[bytes, bytes]:
    """One object's photograph (JPEG) and record (XML)."""
    design_name, plan, artist, seed, sizes, fine_cycles, quality = job
    design = DESIGNS[design_name]
    look = design.looks[plan.look]
    rng = np.random.default_rng([seed, design.code, plan.index])
    short = int(rng.integers(sizes[0], sizes[1] + 1))
    long = short * int(rng.integers(100, 141)) // 100
    width, height = (short, long) if rng.random() < 0.5 else (long, short)
    image = draw_medium_image(look.mame_class, width, height, rng, fine_cycles=fine_cycles)
    if artist is not None:
        image = apply_style(image, artist.style, rng, signed=plan.signed)
    year = int(rng.integers(1500, 1890))
    creator = artist.name if artist is not None else ANONYMOUS
    record = record_xml(
        _object_number(design, look, plan.index),
        creators=[f"{look.role}: {creator}"],
        types=[look.type],
        materials=[look.material] if look.material else [],
        titles=[_TITLES[int(rng.integers(len(_TITLES)))]],
        date=f"{year} - {year + int(rng.integers(0, 6))}",
        dimensions=f"hoogte {height // 2} cm x breedte {width // 2} cm",
        record_id=f"COLLECT.{design.code * 100_000 + plan.index}",
        repository=design.repository,
        publisher=design.publisher,
    )
    return jpeg_bytes(image, quality), record


def _object_file(job: tuple[Any, ...], which: int) -> bytes:
    return _draw_object(job)[which]


def write_collection(out_dir: str | os.PathLike[str], design: Design | str, **options: Any) -> Path:
    """Write :func:`collection_partitions` into ``out_dir`` (jpg2/ + xml2/, on all cores unless
    ``workers`` says otherwise); return it. Files of an earlier run that this one does not write
    are removed, so the folder holds exactly this collection."""
    workers = options.pop("workers", None)
    partitions = collection_partitions(design, **options)
    out = write_partitions(out_dir, partitions, workers=workers)
    keep = [out / key for key in partitions]
    for folder, suffix in ((IMAGES_DIR, ".jpg"), (RECORDS_DIR, ".xml")):
        remove_stale_files(out / folder, keep, suffixes=(suffix,))
    return out


def collection_partitions(
    design: Design | str,
    *,
    objects: int,
    artists: int,
    seed: int,
    artist_zipf: float = 1.0,
    anonymous_share: float = 0.15,
    unsigned_share: float = 0.25,
    min_side: int = 72,
    max_side: int = 96,
    fine_cycles: float = 24.0,
    jpeg_quality: int = 90,
) -> dict[str, Callable[[], bytes]]:
    """``objects`` objects of ``design`` as lazy partitions (``artrec.utils.partitions``): per
    object ``jpg2/<stem>.jpg`` and ``xml2/<stem>.xml``, callables drawing them.

    Image sizes: shorter side uniform in [``min_side``, ``max_side``] px, longer side 1.0-1.4
    times it, either orientation.
    """
    design = DESIGNS[design] if isinstance(design, str) else design
    if objects < 1 or artists < 0:
        raise ValueError(f"need objects >= 1 and artists >= 0, got {objects}, {artists}")
    if not 8 <= min_side <= max_side:
        raise ValueError(f"need 8 <= min_side <= max_side, got {min_side}, {max_side}")
    people = plan_artists(design, artists, seed)
    plans = plan_objects(
        design,
        people,
        objects,
        seed,
        artist_zipf=artist_zipf,
        anonymous_share=anonymous_share,
        unsigned_share=unsigned_share,
    )
    partitions: dict[str, Callable[[], bytes]] = {}
    for plan in plans:
        job = (
            design.name,
            plan,
            people[plan.artist] if plan.artist is not None else None,
            seed,
            (min_side, max_side),
            float(fine_cycles),
            jpeg_quality,
        )
        stem = file_stem(plan.index)
        partitions[f"{IMAGES_DIR}/{stem}.jpg"] = functools.partial(_object_file, job, 0)
        partitions[f"{RECORDS_DIR}/{stem}.xml"] = functools.partial(_object_file, job, 1)
    return partitions
