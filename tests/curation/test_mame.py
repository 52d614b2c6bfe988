"""Curation of raw museum records and validation of the official MAMe metadata."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artrec.curation.labelmap import LabelMap
from artrec.curation.mame import (
    MAME_COLUMNS,
    MAME_LABELS,
    apportion,
    curate_museum_records,
    image_size,
    is_greyscale,
    load_official_mame,
)

LABEL_MAP_PATH = Path(__file__).resolve().parents[2] / "conf" / "base" / "mame_label_map.yml"
MET = "Metropolitan Museum of Art"
LAC = "Los Angeles County Museum of Art"
CLE = "The Cleveland Museum of Art"


@pytest.fixture(scope="module")
def label_map() -> LabelMap:
    return LabelMap.load(LABEL_MAP_PATH)


def _colour_image(path: Path, rng: np.random.Generator, size=(40, 30)) -> None:
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


@pytest.fixture()
def museum(tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    """Raw records of three museums: Bronze (15, balanced), Etching (12, Met only),
    Glass (5: too few) and one record for each reason to drop."""
    images = tmp_path / "data"
    images.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for n, (medium, museums) in enumerate(
        [("Bronze", [MET, LAC, CLE]), ("Etching on paper", [MET]), ("Glass, blown", [MET, CLE])]
    ):
        count = {0: 15, 1: 12, 2: 5}[n]
        for k in range(count):
            name = f"{n}_{k:02d}.jpg"
            _colour_image(images / name, rng)
            rows.append((name, museums[k % len(museums)], f"{n}.{k}", medium))
    Image.fromarray(np.full((30, 40, 3), 120, np.uint8)).save(images / "grey_rgb.jpg")
    Image.fromarray(np.full((30, 40), 120, np.uint8)).save(images / "grey_l.png")
    _colour_image(images / "small.jpg", rng, size=(10, 10))
    (images / "broken.jpg").write_bytes(b"not an image")
    whole = (images / "0_00.jpg").read_bytes()
    (images / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    rows += [
        ("grey_rgb.jpg", MET, "g1", "Bronze"),
        ("grey_l.png", LAC, "g2", "bronze"),
        ("small.jpg", MET, "s", "Bronze"),
        ("broken.jpg", MET, "b", "Bronze"),
        ("truncated.jpg", LAC, "t", "Bronze"),
        ("missing.jpg", MET, "m", "Bronze"),
        ("0_00.jpg", MET, "dup", "Bronze"),
        ("screen.jpg", MET, "x", "Screenprint on paper"),
        ("nomuseum.jpg", None, "n", "Bronze"),
    ]
    records = pd.DataFrame(
        rows, columns=["Image file", "Museum", "Museum-based instance ID", "Medium"]
    )
    return records, images


def _curate(records: pd.DataFrame, images: Path, label_map: LabelMap, **overrides):
    arguments = dict(
        images_dir=images,
        label_map=label_map,
        class_order=label_map.classes,
        min_product_size=400,
        drop_greyscale=True,
        min_images_per_class=8,
        split_sizes={"train": 4, "val": 2, "test": 4},
        seed=0,
    )
    arguments.update(overrides)
    return curate_museum_records(records, **arguments)


def test_curation_drops_each_bad_record_with_its_reason(museum, label_map) -> None:
    records, images = museum
    result = _curate(records, images, label_map)
    reasons = dict(zip(result.dropped["Image file"], result.dropped["reason"], strict=True))
    assert reasons["screen.jpg"] == "unmapped medium"
    assert reasons["nomuseum.jpg"] == "missing field"
    assert reasons["grey_rgb.jpg"] == "grey-scale"
    assert reasons["grey_l.png"] == "grey-scale"
    assert reasons["small.jpg"] == "too small"
    assert reasons["broken.jpg"] == "unreadable image"
    assert reasons["missing.jpg"] == "unreadable image"
    assert reasons["truncated.jpg"] == "unreadable image"
    assert all(reasons[f"2_{k:02d}.jpg"] == "class below minimum" for k in range(5))
    assert (result.dropped["reason"] == "duplicate image file").sum() == 1
    # every record is either kept or logged, never both
    assert len(result.dataset) + len(result.dropped) == len(records)
    assert not set(result.dataset["Image file"]) & set(
        result.dropped.loc[result.dropped["reason"] != "duplicate image file", "Image file"]
    )
    assert result.drop_counts()["over class capacity"] == (15 - 10) + (12 - 10)


def test_curated_dataset_is_in_the_official_format(museum, label_map) -> None:
    records, images = museum
    result = _curate(records, images, label_map)
    dataset = result.dataset
    assert dataset.columns.tolist() == MAME_COLUMNS
    assert result.labels == ["Bronze", "Etching"]
    assert dataset["Medium"].drop_duplicates().tolist() == ["Bronze", "Etching"]
    assert set(dataset["Subset"]) == {"train", "val", "test"}
    assert (dataset["Width"] == 40).all() and (dataset["Height"] == 30).all()
    assert (dataset["Product size"] == dataset["Width"] * dataset["Height"]).all()
    assert (dataset["Aspect ratio"] == round(40 / 30, 4)).all()
    assert dataset["Width"].dtype == "float64"


def test_splits_are_per_class_and_museum_balanced(museum, label_map) -> None:
    records, images = museum
    dataset = _curate(records, images, label_map).dataset
    sizes = dataset.groupby(["Medium", "Subset"]).size().unstack()
    assert (sizes["train"] == 4).all() and (sizes["val"] == 2).all() and (sizes["test"] == 4).all()
    bronze = dataset[dataset["Medium"] == "Bronze"].groupby("Museum").size()
    assert bronze.max() - bronze.min() <= 1  # 10 of 15 kept, balanced over three museums
    train = dataset[(dataset["Medium"] == "Bronze") & (dataset["Subset"] == "train")]
    assert train["Museum"].nunique() == 3


def test_splits_are_deterministic_and_ignore_input_order(museum, label_map) -> None:
    records, images = museum
    first = _curate(records, images, label_map).dataset
    shuffled = records.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = _curate(shuffled, images, label_map).dataset
    pd.testing.assert_frame_equal(first, again)
    other = _curate(records, images, label_map, seed=1).dataset
    assert set(first["Image file"]) != set(other["Image file"]) or not first.equals(other)


def test_without_test_cap_the_rest_goes_to_test(museum, label_map) -> None:
    records, images = museum
    result = _curate(records, images, label_map, split_sizes={"train": 4, "val": 2})
    tests = result.dataset[result.dataset["Subset"] == "test"].groupby("Medium").size()
    assert tests.to_dict() == {"Bronze": 15 - 6, "Etching": 12 - 6}
    assert "over class capacity" not in result.drop_counts()


def test_minimum_and_its_exceptions(museum, label_map) -> None:
    records, images = museum
    result = _curate(records, images, label_map, min_images_per_class=13)
    assert result.labels == ["Bronze"]
    assert set(result.dropped.loc[result.dropped["class"] == "Etching", "reason"]) == {
        "class below minimum"
    }
    kept = _curate(
        records, images, label_map, min_images_per_class=13, min_images_exceptions=["Etching"]
    )
    assert kept.labels == ["Bronze", "Etching"]
    with pytest.raises(ValueError, match="leaves no test image"):
        _curate(records, images, label_map, min_images_per_class=6)


def test_grey_scale_kept_when_not_dropped(museum, label_map) -> None:
    records, images = museum
    result = _curate(records, images, label_map, drop_greyscale=False)
    assert "grey-scale" not in result.drop_counts()
    assert result.drop_counts()["unreadable image"] == 2  # the truncated file's header reads


def test_missing_record_columns_are_named(label_map, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Museum-based instance ID"):
        _curate(pd.DataFrame({"Image file": [], "Museum": [], "Medium": []}), tmp_path, label_map)


def test_greyscale_detection(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    grey = np.repeat(rng.integers(0, 256, (60, 80, 1), dtype=np.uint8), 3, axis=2)
    Image.fromarray(grey).save(tmp_path / "grey.jpg", quality=90)
    stamped = grey.copy()
    stamped[:3, :3] = (255, 0, 0)  # a tiny coloured stamp: still a grey-scale image
    Image.fromarray(stamped).save(tmp_path / "stamped.png")
    sepia = np.stack([grey[..., 0], (grey[..., 0] * 0.8), (grey[..., 0] * 0.6)], axis=2)
    Image.fromarray(sepia.astype(np.uint8)).save(tmp_path / "sepia.jpg", quality=90)
    _colour_image(tmp_path / "colour.jpg", rng)
    Image.fromarray(grey[..., 0]).save(tmp_path / "mode_l.png")
    assert is_greyscale(tmp_path / "grey.jpg")
    assert is_greyscale(tmp_path / "stamped.png")
    assert is_greyscale(tmp_path / "mode_l.png")
    assert not is_greyscale(tmp_path / "sepia.jpg")
    assert not is_greyscale(tmp_path / "colour.jpg")


def test_image_size_reads_headers_beyond_the_bomb_limit(tmp_path: Path, monkeypatch) -> None:
    _colour_image(tmp_path / "big.png", np.random.default_rng(2), size=(64, 48))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64 x 48 is now a "bomb"
    assert image_size(tmp_path / "big.png") == (64, 48)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_apportion() -> None:
    assert apportion(10, [1, 1, 1], [5, 5, 4]) == [4, 3, 3]
    assert apportion(10, [1, 1, 1], [1, 9, 9]) == [1, 5, 4]
    assert apportion(7, [6, 3, 1], [6, 3, 1]) == [4, 2, 1]
    assert sum(apportion(700, [483, 483, 484], [483, 483, 484])) == 700
    with pytest.raises(ValueError):
        apportion(5, [1, 1], [2, 2])


# ---- official metadata -------------------------------------------------------------------------
def test_official_mame_metadata_validates(shared_dir: Path) -> None:
    dataset, labels = load_official_mame(shared_dir / "data" / "mame")
    assert labels == list(MAME_LABELS)
    assert len(dataset) == 37407
    assert dataset.columns.tolist() == MAME_COLUMNS
    # the official file writes "Woven fabric " with a trailing space; the loader strips it
    assert (dataset["Medium"] == "Woven fabric").sum() == 1450
    assert dataset["Museum-based instance ID"].map(type).eq(str).all()
    toy, _ = load_official_mame(shared_dir / "data" / "mame", dataset_file="MAMe_toy_dataset.csv")
    assert set(toy["Medium"]) == set(MAME_LABELS)


def _metadata(tmp_path: Path, labels=("Bronze", "Etching")) -> Path:
    folder = tmp_path / "meta"
    folder.mkdir(exist_ok=True)
    (folder / "MAMe_labels.csv").write_text(
        "".join(f"{i},{name}\n" for i, name in enumerate(labels)), encoding="utf-8"
    )
    frame = pd.DataFrame(
        [
            ("a.jpg", "Bronze", MET, "1.2", "train", 40.0, 30.0, 1200.0, 1.3333),
            ("b.jpg", "Etching", CLE, "1980.266", "test", 30.0, 40.0, 1200.0, 0.75),
        ],
        columns=MAME_COLUMNS,
    )
    frame.to_csv(folder / "MAMe_dataset.csv", index=False)
    return folder


def test_load_small_official_metadata_and_check_images(tmp_path: Path) -> None:
    folder = _metadata(tmp_path)
    dataset, labels = load_official_mame(folder, None, expected_labels=None)
    assert labels == ["Bronze", "Etching"]
    assert dataset["Museum-based instance ID"].tolist() == ["1.2", "1980.266"]
    images = tmp_path / "images"
    images.mkdir()
    load_official_mame(folder, images, expected_labels=None)  # empty folder: not checked
    _colour_image(images / "a.jpg", np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"1 of 2 images .* missing.*b\.jpg"):
        load_official_mame(folder, images, expected_labels=None)
    shutil.copy(images / "a.jpg", images / "b.jpg")
    assert len(load_official_mame(folder, images, expected_labels=None)[0]) == 2


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Subset", "validation", r"line 3, column 'Subset': 'validation' is not one of"),
        ("Medium", "Brass", r"line 3, column 'Medium': 'Brass' is not a label"),
        ("Width", "wide", r"line 3, column 'Width': .* is not a positive number"),
        ("Height", "-40", r"line 3, column 'Height'"),
        ("Product size", "1000", r"line 3, column 'Product size'.*not Width x Height"),
        ("Aspect ratio", "2.0", r"line 3, column 'Aspect ratio'.*not Width / Height"),
        ("Image file", "a.jpg", r"line 3, column 'Image file': 'a.jpg' appears twice"),
        ("Museum", " ", r"line 3, column 'Museum'.*is empty"),
    ],
)
def test_bad_metadata_values_are_named(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    folder = _metadata(tmp_path)
    frame = pd.read_csv(folder / "MAMe_dataset.csv", dtype=str)
    frame.loc[1, column] = value
    frame.to_csv(folder / "MAMe_dataset.csv", index=False)
    with pytest.raises(ValueError, match=message):
        load_official_mame(folder, None, expected_labels=None)


def test_bad_columns_and_labels_are_named(tmp_path: Path) -> None:
    folder = _metadata(tmp_path)
    with pytest.raises(ValueError, match="differ from the 29 expected MAMe labels|2 labels differ"):
        load_official_mame(folder, None)
    (folder / "MAMe_labels.csv").write_text("0,Bronze\n2,Etching\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"MAMe_labels.csv: line 2: index '2', expected 1"):
        load_official_mame(folder, None, expected_labels=None)
    _metadata(tmp_path)
    frame = pd.read_csv(folder / "MAMe_dataset.csv").drop(columns=["Subset"])
    frame.to_csv(folder / "MAMe_dataset.csv", index=False)
    with pytest.raises(ValueError, match="differ from the official"):
        load_official_mame(folder, None, expected_labels=None)
    with pytest.raises(ValueError, match="cannot read the MAMe labels"):
        load_official_mame(tmp_path / "nowhere", None)
