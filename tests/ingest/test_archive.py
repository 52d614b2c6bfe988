import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from artrec.ingest.archive import ArchiveError, UnsafeArchiveError, safe_extract

MAME_CSVS = ("MAMe_dataset.csv", "MAMe_labels.csv", "MAMe_toy_dataset.csv")


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes], mode: str) -> Path:
    with tarfile.open(path, mode) as tf:
        for info in members:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_extracts_the_metadata_zip(metadata_zip, mame_csv_dir, tmp_path):
    paths = safe_extract(metadata_zip, tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(MAME_CSVS)
    for name in MAME_CSVS:
        assert (tmp_path / "out" / name).read_bytes() == (mame_csv_dir / name).read_bytes()
    assert _all_files(tmp_path / "out") == set(MAME_CSVS)  # no temporary files left


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_extracts_tar_with_dirs_and_inner_links(tmp_path, mode):
    members = [
        _info("data", tarfile.DIRTYPE),
        _info("data/a.txt"),
        _info("data/link.txt", tarfile.SYMTYPE, "a.txt"),
        _info("data/hard.txt", tarfile.LNKTYPE, "data/a.txt"),
    ]
    archive = _tar(tmp_path / "a.tar", members, {"data/a.txt": b"alpha"}, mode)
    out = tmp_path / "out"

    paths = safe_extract(archive, out)
    assert {p.relative_to(out).as_posix() for p in paths} == {
        "data/a.txt",
        "data/link.txt",
        "data/hard.txt",
    }
    assert (out / "data" / "a.txt").read_bytes() == b"alpha"
    assert (out / "data" / "link.txt").is_symlink()
    assert (out / "data" / "link.txt").read_bytes() == b"alpha"
    assert (out / "data" / "hard.txt").read_bytes() == b"alpha"
    assert _all_files(out) == {"data", "data/a.txt", "data/link.txt", "data/hard.txt"}


def test_tar_of_a_folder_with_dot_prefixed_names(tmp_path):
    members = [_info("./", tarfile.DIRTYPE), _info("./data", tarfile.DIRTYPE), _info("./data/x")]
    archive = _tar(tmp_path / "dot.tar.gz", members, {"./data/x": b"x"}, "w:gz")
    paths = safe_extract(archive, tmp_path / "out")
    assert paths == [tmp_path / "out" / "data" / "x"]
    assert paths[0].read_bytes() == b"x"


@pytest.mark.parametrize(
    ("bad_name", "reason"),
    [
        ("../evil.txt", "'..'"),
        ("good/../../evil.txt", "'..'"),
        ("..\\evil.txt", "'..'"),
        ("/tmp/abs_evil.txt", "absolute"),
        ("C:/evil.txt", "absolute"),
    ],
)
def test_zip_members_escaping_the_target_are_refused_before_any_write(tmp_path, bad_name, reason):
    archive = _zip(tmp_path / "bad.zip", {"good.txt": b"fine", bad_name: b"evil"})
    out = tmp_path / "nested" / "out"
    with pytest.raises(UnsafeArchiveError, match=reason) as excinfo:
        safe_extract(archive, out)
    assert repr(bad_name) in str(excinfo.value)
    assert not out.exists()  # the good member before it was not written either
    assert not (tmp_path / "nested" / "evil.txt").exists()


def test_zip_symlink_pointing_outside_is_refused(tmp_path):
    link = zipfile.ZipInfo("innocent")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        zf.writestr(link, "../../etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="'innocent'.*outside"):
        safe_extract(tmp_path / "link.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("member", "match"),
    [
        (_info("../evil"), "'..'"),
        (_info("/abs/evil"), "absolute"),
        (_info("link", tarfile.SYMTYPE, "/etc/passwd"), "'link'"),
        (_info("link", tarfile.SYMTYPE, "../../outside"), "'link'"),
        (_info("sub/link", tarfile.SYMTYPE, "../../outside"), "'sub/link'"),
        (_info("hard", tarfile.LNKTYPE, "../outside"), "'hard'"),
        (_info("dev", tarfile.CHRTYPE), "'dev'"),
        (_info("fifo", tarfile.FIFOTYPE), "'fifo'"),
    ],
    ids=[
        "dotdot",
        "absolute",
        "abs-symlink",
        "rel-symlink",
        "nested-symlink",
        "hardlink",
        "device",
        "fifo",
    ],
)
def test_tar_members_escaping_the_target_are_refused(tmp_path, member, match):
    good = _info("good.txt")
    archive = _tar(tmp_path / "bad.tar.gz", [good, member], {"good.txt": b"fine"}, "w:gz")
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=match):
        safe_extract(archive, out)
    assert not out.exists()
    assert not (tmp_path / "evil").exists()


def test_existing_link_in_target_cannot_be_used_as_an_exit(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(outside)
    archive = _zip(tmp_path / "a.zip", {"sub/evil.txt": b"evil"})
    with pytest.raises(UnsafeArchiveError, match="'sub/evil.txt'.*outside"):
        safe_extract(archive, out)
    assert list(outside.iterdir()) == []


def test_zip_bomb_is_refused_by_compression_ratio(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"zeros.bin": bytes(8 << 20)})
    assert archive.stat().st_size < (8 << 20) / 200
    with pytest.raises(UnsafeArchiveError, match="compression ratio"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # The same archive passes with an explicit, higher ratio limit.
    assert len(safe_extract(archive, tmp_path / "out", max_ratio=1e6)) == 1


def test_archive_above_declared_size_limit_is_refused(metadata_zip, tmp_path):
    with pytest.raises(UnsafeArchiveError, match="above the limit of 1000"):
        safe_extract(metadata_zip, tmp_path / "out", max_total_bytes=1000)
    assert not (tmp_path / "out").exists()


def test_too_many_members_is_refused(tmp_path):
    archive = _zip(tmp_path / "many.zip", {f"f{i}.txt": b"x" for i in range(5)})
    with pytest.raises(UnsafeArchiveError, match="more than 3 members"):
        safe_extract(archive, tmp_path / "out", max_members=3)


def _corrupt_stored_member(archive: Path, name: str) -> None:
    """Flip one byte of a stored (uncompressed) member so its CRC check fails on extraction."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(name)
    raw = bytearray(archive.read_bytes())
    header = info.header_offset
    name_len = int.from_bytes(raw[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28 : header + 30], "little")
    raw[header + 30 + name_len + extra_len] ^= 0xFF
    archive.write_bytes(bytes(raw))


def test_failed_extraction_keeps_files_already_there_intact(tmp_path):
    members = {"first.csv": b"1" * 5000, "broken.csv": b"2" * 5000, "last.csv": b"3" * 5000}
    archive = _zip(tmp_path / "a.zip", members, compression=zipfile.ZIP_STORED)
    _corrupt_stored_member(archive, "broken.csv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "broken.csv").write_bytes(b"an older version")  # wrong size: will be re-extracted

    with pytest.raises(ArchiveError, match="'broken.csv'"):
        safe_extract(archive, out)
    assert (out / "first.csv").read_bytes() == members["first.csv"]
    assert (out / "broken.csv").read_bytes() == b"an older version"  # not truncated or mixed
    assert _all_files(out) == {"first.csv", "broken.csv"}  # no temporary file left behind


def test_rerun_skips_complete_files_and_redoes_the_rest(tmp_path):
    members = {"a.txt": b"a" * 100, "b.txt": b"b" * 100, "c.txt": b"c" * 100}
    archive = _zip(tmp_path / "a.zip", members)
    out = tmp_path / "out"
    safe_extract(archive, out)
    (out / "a.txt").write_bytes(b"A" * 100)  # same size: taken as already extracted
    (out / "b.txt").write_bytes(b"torn")  # wrong size: extracted again
    (out / "c.txt").unlink()

    paths = safe_extract(archive, out)
    assert sorted(p.name for p in paths) == ["a.txt", "b.txt", "c.txt"]
    assert (out / "a.txt").read_bytes() == b"A" * 100
    assert (out / "b.txt").read_bytes() == members["b.txt"]
    assert (out / "c.txt").read_bytes() == members["c.txt"]


def test_not_an_archive_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ArchiveError, match="neither a zip nor a tar"):
        safe_extract(path, tmp_path / "out")


def test_links_that_only_escape_once_combined_are_caught_at_write_time(tmp_path):
    # Each link looks inside when checked alone ("b" does not exist yet when "a" is made), but
    # once "b" -> "." exists, "a" -> "b/.." leads to the parent of the target.
    members = [
        _info("a", tarfile.SYMTYPE, "b/.."),
        _info("b", tarfile.SYMTYPE, "."),
        _info("a/evil.txt"),
    ]
    archive = _tar(tmp_path / "chain.tar", members, {"a/evil.txt": b"evil"}, "w")
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="'a"):
        safe_extract(archive, out)
    assert not (tmp_path / "evil.txt").exists()
