"""Fetching the Tate metadata and thumbnails from a folder or over HTTP (loopback server)."""

from __future__ import annotations

import gzip
import importlib
from pathlib import Path

import pandas as pd
import pytest

from artrec.curation.medium_tags import default_tagger
from artrec.datasets.tate import OFFICIAL_CSV_COLUMNS, read_tate_artworks
from artrec.errors import BadInputError
from artrec.ingest import tate as ingest_tate
from artrec.ingest.tate import fetch_tate, fetch_tate_metadata, fetch_thumbnails
from artrec.synth.tate import generate_tate_dataset
from tests.ingest.conftest import RangeServer

download_module = importlib.import_module("artrec.ingest.download")
FACTS = Path(__file__).resolve().parents[2] / "conf" / "base" / "tate_media.csv"


@pytest.fixture(autouse=True)
def _no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download_module, "_RETRY_WAIT_S", 0.0)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like ../shared/data/tate plus the thumbnails under images/."""
    folder = tmp_path_factory.mktemp("tate_source")
    generate_tate_dataset(
        folder,
        facts_path=FACTS,
        records=1200,
        n_classes=3,
        images_per_class=2,
        thumbnail_size_px=16,
        fine_cycles=4,
        seed=2,
        tagger=default_tagger(),
    )
    csv = folder / "tate_artworks.csv"
    (folder / "tate_artworks.csv.gz").write_bytes(gzip.compress(csv.read_bytes(), mtime=0))
    csv.unlink()
    return folder


def _selected(source: Path) -> pd.DataFrame:
    from artrec.curation.tate import class_descriptions, select_image_records

    records = read_tate_artworks(source / "tate_artworks.csv.gz")
    return select_image_records(records, class_descriptions(records, 3)["medium"].tolist(), 2, 2)


def test_a_folder_with_the_flattened_file_is_copied(source: Path, tmp_path: Path) -> None:
    path = fetch_tate_metadata(str(source), tmp_path / "downloads", tmp_path / "raw")
    assert path == tmp_path / "raw" / "tate_artworks.csv.gz"
    assert path.read_bytes() == (source / "tate_artworks.csv.gz").read_bytes()


def test_a_folder_with_the_official_csv_is_used(tmp_path: Path) -> None:
    folder = tmp_path / "official"
    folder.mkdir()
    row = "1,A00001,x,artist,1,t,1900,Ink on paper,c,1900,1922,d,1,2,,mm,,,,u"
    (folder / "artwork_data.csv").write_text(",".join(OFFICIAL_CSV_COLUMNS) + "\n" + row + "\n")
    path = fetch_tate_metadata(str(folder), tmp_path / "downloads", tmp_path / "raw")
    assert path.name == "artwork_data.csv"
    assert read_tate_artworks(path)["medium"].tolist() == ["Ink on paper"]


def test_the_whole_raw_folder_from_a_folder_source(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw"
    fetch_tate(out, source=str(source), downloads=tmp_path / "dl", n_classes=3, per_class=2, seed=2)
    for image in _selected(source)["image"]:
        assert (out / image).read_bytes() == (source / image).read_bytes()
    assert pd.read_csv(out / "missing_thumbnails.csv").empty


def test_thumbnails_are_downloaded_and_failures_listed(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, http_server: RangeServer
) -> None:
    selected = _selected(source)
    urls = []
    for i, image in enumerate(selected["image"]):
        name = "art/images/work/" + image.removeprefix("images/")
        if i != 1:  # the second thumbnail is not on the server (a dead link)
            http_server.files[name] = (source / image).read_bytes()
        urls.append(f"{http_server.base_url}/{name}")
    selected = selected.assign(thumbnailUrl=urls)
    missing = fetch_thumbnails(selected, tmp_path / "raw")
    assert missing["id"].tolist() == [selected["id"].iloc[1]]
    for image in selected["image"].drop(selected.index[1]):
        assert (tmp_path / "raw" / image).read_bytes() == (source / image).read_bytes()
    listed = pd.read_csv(tmp_path / "raw" / "missing_thumbnails.csv", dtype=str)
    assert listed["url"].tolist() == [urls[1]]
    # many failures in a row: no network, or the publisher moved its images
    monkeypatch.setattr(ingest_tate, "MAX_CONSECUTIVE_FAILURES", 2)
    dead = selected.assign(thumbnailUrl=[u + ".gone" for u in urls])
    with pytest.raises(BadInputError, match="2 thumbnail downloads failed in a row") as raised:
        fetch_thumbnails(dead, tmp_path / "raw2")
    assert "Fix:" in str(raised.value)


def test_the_ingest_partition_places_exactly_the_selected_files(
    source: Path, tmp_path: Path
) -> None:
    from artrec.kedro_io.directory import DirectoryDataset
    from artrec.pipelines.ingest.nodes import ingest_tate

    partitions = ingest_tate(
        {"source": str(source)},
        str(tmp_path / "downloads"),
        {},
        {"n_classes": 3, "split": {"train": 1, "test": 1}},
        2,
    )
    # A thumbnail an earlier selection left in the cache is not placed in the raw folder.
    stale = tmp_path / "downloads" / "tate" / "unpacked" / "images" / "X" / "X00" / "X00001_8.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    DirectoryDataset(str(tmp_path / "raw"), workers=1).save(partitions)
    placed = {
        p.relative_to(tmp_path / "raw").as_posix()
        for p in (tmp_path / "raw").rglob("*")
        if p.is_file()
    }
    selected = set(_selected(source)["image"])
    assert placed == {"tate_artworks.csv.gz", "missing_thumbnails.csv"} | selected
    for image in selected:
        assert (tmp_path / "raw" / image).read_bytes() == (source / image).read_bytes()
