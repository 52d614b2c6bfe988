"""Curation of the Tate media dataset (the Tate poster): classes, images, splits, medium tags.

The poster classifies artworks into 10 medium-description classes. Here the classes are the
``n_classes`` most frequent non-empty ``medium`` descriptions among the records that have a
thumbnail (only those can have an image); ties go to the description that sorts first. On the
real metadata (October 2014) they are: Graphite on paper, Oil paint on canvas, Screenprint on
paper, Lithograph on paper, Watercolour on paper, Graphite and watercolour on paper, Etching on
paper, Ink on paper, Engraving on paper, Intaglio print on paper. (The poster's own list is not
printed; it names "pen and ink on paper" and "line engraving", so its snapshot differed.)

Which records get an image: per class, the records of that description with a thumbnail, in a
seeded random order (``np.random.default_rng([seed, crc32(description)])`` over the records
sorted by id, so one class's choice does not depend on the others), the first
``train + val + test`` of them. The ingest stage fetches (or, synthetic, draws) exactly those
thumbnails with :func:`select_image_records`; curation re-derives the same list, drops records
whose image is missing or unreadable (a failed download) with the reason, and splits each class
in that order: ``val`` images, then ``test``, then up to ``train``. A short class loses training
images first, so the validation and test sets keep their sizes.

Each class's description is parsed into medium tags (``artrec.curation.medium_tags``) for the
multi-binary system; the tag vocabulary of the run is the union of the classes' tags.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artrec.curation.medium_tags import MediumTagger, parse_coverage
from artrec.datasets.tate import thumbnail_relpaths
from artrec.errors import BadInputError
from artrec.images.decode import BadImageError, read_size

SPLITS = ("train", "val", "test")
DATASET_COLUMNS = ("id", "acno", "medium", "label", "split", "image", "tags")
TAG_SEPARATOR = ";"
# Columns of the committed facts (conf/base/tate_media.csv) the synthetic default follows.
FACT_COLUMNS = ("medium", "records", "with_thumbnail", "classification")


def class_descriptions(records: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    """The ``n_classes`` most frequent non-empty descriptions among records with a thumbnail:
    columns ``medium`` and ``records`` (that count), most frequent first."""
    usable = records[(records["medium"].str.strip() != "") & (records["thumbnailUrl"] != "")]
    counts = usable["medium"].value_counts()
    table = pd.DataFrame({"medium": counts.index.astype(str), "records": counts.to_numpy()})
    table = table.sort_values(["records", "medium"], ascending=[False, True], ignore_index=True)
    return table.head(n_classes)


def _class_order(frame: pd.DataFrame, description: str, seed: int) -> pd.DataFrame:
    ordered = frame.assign(_id=frame["id"].astype(np.int64)).sort_values("_id")
    rng = np.random.default_rng([seed, zlib.crc32(description.encode("utf-8"))])
    return ordered.iloc[rng.permutation(len(ordered))].drop(columns="_id")


def select_image_records(
    records: pd.DataFrame, classes: list[str], per_class: int, seed: int
) -> pd.DataFrame:
    """Per class (in ``classes`` order) the first ``per_class`` records with a thumbnail in the
    class's seeded order, with columns ``label`` (class index) and ``image`` (relative path)."""
    has_image = records["thumbnailUrl"] != ""
    chosen = []
    for label, description in enumerate(classes):
        members = records[has_image & (records["medium"] == description)]
        chosen.append(_class_order(members, description, seed).head(per_class).assign(label=label))
    selected = pd.concat(chosen, ignore_index=True) if chosen else records.head(0)
    return selected.assign(image=thumbnail_relpaths(selected["thumbnailUrl"]).to_numpy())


@dataclass(frozen=True)
class TateCuration:
    """The curated dataset, its classes (with tags), dropped records and the numbers."""

    dataset: pd.DataFrame
    classes: pd.DataFrame
    dropped: pd.DataFrame
    metrics: dict[str, Any]


