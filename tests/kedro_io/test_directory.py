"""DirectoryDataset: a folder saved from lazy partitions, atomically swapped, resumable."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from kedro.io import DatasetError

from artrec.kedro_io.directory import DirectoryDataset
from artrec.utils.partitions import DIGEST_NAME, AfterWrite


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _reader(path: Path) -> functools.partial:
    # Picklable and usable in worker processes; raises FileNotFoundError while ``path`` is absent.
    return functools.partial(Path.read_bytes, path)


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "sources"
    folder.mkdir()
    paths = {}
    for name in ("b", "c", "d"):
        paths[name] = folder / f"{name}.bin"
        paths[name].write_bytes(name.encode() * 1000)
    return paths


def _partitions(sources: dict[str, Path]) -> dict:
    return {
        "a.txt": b"eager",
        "images/b.bin": _reader(sources["b"]),
        "images/c.bin": _reader(sources["c"]),
        "images/deep/d.bin": _reader(sources["d"]),
        "skipped.bin": functools.partial(dict.get, {}, "nothing"),  # None: no file
        "tables": {"t.csv": b"x,y\n1,2\n"},
    }


def test_save_writes_every_partition_and_load_returns_the_folder(sources, tmp_path) -> None:
    dataset = DirectoryDataset(str(tmp_path / "out"), workers=1)
    dataset.save(_partitions(sources))
    assert dataset.load() == tmp_path / "out"
    assert _files(tmp_path / "out") == {
        "a.txt": b"eager",
        "images/b.bin": b"b" * 1000,
        "images/c.bin": b"c" * 1000,
        "images/deep/d.bin": b"d" * 1000,
        "tables/t.csv": b"x,y\n1,2\n",
    }
    assert not dataset.work_path.exists()


def test_interrupted_save_keeps_the_previous_folder_and_resumes(sources, tmp_path) -> None:
    out = tmp_path / "out"
    dataset = DirectoryDataset(str(out), workers=1)
    dataset.save({"old.txt": b"previous"})
    sources["c"].rename(sources["c"].with_suffix(".away"))  # its callable raises midway

    with pytest.raises(FileNotFoundError, match="c.bin"):
        dataset.save(_partitions(sources))
    assert _files(out) == {"old.txt": b"previous"}
    work = dataset.work_path
    assert (work / DIGEST_NAME).is_file()
    assert (work / "images" / "b.bin").read_bytes() == b"b" * 1000
    assert not (work / "images" / "c.bin").exists()
    finished = (work / "images" / "b.bin").stat().st_ino

    sources["c"].with_suffix(".away").rename(sources["c"])
    dataset.save(_partitions(sources))
    # The finished partition was kept (an atomic write would have made a new file), not redone.
    assert (out / "images" / "b.bin").stat().st_ino == finished
    uninterrupted = DirectoryDataset(str(tmp_path / "again"), workers=1)
    uninterrupted.save(_partitions(sources))
    assert _files(out) == _files(tmp_path / "again")
    assert not work.exists()


def _too_many(folder: Path) -> None:
    raise ValueError(f"{len(list(folder.iterdir()))} files, too many")


def test_a_failing_check_keeps_the_previous_folder(sources, tmp_path) -> None:
    dataset = DirectoryDataset(str(tmp_path / "out"), workers=1)
    dataset.save({"old.txt": b"previous"})
    with pytest.raises(DatasetError, match="2 files, too many"):  # .partitions.sha256 and b.bin
        dataset.save({"b.bin": _reader(sources["b"]), "": AfterWrite(_too_many)})
    assert _files(tmp_path / "out") == {"old.txt": b"previous"}
    assert (dataset.work_path / "b.bin").is_file()


def test_a_different_description_starts_the_work_folder_afresh(sources, tmp_path) -> None:
    dataset = DirectoryDataset(str(tmp_path / "out"), workers=1)
    missing = tmp_path / "missing.bin"
    with pytest.raises(FileNotFoundError):
        dataset.save({"stale.bin": _reader(sources["b"]), "z.bin": _reader(missing)})
    assert (dataset.work_path / "stale.bin").is_file()
    dataset.save({"fresh.bin": _reader(sources["d"])})
    assert _files(tmp_path / "out") == {"fresh.bin": b"d" * 1000}


def test_process_pool_writes_the_same_folder(sources, tmp_path) -> None:
    DirectoryDataset(str(tmp_path / "one"), workers=1).save(_partitions(sources))
    DirectoryDataset(str(tmp_path / "two"), workers=2).save(_partitions(sources))
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_paths_are_linked_and_callables_may_return_partitions(sources, tmp_path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "e.txt").write_bytes(b"e")
    fetch = functools.partial(dict, {"data": tree, "f.bin": sources["b"]})
    DirectoryDataset(str(tmp_path / "out"), workers=1).save({"": fetch})
    assert _files(tmp_path / "out") == {"data/sub/e.txt": b"e", "f.bin": b"b" * 1000}
    assert (tmp_path / "out" / "f.bin").stat().st_ino == sources["b"].stat().st_ino


@pytest.mark.parametrize(
    ("partitions", "message"),
    [
        ({"../x": b""}, "relative path"),
        ({"/abs": b""}, "relative path"),
        ({"": b""}, "relative path"),
        ({"x": 3}, "expected bytes"),
    ],
)
def test_bad_partitions_are_refused(partitions, message, tmp_path) -> None:
    with pytest.raises(DatasetError, match=message):
        DirectoryDataset(str(tmp_path / "out"), workers=1).save(partitions)
    assert not (tmp_path / "out").exists()


def test_a_writer_closure_is_refused(tmp_path) -> None:
    with pytest.raises(DatasetError, match="lazy partitions"):
        DirectoryDataset(str(tmp_path / "out")).save(lambda folder: None)
