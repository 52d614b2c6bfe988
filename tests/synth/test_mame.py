"""Synthetic MAMe generator: drawing, raw museum records, the official file format, separability."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from artrec.synth import mame_sizes
from artrec.synth.mame import (
    DATASET_COLUMNS,
    DATASET_CSV_SPELLING,
    MAME_CLASSES,
    RAW_MEDIUM_VARIANTS,
    RECORD_COLUMNS,
    RECORDS_REPORT_NAME,
    UNMAPPED_RAW_MEDIA,
    draw_medium_image,
    generate_museum_records,
    write_mame_dataset,
)

DATASET_CLASSES = ["Engraving", "Gold", "Woven fabric"]
SPLITS = {"train": 3, "val": 1, "test": 2}
RECORD_CLASSES = ["Engraving", "Oil on canvas", "Porcelain", "Woven fabric"]


def colour_spread(image: Image.Image) -> float:
    """Channel spread (max - min, of 255) of the most colourful 1% of a 64 px thumbnail's pixels.

    0 for a grey-scale picture; a curation rule may call a picture grey below a small tolerance.
    """
    thumb = image.convert("RGB")
    thumb.thumbnail((64, 64))
    return float(np.quantile(np.ptp(np.asarray(thumb, dtype=np.int16), axis=2), 0.99))


def is_greyscale(image: Image.Image) -> bool:
    return image.mode == "L" or colour_spread(image) == 0.0


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# ---- drawing --------------------------------------------------------------------------------


@pytest.mark.parametrize("medium", MAME_CLASSES)
def test_every_class_draws_a_colour_picture(medium: str) -> None:
    for width, height in ((72, 54), (40, 110)):
        image = draw_medium_image(medium, width, height, np.random.default_rng(0))
        assert image.mode == "RGB" and image.size == (width, height)
        # Every colour record must stay clearly apart from the grey-scale ones curation drops.
        assert colour_spread(image) > 12.0


def test_drawing_is_deterministic_per_seed() -> None:
    def pixels(seed: int) -> np.ndarray:
        image = draw_medium_image("Etching", 90, 120, np.random.default_rng(seed))
        return np.asarray(image)

    np.testing.assert_array_equal(pixels(1), pixels(1))
    assert not np.array_equal(pixels(1), pixels(2))


def test_drawing_rejects_unknown_media_and_tiny_sizes() -> None:
    with pytest.raises(KeyError, match="Papyrus"):
        draw_medium_image("Papyrus", 50, 50, np.random.default_rng(0))
    with pytest.raises(ValueError, match="too small"):
        draw_medium_image("Gold", 5, 50, np.random.default_rng(0))


# ---- raw medium strings ---------------------------------------------------------------------


def test_raw_medium_strings_cover_every_class_once() -> None:
    assert list(RAW_MEDIUM_VARIANTS) == list(MAME_CLASSES)
    every = [raw for variants in RAW_MEDIUM_VARIANTS.values() for raw in variants]
    assert len(every) == len(set(every)), "a raw string must belong to exactly one class"
    for medium, variants in RAW_MEDIUM_VARIANTS.items():
        assert variants[0] == medium
    tidy = {raw.strip().lower() for raw in every}
    assert not tidy & {raw.strip().lower() for raw in UNMAPPED_RAW_MEDIA}


def test_raw_medium_strings_carry_the_untidiness_curation_handles() -> None:
    every = [raw for variants in RAW_MEDIUM_VARIANTS.values() for raw in variants]
    assert any(raw != raw.strip() for raw in every)  # stray spaces
    assert any(raw.endswith(";") for raw in every)  # punctuation
    assert "bronze" in RAW_MEDIUM_VARIANTS["Bronze"]  # case
    assert "Pottery" in RAW_MEDIUM_VARIANTS["Ceramic"]  # terminology
    assert "Terracotta" in RAW_MEDIUM_VARIANTS["Ceramic"]  # taxonomy
    assert {"Hard-paste porcelain", "Soft-paste porcelain"} <= set(RAW_MEDIUM_VARIANTS["Porcelain"])
    assert {"Cotton", "Linen"} <= set(RAW_MEDIUM_VARIANTS["Woven fabric"])  # visual coherency
    assert "Etching and engraving" in RAW_MEDIUM_VARIANTS["Etching"]  # combinations
    assert "Oil on canvas, mounted on board" in RAW_MEDIUM_VARIANTS["Oil on canvas"]
    assert {"Screenprint", "Photogravure", "Gelatin silver print"} <= set(UNMAPPED_RAW_MEDIA)


# ---- raw museum records ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, dict]:
    out = tmp_path_factory.mktemp("records")
    csv_path = generate_museum_records(out, RECORD_CLASSES, 6, seed=3, scale=0.05)
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    report = pd.read_json(out / RECORDS_REPORT_NAME, typ="series").to_dict()
    return out, table, report


def test_records_have_the_museum_columns_and_files(records) -> None:
    out, table, report = records
    assert list(table.columns) == list(RECORD_COLUMNS)
    assert set(table["Museum"]) <= set(mame_sizes.MUSEUMS)
    assert table["Image file"].is_unique
    assert all((out / "data" / name).is_file() for name in table["Image file"])
    counts = report["counts"]
    assert counts["records"] == len(table)
    assert counts["curatable"] == 6 * len(RECORD_CLASSES)
    assert counts["records"] == sum(
        counts[k] for k in ("curatable", "greyscale", "too_small", "unmapped")
    )


def test_records_are_byte_identical_for_a_seed(records, tmp_path: Path) -> None:
    out, _, _ = records
    generate_museum_records(tmp_path, RECORD_CLASSES, 6, seed=3, scale=0.05)
    assert tree_bytes(tmp_path) == tree_bytes(out)


def test_records_keep_raw_untidy_medium_strings(records) -> None:
    _, table, _ = records
    known = {raw for medium in RECORD_CLASSES for raw in RAW_MEDIUM_VARIANTS[medium]}
    assert set(table["Medium"]) <= known | set(UNMAPPED_RAW_MEDIA)
    # Each class has more records than variants, so every variant shows up, spaces and commas kept.
    assert known <= set(table["Medium"])
    assert "Woven fabric " in set(table["Medium"])
    assert "Oil on canvas, mounted on board" in set(table["Medium"])


def test_records_hold_what_curation_must_drop(records) -> None:
    out, table, report = records
    minimum = report["min_product_size"]
    assert minimum == round(mame_sizes.PAPER_MIN_PRODUCT_SIZE * 0.05**2)
    grey, small = set(report["greyscale_files"]), set(report["too_small_files"])
    unmapped = set(report["unmapped_files"])
    assert grey and small and unmapped
    assert {Image.open(out / "data" / name).mode for name in grey} == {"L", "RGB"}
    for name in table["Image file"]:
        with Image.open(out / "data" / name) as image:
            assert is_greyscale(image) == (name in grey), name
            width, height = image.size
        assert (width * height < minimum) == (name in small), name
    media = dict(zip(table["Image file"], table["Medium"], strict=True))
    assert {media[name] for name in unmapped} <= set(UNMAPPED_RAW_MEDIA)
    assert not {media[n] for n in set(media) - unmapped} & set(UNMAPPED_RAW_MEDIA)


# ---- the MAMe-format dataset ----------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mame")
    write_mame_dataset(out, DATASET_CLASSES, SPLITS, seed=7, scale=0.05)
    return out


def test_dataset_has_the_official_columns_and_number_formats(dataset: Path) -> None:
    text = (dataset / "MAMe_dataset.csv").read_text()
    lines = text.splitlines()
    assert lines[0] == ",".join(DATASET_COLUMNS)
    assert len(lines) == 1 + len(DATASET_CLASSES) * sum(SPLITS.values())
    number = re.compile(r",(train|val|test),\d+\.0,\d+\.0,\d+\.0,\d+\.\d{1,4}$")
    assert all(number.search(line) for line in lines[1:])
    table = pd.read_csv(dataset / "MAMe_dataset.csv")
    assert table["Subset"].tolist() == sorted(table["Subset"], key=["train", "val", "test"].index)
    assert set(table["Medium"]) == {DATASET_CSV_SPELLING.get(m, m) for m in DATASET_CLASSES}
    assert (table["Product size"] == table["Width"] * table["Height"]).all()
    assert np.allclose(table["Aspect ratio"], (table["Width"] / table["Height"]).round(4))
    assert table["Image file"].is_unique


def test_dataset_images_match_their_metadata(dataset: Path) -> None:
    table = pd.read_csv(dataset / "MAMe_dataset.csv")
    minimum = mame_sizes.PAPER_MIN_PRODUCT_SIZE * 0.05**2
    for row in table.itertuples(index=False):
        with Image.open(dataset / "data" / row[0]) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == (int(row.Width), int(row.Height))
    assert (table["Product size"] >= minimum).all()


def test_labels_file_lists_all_29_classes_in_official_order(dataset: Path) -> None:
    lines = (dataset / "MAMe_labels.csv").read_text().splitlines()
    assert lines == [f"{i},{name}" for i, name in enumerate(MAME_CLASSES)]


def test_dataset_is_byte_identical_for_a_seed(dataset: Path, tmp_path: Path) -> None:
    write_mame_dataset(tmp_path, DATASET_CLASSES, SPLITS, seed=7, scale=0.05)
    assert tree_bytes(tmp_path) == tree_bytes(dataset)


def test_regenerating_replaces_an_earlier_dataset(tmp_path: Path) -> None:
    write_mame_dataset(tmp_path, ["Gold", "Iron"], {"train": 2}, seed=1, scale=0.05)
    write_mame_dataset(tmp_path, ["Gold"], {"train": 1, "test": 1}, seed=2, scale=0.05)
    table = pd.read_csv(tmp_path / "MAMe_dataset.csv")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(table["Image file"])
    assert table["Subset"].tolist() == ["train", "test"]


def test_dataset_rejects_unknown_classes_and_subsets(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="Papyrus"):
        write_mame_dataset(tmp_path, ["Papyrus"], SPLITS, seed=0, scale=0.05)
    with pytest.raises(ValueError, match="holdout"):
        write_mame_dataset(tmp_path, ["Gold"], {"holdout": 1}, seed=0, scale=0.05)
    with pytest.raises(ValueError, match="non-negative"):
        write_mame_dataset(tmp_path, ["Gold"], {"train": -1}, seed=0, scale=0.05)
    with pytest.raises(ValueError, match="too small to draw"):
        generate_museum_records(tmp_path, ["Gold"], 1, seed=0, scale=0.005)


def test_dataset_matches_the_real_files(dataset: Path, shared_dir: Path) -> None:
    real_dir = shared_dir / "data" / "mame"
    real_csv = (real_dir / "MAMe_dataset.csv").read_text()
    ours = (dataset / "MAMe_dataset.csv").read_text()
    assert ours.splitlines()[0] == real_csv.splitlines()[0]
    real, synthetic = pd.read_csv(io.StringIO(real_csv)), pd.read_csv(io.StringIO(ours))
    assert synthetic.dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict()
    assert set(synthetic["Medium"]) <= set(real["Medium"])
    assert set(synthetic["Museum"]) <= set(real["Museum"])
    assert (dataset / "MAMe_labels.csv").read_bytes() == (real_dir / "MAMe_labels.csv").read_bytes()


# ---- embedded size statistics ---------------------------------------------------------------


def test_sampled_sizes_follow_the_class_and_scale_linearly() -> None:
    for medium in MAME_CLASSES:
        low, high = (
            mame_sizes.ASPECT_RATIO_QUANTILES[medium][0],
            mame_sizes.ASPECT_RATIO_QUANTILES[medium][-1],
        )
        for seed in range(5):
            width, height = mame_sizes.sample_image_size(medium, np.random.default_rng(seed), 1.0)
            assert low - 0.01 <= width / height <= high + 0.01
            assert width * height >= 0.99 * 1000 * mame_sizes.PRODUCT_SIZE_KPX_QUANTILES[medium][0]
    full = mame_sizes.sample_image_size("Steel", np.random.default_rng(9), 1.0)
    tenth = mame_sizes.sample_image_size("Steel", np.random.default_rng(9), 0.1)
    assert tenth == (round(full[0] / 10), round(full[1] / 10)) or abs(tenth[0] - full[0] / 10) <= 1


def test_embedded_statistics_match_the_real_metadata(shared_dir: Path) -> None:
    real = pd.read_csv(shared_dir / "data" / "mame" / "MAMe_dataset.csv")
    real["Medium"] = real["Medium"].str.strip()
    labels = (shared_dir / "data" / "mame" / "MAMe_labels.csv").read_text().splitlines()
    assert [line.split(",", 1)[1] for line in labels] == list(MAME_CLASSES)
    levels = list(mame_sizes.QUANTILE_LEVELS)
    for medium, group in real.groupby("Medium"):
        sizes = group["Product size"].quantile(levels).to_numpy() / 1000
        np.testing.assert_allclose(mame_sizes.PRODUCT_SIZE_KPX_QUANTILES[medium], sizes, atol=0.5)
        aspects = group["Aspect ratio"].quantile(levels).to_numpy()
        np.testing.assert_allclose(mame_sizes.ASPECT_RATIO_QUANTILES[medium], aspects, atol=5e-4)
        museums = group["Museum"].value_counts()
        expected = tuple(int(museums.get(m, 0)) for m in mame_sizes.MUSEUMS)
        assert mame_sizes.MUSEUM_COUNTS[medium] == expected


# ---- fine cues: visible at high resolution, averaged away at low resolution -----------------


def spectral_features(image: Image.Image) -> np.ndarray:
    """Radial and angular power spectrum of the centre square, spectral peakiness, colour stats."""
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    grey = pixels.mean(axis=2)
    height, width = grey.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = grey[top : top + side, left : left + side]
    window = np.hanning(side)[:, None] * np.hanning(side)[None, :]
    power = np.abs(np.fft.fftshift(np.fft.fft2((crop - crop.mean()) * window))) ** 2
    freq = np.fft.fftshift(np.fft.fftfreq(side))
    radius = np.hypot(freq[None, :], freq[:, None])
    angle = np.arctan2(freq[:, None], freq[None, :]) % np.pi
    edges = np.linspace(0.02, 0.5, 9)
    total = power[radius >= 0.02].mean() + 1e-9
    radial = [
        power[(radius >= a) & (radius < b)].mean() / total
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    high = radius >= 0.15
    sectors = np.sort(
        np.log(
            [
                power[high & (angle >= k * np.pi / 12) & (angle < (k + 1) * np.pi / 12)].mean()
                + 1e-9
                for k in range(12)
            ]
        )
    )
    band = power[(radius >= 0.12) & (radius < 0.5)]
    colour = np.concatenate([pixels.reshape(-1, 3).mean(0), pixels.reshape(-1, 3).std(0)])
    return np.concatenate(
        [np.log(radial), [np.log(band.max() / band.mean())], sectors - sectors.mean(), colour]
    )


@pytest.mark.parametrize(
    ("pair", "margin"),
    [(("Engraving", "Etching"), 0.2), (("Oil on canvas", "Polychromed wood"), 0.1)],
)
def test_fine_cue_pairs_separate_better_at_high_resolution(pair, margin: float) -> None:
    s_hr, s_lr, per_class = 160, 64, 16
    features: dict[str, list[np.ndarray]] = {"HR&VS": [], "LR&FS": []}
    labels = []
    for label, medium in enumerate(pair):
        for i in range(per_class):
            rng = np.random.default_rng([0, label, i])
            width, height = mame_sizes.sample_image_size(medium, rng, 0.08)
            image = draw_medium_image(medium, width, height, rng)
            factor = s_hr / min(width, height)
            hr_size = (max(s_hr, round(width * factor)), max(s_hr, round(height * factor)))
            features["HR&VS"].append(spectral_features(image.resize(hr_size, Image.BILINEAR)))
            features["LR&FS"].append(spectral_features(image.resize((s_lr, s_lr), Image.BILINEAR)))
            labels.append(label)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    accuracy = {
        k: cross_val_score(model, np.array(v), labels, cv=4).mean() for k, v in features.items()
    }
    assert accuracy["HR&VS"] >= accuracy["LR&FS"] + margin, accuracy