def curate_tate(
    records: pd.DataFrame,
    raw_dir: str | Path,
    tagger: MediumTagger,
    n_classes: int,
    split: Mapping[str, int],
    seed: int,
) -> TateCuration:
    """Classes, images and splits from validated records (``datasets.tate.read_tate_artworks``)."""
    sizes = {name: int(split.get(name, 0)) for name in SPLITS}
    classes = class_descriptions(records, n_classes)
    if len(classes) < n_classes:
        raise BadInputError(
            raw_dir,
            f"only {len(classes)} descriptions have thumbnails, {n_classes} classes asked",
            "lower curate.tate.n_classes or check data.tate.source",
        )
    names = classes["medium"].tolist()
    selected = select_image_records(records, names, sum(sizes.values()), seed)
    reasons = [_image_problem(Path(raw_dir), image) for image in selected["image"]]
    ok = np.array([reason == "" for reason in reasons], dtype=bool)
    dropped = pd.DataFrame(
        {
            "id": selected["id"].to_numpy()[~ok],
            "image": selected["image"].to_numpy()[~ok],
            "reason": pd.Series([r for r in reasons if r], dtype=str),
        }
    )
    kept = selected[ok]
    parts = []
    for label in range(len(names)):
        members = kept[kept["label"] == label]
        n_val = min(sizes["val"], len(members))
        n_test = min(sizes["test"], len(members) - n_val)
        n_train = min(sizes["train"], len(members) - n_val - n_test)
        if n_train < 1:
            raise BadInputError(
                raw_dir,
                f"class {names[label]!r} has {len(members)} usable images, too few for "
                f"{sizes['val']} validation + {sizes['test']} test + training images",
                "lower curate.tate.split or fetch the missing thumbnails (rerun ingest_tate)",
            )
        subset = ["val"] * n_val + ["test"] * n_test + ["train"] * n_train
        parts.append(members.iloc[: len(subset)].assign(split=subset))
    dataset = pd.concat(parts, ignore_index=True)
    class_tags = [tagger.tag_set(name) for name in names]
    dataset["tags"] = [TAG_SEPARATOR.join(class_tags[label]) for label in dataset["label"]]
    dataset = dataset[list(DATASET_COLUMNS)]
    class_table = pd.DataFrame(
        {
            "index": range(len(names)),
            "name": names,
            "tags": [TAG_SEPARATOR.join(tags) for tags in class_tags],
            "records_with_thumbnail": classes["records"].to_numpy(),
            "images": [int((dataset["label"] == i).sum()) for i in range(len(names))],
        }
    )
    counts = dataset.groupby("split")["id"].count()
    metrics = {
        "records": len(records),
        "classes": len(names),
        "tags": len(tag_vocabulary(class_table)),
        "images": {name: int(counts.get(name, 0)) for name in SPLITS},
        "dropped": {
            str(k): int(v)
            for k, v in dropped["reason"].str.split(":").str[0].value_counts().items()
        },
        "parse": parse_coverage(records["medium"], tagger),
    }
    return TateCuration(dataset, class_table, dropped, metrics)


def _image_problem(raw_dir: Path, image: object) -> str:
    """Why a selected record cannot be used ("" when its thumbnail is a readable image)."""
    if not isinstance(image, str):
        return "no thumbnail path"
    path = raw_dir / image
    if not path.is_file():
        return f"no image: {image} is missing (its download failed?)"
    try:
        read_size(path)
    except (BadImageError, BadInputError, OSError) as error:
        return f"unreadable image: {error}"
    return ""


def tag_vocabulary(classes: pd.DataFrame) -> list[str]:
    """The run's tags: every tag of the classes, in the order they first appear."""
    tags: dict[str, None] = {}
    for joined in classes["tags"]:
        tags.update(dict.fromkeys(t for t in str(joined).split(TAG_SEPARATOR) if t))
    return list(tags)


def media_facts(records: pd.DataFrame, top: int) -> pd.DataFrame:
    """The facts the synthetic default follows (``conf/base/tate_media.csv``): the ``top`` most
    frequent descriptions (the empty one included) with their record count, records with a
    thumbnail, and their most frequent classification.

    Regenerate with ``python -m artrec.curation.tate FILE OUT`` (from the real metadata).
    """
    grouped = records.groupby("medium", sort=False)
    facts = (
        pd.DataFrame(
            {
                "records": grouped["id"].count(),
                "with_thumbnail": grouped["thumbnailUrl"].agg(lambda urls: int((urls != "").sum())),
                "classification": grouped["classification"].agg(
                    lambda c: (
                        c.value_counts()
                        .sort_index()
                        .sort_values(ascending=False, kind="stable")
                        .index[0]
                    )
                ),
            }
        )
        .rename_axis("medium")
        .reset_index()
    )
    facts = facts.sort_values(["records", "medium"], ascending=[False, True], ignore_index=True)
    return facts.head(top)[list(FACT_COLUMNS)]


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    import sys

    from artrec.datasets.tate import read_tate_artworks

    source, out = sys.argv[1], sys.argv[2]
    media_facts(read_tate_artworks(source), top=200).to_csv(out, index=False, lineterminator="\n")
