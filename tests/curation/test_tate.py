"""Curating the Tate media dataset: classes, the images ingest and curation agree on, splits,
dropped records, tags; the committed description facts against the real metadata."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from artrec.curation.medium_tags import default_tagger
from artrec.curation.tate import (
    class_descriptions,
    curate_tate,
    media_facts,
    select_image_records,
    tag_vocabulary,
)
from artrec.datasets.tate import read_tate_artworks
from artrec.errors import BadInputError
from artrec.synth.tate import generate_tate_dataset, load_media_facts

FACTS = Path(__file__).resolve().parents[2] / "conf" / "base" / "tate_media.csv"
SPLIT = {"train": 2, "val": 1, "test": 2}


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tate_raw")
    generate_tate_dataset(
        out,
        facts_path=FACTS,
        records=1500,
        n_classes=4,
        images_per_class=sum(SPLIT.values()),
        thumbnail_size_px=16,
        fine_cycles=4,
        seed=3,
        tagger=default_tagger(),
    )
    return out


def _records(raw_dir: Path) -> pd.DataFrame:
    return read_tate_artworks(raw_dir / "tate_artworks.csv")


def test_classes_are_the_most_frequent_descriptions_with_thumbnails() -> None:
    records = pd.DataFrame(
        {
            "medium": ["A", "A", "A", "B", "B", "C", "C", "C", ""],
            "thumbnailUrl": ["u", "u", "", "u", "u", "u", "u", "u", "u"],
        }
    )
    table = class_descriptions(records, 2)
    # C has three records with thumbnails; A and B two each, the tie goes to A; "" is no class.
    assert table["medium"].tolist() == ["C", "A"] and table["records"].tolist() == [3, 2]


def test_curation_splits_each_class_and_tags_it(raw_dir: Path) -> None:
    result = curate_tate(_records(raw_dir), raw_dir, default_tagger(), 4, SPLIT, seed=3)
    dataset, classes = result.dataset, result.classes
    assert classes["name"].tolist()[:2] == ["Graphite on paper", "Oil paint on canvas"]
    assert classes["tags"].tolist()[:2] == ["graphite;paper", "oil paint;canvas"]
    counts = dataset.groupby(["label", "split"]).size().unstack()
    assert (counts["train"] == 2).all() and (counts["val"] == 1).all()
    assert (counts["test"] == 2).all()
    assert all((raw_dir / image).is_file() for image in dataset["image"])
    assert result.metrics["images"] == {"train": 8, "val": 4, "test": 8}
    assert result.metrics["parse"]["share_rows_fully_parsed"] == 1.0
    assert tag_vocabulary(classes)[:3] == ["graphite", "paper", "oil paint"]


def test_ingest_and_curation_select_the_same_records(raw_dir: Path) -> None:
    records = _records(raw_dir)
    names = class_descriptions(records, 4)["medium"].tolist()
    chosen = select_image_records(records, names, sum(SPLIT.values()), seed=3)
    on_disk = sorted(str(p.relative_to(raw_dir)) for p in (raw_dir / "images").rglob("*.jpg"))
    assert sorted(chosen["image"]) == on_disk
    # A class's choice does not depend on the other classes.
    alone = select_image_records(records, names[1:2], sum(SPLIT.values()), seed=3)
    assert alone["id"].tolist() == chosen.loc[chosen["label"] == 1, "id"].tolist()


def test_a_missing_thumbnail_is_dropped_and_training_images_give_way(
    raw_dir: Path, tmp_path: Path
) -> None:
    records = _records(raw_dir)
    result = curate_tate(records, raw_dir, default_tagger(), 4, SPLIT, seed=3)
    victim = result.dataset.iloc[0]
    copy = tmp_path / "raw"
    for image in result.dataset["image"]:
        if image != victim["image"]:
            (copy / image).parent.mkdir(parents=True, exist_ok=True)
            (copy / image).write_bytes((raw_dir / image).read_bytes())
    again = curate_tate(records, copy, default_tagger(), 4, SPLIT, seed=3)
    assert again.dropped["id"].tolist() == [victim["id"]]
    assert again.dropped["reason"].iloc[0].startswith("no image")
    assert again.metrics["dropped"] == {"no image": 1}
    label = victim["label"]
    splits = again.dataset.loc[again.dataset["label"] == label, "split"].value_counts()
    assert splits["val"] == 1 and splits["test"] == 2 and splits["train"] == 1


def test_too_few_images_is_one_clear_error(raw_dir: Path) -> None:
    with pytest.raises(BadInputError, match="too few") as raised:
        curate_tate(
            _records(raw_dir),
            raw_dir,
            default_tagger(),
            4,
            {"train": 2, "val": 3, "test": 2},
            seed=3,
        )
    assert "Fix:" in str(raised.value)
    with pytest.raises(BadInputError, match="classes asked"):
        curate_tate(_records(raw_dir), raw_dir, default_tagger(), 500, SPLIT, seed=3)


def test_committed_facts_are_those_of_the_real_metadata(shared_dir: Path) -> None:
    path = shared_dir / "data" / "tate" / "tate_artworks.csv.gz"
    if not path.is_file():
        pytest.skip("the real Tate metadata is not present")
    computed = media_facts(read_tate_artworks(path), top=200)
    committed = load_media_facts(FACTS)
    pd.testing.assert_frame_equal(committed, computed, check_dtype=False)
