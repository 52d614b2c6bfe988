import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from artrec.ingest.download import ChecksumError
from artrec.ingest.sources import MAME_OFFICIAL_FILES, OfficialFile, fetch_from, fetch_official

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "SPEC.md"
MAME_CSVS = ("MAMe_dataset.csv", "MAMe_labels.csv", "MAMe_toy_dataset.csv")
METADATA = MAME_OFFICIAL_FILES[0]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    return {
        p.name: (_md5(p), p.stat().st_mtime_ns, p.stat().st_mode)
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture
def test_metadata(metadata_zip) -> OfficialFile:
    """MAMe_metadata.zip as published, but with the md5 of the zip these tests build."""
    return dataclasses.replace(METADATA, md5=_md5(metadata_zip))


def test_mame_official_files_are_the_published_ones():
    assert [f.name for f in MAME_OFFICIAL_FILES] == ["MAMe_metadata.zip", "MAMe_data.zip"]
    assert METADATA.contents == MAME_CSVS
    for official in MAME_OFFICIAL_FILES:
        assert official.url.endswith("/" + official.name)
        assert official.extract
    if not SPEC.is_file():
        pytest.skip("shared SPEC.md not available")
    spec = SPEC.read_text()
    for official in MAME_OFFICIAL_FILES:
        assert official.url in spec
        assert f"`{official.url}`\n  (md5 `{official.md5}`" in spec


def test_fetch_from_a_loose_local_folder_leaves_it_untouched(mame_csv_dir, tmp_path):
    before = _snapshot(mame_csv_dir)
    out = fetch_from(str(mame_csv_dir), [METADATA], tmp_path / "raw", tmp_path / "mame")

    assert out == tmp_path / "mame"
    for name in MAME_CSVS:
        assert _md5(out / name) == before[name][0]
    assert _snapshot(mame_csv_dir) == before
    assert not (tmp_path / "raw").exists()  # nothing to download

    # A re-run finds everything in place.
    fetch_from(str(mame_csv_dir), [METADATA], tmp_path / "raw", tmp_path / "mame")
    assert sorted(p.name for p in out.iterdir()) == sorted(MAME_CSVS)


def test_fetch_from_a_folder_missing_content_names_what_is_missing(mame_csv_dir, tmp_path):
    required = OfficialFile(
        name="MAMe_data.zip",
        url="https://example.org/MAMe_data.zip",
        md5="0" * 32,
        contents=("data",),
    )
    with pytest.raises(FileNotFoundError) as excinfo:
        fetch_from(str(mame_csv_dir), [required], tmp_path / "raw", tmp_path / "mame")
    message = str(excinfo.value)
    assert "MAMe_data.zip" in message
    assert "missing: data" in message
    assert "0" * 32 in message


def test_metadata_folder_without_images_is_enough_for_curation(mame_csv_dir, tmp_path):
    """`source: ../shared/data/mame` (the real CSVs, no images) ingests the metadata alone."""
    out = fetch_from(str(mame_csv_dir), MAME_OFFICIAL_FILES, tmp_path / "raw", tmp_path / "mame")
    assert sorted(p.name for p in out.iterdir()) == sorted(MAME_CSVS)
    assert not (out / "data").exists()


def test_fetch_from_a_folder_holding_the_archive(metadata_zip, test_metadata, tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(metadata_zip, folder / "MAMe_metadata.zip")
    before = _snapshot(folder)

    out = fetch_from(str(folder), [test_metadata], tmp_path / "raw", tmp_path / "mame")
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == set(MAME_CSVS)
    assert _snapshot(folder) == before


def test_fetch_from_a_folder_with_a_wrong_archive_refuses_it(metadata_zip, tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    shutil.copy(metadata_zip, folder / "MAMe_metadata.zip")
    with pytest.raises(ChecksumError, match=METADATA.md5):
        fetch_from(str(folder), [METADATA], tmp_path / "raw", tmp_path / "mame")
    assert (folder / "MAMe_metadata.zip").read_bytes() == metadata_zip.read_bytes()
    assert not (tmp_path / "mame").exists()


def test_fetch_from_a_base_url(http_server, metadata_zip, test_metadata, mame_csv_dir, tmp_path):
    http_server.files["MAMe_metadata.zip"] = metadata_zip.read_bytes()
    out = fetch_from(
        http_server.base_url + "/",
        [test_metadata],
        tmp_path / "raw",
        tmp_path / "mame",
        progress=False,
    )
    assert [path for path, _, _ in http_server.requests] == ["MAMe_metadata.zip"]
    assert _md5(tmp_path / "raw" / "MAMe_metadata.zip") == test_metadata.md5
    for name in MAME_CSVS:
        assert _md5(out / name) == _md5(mame_csv_dir / name)

    # Done once: even without the archive, a re-run neither downloads nor extracts again.
    os.unlink(tmp_path / "raw" / "MAMe_metadata.zip")
    fetch_from(http_server.base_url, [test_metadata], tmp_path / "raw", out, progress=False)
    assert len(http_server.requests) == 1


def test_fetch_official_uses_each_files_url(http_server, metadata_zip, test_metadata, tmp_path):
    data = metadata_zip.read_bytes()
    http_server.files["mirror/meta.zip"] = data
    http_server.files["labels.csv"] = b"0,Oil on canvas\n"
    files = [
        dataclasses.replace(test_metadata, url=f"{http_server.base_url}/mirror/meta.zip"),
        OfficialFile(
            name="labels.csv",
            url=f"{http_server.base_url}/labels.csv",
            md5=hashlib.md5(b"0,Oil on canvas\n").hexdigest(),
            extract=False,
        ),
    ]
    out = fetch_official(files, tmp_path / "raw", tmp_path / "mame", progress=False)
    assert (out / "labels.csv").read_bytes() == b"0,Oil on canvas\n"
    assert (out / "MAMe_dataset.csv").is_file()
    assert sorted(os.listdir(tmp_path / "raw")) == ["MAMe_metadata.zip", "labels.csv"]


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not 'official', a URL, or an existing folder"):
        fetch_from(str(tmp_path / "nowhere"), [METADATA], tmp_path / "raw", tmp_path / "mame")


def test_fetched_partitions_unpack_into_the_cache_and_link_into_the_folder(
    metadata_zip, test_metadata, tmp_path
):
    from artrec.kedro_io.directory import DirectoryDataset
    from artrec.pipelines.ingest.nodes import _fetched

    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copy(metadata_zip, folder / METADATA.name)
    partitions = _fetched(str(folder), (test_metadata,), tmp_path / "downloads")
    raw = DirectoryDataset(str(tmp_path / "raw"), workers=1)
    raw.save(partitions)
    # Exactly the archive's content: no extraction markers, no archive.
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(MAME_CSVS)
    cache = tmp_path / "downloads" / "unpacked" / METADATA.name
    for name in MAME_CSVS:
        placed = tmp_path / "raw" / name
        assert placed.stat().st_ino == (cache / name).stat().st_ino  # a hard link, no copy
    # A second save (a rerun) finds the extraction done (its marker) and links the same files.
    inodes = {name: (cache / name).stat().st_ino for name in MAME_CSVS}
    raw.save(_fetched(str(folder), (test_metadata,), tmp_path / "downloads"))
    assert {name: (tmp_path / "raw" / name).stat().st_ino for name in MAME_CSVS} == inodes
