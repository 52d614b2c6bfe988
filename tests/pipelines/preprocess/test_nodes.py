"""The preprocess pipeline: lazy image partitions, then the tables read back from the folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset
from PIL import Image

from artrec.errors import find_artrec_error, one_line_message
from artrec.images.preprocess import ResizeSpec, TooManyBadImagesError, preprocess_dataset
from artrec.kedro_io.directory import DirectoryDataset
from artrec.pipelines.preprocess.pipeline import create_pipeline

PARAMS = {
    "workers": None,
    "max_bad_fraction": 0.5,
    "max_image_pixels": 10_000_000,
    "quality": 90,
    "versions": {"lrfs": {"preset": "lrfs", "size": 24}, "hrvs": {"preset": "hrvs", "size": 40}},
}


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """A raw MAMe folder: three good JPEGs and one truncated one."""
    folder = tmp_path / "raw"
    (folder / "data").mkdir(parents=True)
    for i, size in enumerate([(120, 80), (60, 150), (90, 90)]):
        Image.new("RGB", size, (40 * i, 200 - 50 * i, 90)).save(folder / "data" / f"{i}.jpg")
    good = (folder / "data" / "0.jpg").read_bytes()
    (folder / "data" / "bad.jpg").write_bytes(good[: len(good) // 3])
    return folder


def _run(raw: Path, out: Path, params: dict) -> DataCatalog:
    dataset = pd.DataFrame({"Image file": ["0.jpg", "bad.jpg", "1.jpg", "2.jpg"]})
    catalog = DataCatalog(
        {
            "mame_dataset": MemoryDataset(dataset),
            "mame_raw": MemoryDataset(raw, copy_mode="assign"),
            "params:preprocess.mame": MemoryDataset(params),
            **{
                name: DirectoryDataset(str(out / f"mame_{version}"), workers=1)
                if name.endswith("images")
                else CSVDataset(
                    filepath=str(out / f"mame_{version}" / f"{name.split('_')[-1]}.csv"),
                    save_args={"index": False},
                )
                for version in ("lrfs", "hrvs")
                for name in (
                    f"mame_{version}_images",
                    f"mame_{version}_manifest",
                    f"mame_{version}_quarantine",
                )
            },
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    return catalog


def test_the_folder_matches_the_library_stage_and_quarantines_the_bad_image(
    raw: Path, tmp_path: Path
) -> None:
    _run(raw, tmp_path / "out", PARAMS)
    folder = tmp_path / "out" / "mame_hrvs"
    rows = [(name, raw / "data" / name) for name in ("0.jpg", "bad.jpg", "1.jpg", "2.jpg")]
    expected = preprocess_dataset(
        rows, tmp_path / "library", ResizeSpec("short_side", 40), 1, 0.5, 90, progress=False
    )
    manifest = pd.read_csv(folder / "manifest.csv")
    pd.testing.assert_frame_equal(manifest, expected.manifest)
    quarantine = pd.read_csv(folder / "quarantine.csv")
    assert quarantine["image_file"].tolist() == ["bad.jpg"]
    assert quarantine["reason"].tolist() == expected.quarantine["reason"].tolist()
    for name in ("0.jpg", "1.jpg", "2.jpg"):
        assert (folder / "images" / name).read_bytes() == (tmp_path / "library" / name).read_bytes()
    assert not (folder / "images" / "bad.jpg").exists()
    assert pd.read_csv(tmp_path / "out" / "mame_lrfs" / "manifest.csv")["width"].eq(24).all()


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_too_many_bad_images_fail_the_stage_in_one_line(raw: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        _run(raw, tmp_path / "out", PARAMS | {"max_bad_fraction": 0.1})
    assert isinstance(find_artrec_error(caught.value), TooManyBadImagesError)
    assert "1 of 4 images are unusable (25.0%)" in one_line_message(caught.value)
    # The check ran before the swap: no folder without its tables.
    assert not (tmp_path / "out" / "mame_lrfs").exists()
    assert not (tmp_path / "out" / "mame_hrvs").exists()


def test_mostly_corrupt_inputs_fail_before_the_swap_and_keep_the_previous_folder(
    raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _run(raw, out, PARAMS)
    before = {version: _files(out / f"mame_{version}") for version in ("lrfs", "hrvs")}
    assert "manifest.csv" in before["hrvs"] and "images/2.jpg" in before["hrvs"]
    for name in ("0.jpg", "1.jpg"):  # the new download is mostly damaged: 3 of 4 unusable
        (raw / "data" / name).write_bytes(b"not a JPEG any more")

    with pytest.raises(DatasetError) as caught:
        _run(raw, out, PARAMS)
    message = one_line_message(caught.value)
    assert "\n" not in message
    assert "3 of 4 images are unusable (75.0%)" in message
    assert "max_bad_fraction=0.5" in message and "0.jpg: unreadable" in message
    assert "Fix:" in message and "raise preprocess.mame.max_bad_fraction" in message
    for version in ("lrfs", "hrvs"):
        assert _files(out / f"mame_{version}") == before[version]

    # The images written before the check are kept in the work folder: raising the threshold
    # resumes them instead of starting again.
    (work,) = out.glob("*.partial")
    written = (work / "images" / "2.jpg").stat().st_ino
    version = work.name.split("_")[1].split(".")[0]
    _run(raw, out, PARAMS | {"max_bad_fraction": 0.8})
    assert (out / f"mame_{version}" / "images" / "2.jpg").stat().st_ino == written
    quarantine = pd.read_csv(out / f"mame_{version}" / "quarantine.csv")
    assert quarantine["image_file"].tolist() == ["0.jpg", "bad.jpg", "1.jpg"]
    assert not list(out.glob("*.partial"))
