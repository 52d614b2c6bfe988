"""Lazy partitions written into a plain folder: digest, resume only for the same description."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from artrec.utils.partitions import (
    DIGEST_NAME,
    AfterWrite,
    describe,
    link_or_copy,
    write_partitions,
)


def test_a_finished_write_leaves_no_digest_and_a_rerun_rewrites(tmp_path: Path) -> None:
    source = tmp_path / "s.bin"
    source.write_bytes(b"one")
    partitions = {"x/s.bin": functools.partial(Path.read_bytes, source)}
    write_partitions(tmp_path / "out", partitions)
    assert not (tmp_path / "out" / DIGEST_NAME).exists()
    source.write_bytes(b"two")
    write_partitions(tmp_path / "out", partitions)  # no digest: nothing is taken as done
    assert (tmp_path / "out" / "x" / "s.bin").read_bytes() == b"two"


def test_describe_tells_descriptions_apart(tmp_path: Path) -> None:
    read = functools.partial(Path.read_bytes, tmp_path / "a")
    assert describe({"a": read}) == describe(
        {"a": functools.partial(Path.read_bytes, tmp_path / "a")}
    )
    assert describe({"a": read}) != describe({"b": read})
    assert describe({"a": b"1"}) != describe({"a": b"2"})
    assert describe({"a": lambda: b""}) != describe({"a": lambda: b""})  # never resumed


def test_link_or_copy_links_and_keeps_a_same_size_file(tmp_path: Path) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"abc")
    link_or_copy(source, tmp_path / "deep" / "dest.bin")
    assert (tmp_path / "deep" / "dest.bin").stat().st_ino == source.stat().st_ino


def test_a_callable_returning_a_callable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="another callable"):
        write_partitions(tmp_path, {"a": functools.partial(functools.partial, bytes)})


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_after_write_sees_its_finished_mapping_and_may_add_a_file(tmp_path: Path) -> None:
    source = tmp_path / "s.bin"
    source.write_bytes(b"one")
    partitions = {
        "sub": {
            "": AfterWrite(lambda folder: {"listing.txt": " ".join(_listing(folder)).encode()}),
            "s.bin": functools.partial(Path.read_bytes, source),
            "t.bin": b"two",
        }
    }
    write_partitions(tmp_path / "out", partitions)
    assert (tmp_path / "out" / "sub" / "listing.txt").read_bytes() == b"s.bin t.bin"


def test_a_failing_after_write_keeps_the_journal_and_its_rerun_resumes(tmp_path: Path) -> None:
    source = tmp_path / "s.bin"
    source.write_bytes(b"one")

    def refuse(folder: Path) -> None:
        raise ValueError(f"refused {_listing(folder)}")

    partitions = {"s.bin": functools.partial(Path.read_bytes, source), "": AfterWrite(refuse)}
    with pytest.raises(ValueError, match=r"refused \['.partitions.sha256', 's.bin'\]"):
        write_partitions(tmp_path / "out", partitions)
    written = (tmp_path / "out" / "s.bin").stat().st_ino
    # Another check (a changed threshold) is the same description: the file is not redone.
    accept = partitions | {"": AfterWrite(lambda folder: None)}
    assert describe(accept) == describe(partitions)
    write_partitions(tmp_path / "out", accept)
    assert (tmp_path / "out" / "s.bin").stat().st_ino == written
    assert _listing(tmp_path / "out") == ["s.bin"]
