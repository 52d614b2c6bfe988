"""Hostile archives and downloads at every ingest entry point.

Entry points: ``safe_extract`` (every archive), ``fetch_from`` with a folder (an archive or its
unpacked content), with a mirror URL, and ``fetch_official`` (the published URLs, here served by a
loopback server), and ``download``. Each case ends in a one-line error naming the archive, the
problem and the fix, with nothing written outside the target folder and earlier files intact.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import stat
import struct
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from artrec.errors import BadInputError
from artrec.ingest.archive import (
    DEFAULT_MAX_TOTAL_BYTES,
    ArchiveError,
    UnsafeArchiveError,
    safe_extract,
)
from artrec.ingest.download import ChecksumError, DownloadError, download, partial_path
from artrec.ingest.sources import (
    MAME_OFFICIAL_FILES,
    MET_OFFICIAL_FILES,
    OfficialFile,
    fetch_from,
    fetch_official,
)
from tests.reliability.hostile import snapshot

GOOD = b"Image file,Medium\n1.jpg,Bronze\n"
MET_GROUND_TRUTH = MET_OFFICIAL_FILES[0]  # no published md5: extraction is the only guard
assert MET_GROUND_TRUTH.name == "ground_truth.tar.gz"


# ---- hostile archive makers ----------------------------------------------------------------------
def _noise(size: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).bytes(size)  # incompressible


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def _zip_symlink(name: str, target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ok.csv", GOOD)
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)
    return buffer.getvalue()


def _tar(
    members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None, mode="w:gz"
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tf:
        for info in members:
            payload = (data or {}).get(info.name)
            if payload is not None:
                info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buffer.getvalue()


def _tar_info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info


def _overlapping_zip_bomb(copies: int = 400) -> bytes:
    """One 4 MiB member of zeros, listed ``copies`` times in the central directory under other
    names, every entry pointing at the same compressed bytes (a "non-recursive" zip bomb)."""
    single = _zip({"a": bytes(4 << 20)})
    end = single.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", single[end + 12 : end + 20])
    entry = single[cd_offset : cd_offset + cd_size]
    name_length = struct.unpack("<H", entry[28:30])[0]
    assert name_length == 1
    # Each copy gets its own 5-digit name; every copy points at the same local header (offset 0).
    entries = b"".join(
        entry[:28] + struct.pack("<H", 5) + entry[30:46] + f"{i:05d}".encode()
        for i in range(copies)
    )
    record = (
        b"PK\x05\x06"
        + struct.pack("<HHHHII", 0, 0, copies, copies, len(entries), cd_offset)
        + b"\x00\x00"
    )
    return single[:cd_offset] + entries + record


def _zip_lying_about_size() -> bytes:
    """A member whose central-directory size says 1,000 bytes but whose data inflates to 1 MiB."""
    data = bytearray(_zip({"big.bin": bytes(1 << 20)}))
    end = data.rindex(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", data[end + 16 : end + 20])[0]
    struct.pack_into("<I", data, cd_offset + 24, 1000)  # uncompressed size in the central dir
    struct.pack_into("<I", data, 22, 1000)  # and in the local header
    return bytes(data)


def _tar_gz_declaring(size: int) -> bytes:
    """A .tar.gz whose first header declares ``size`` bytes (its data never follows)."""
    info = tarfile.TarInfo("images/huge.bin")
    info.size = size
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(4096))


def _corrupt_crc() -> bytes:
    data = bytearray(_zip({"a.csv": GOOD * 100}, compression=zipfile.ZIP_STORED))
    data[30 + len("a.csv") + 10] ^= 0xFF  # a byte of the stored member
    return bytes(data)


@dataclasses.dataclass(frozen=True)
class HostileArchive:
    name: str
    suffix: str
    make: Callable[[], bytes]
    error: type[Exception]
    words: str  # in the one-line message


ARCHIVES: tuple[HostileArchive, ...] = (
    HostileArchive(
        "zip_dotdot",
        ".zip",
        lambda: _zip({"ok.csv": GOOD, "../evil.csv": b"x"}),
        UnsafeArchiveError,
        "'..'",
    ),
    HostileArchive(
        "zip_nested_dotdot",
        ".zip",
        lambda: _zip({"a/../../evil.csv": b"x"}),
        UnsafeArchiveError,
        "'..'",
    ),
    HostileArchive(
        "zip_backslash_dotdot",
        ".zip",
        lambda: _zip({"..\\evil.csv": b"x"}),
        UnsafeArchiveError,
        "'..'",
    ),
    HostileArchive(
        "zip_absolute",
        ".zip",
        lambda: _zip({"/tmp/evil.csv": b"x"}),
        UnsafeArchiveError,
        "absolute",
    ),
    HostileArchive(
        "zip_drive_letter",
        ".zip",
        lambda: _zip({"C:\\evil.csv": b"x"}),
        UnsafeArchiveError,
        "absolute",
    ),
    HostileArchive(
        "zip_symlink_out",
        ".zip",
        lambda: _zip_symlink("link", "/etc/passwd"),
        UnsafeArchiveError,
        "symlink",
    ),
    HostileArchive(
        "zip_symlink_in",
        ".zip",
        lambda: _zip_symlink("link", "ok.csv"),
        UnsafeArchiveError,
        "symlink",
    ),
    HostileArchive(
        "tar_dotdot",
        ".tar.gz",
        lambda: _tar([_tar_info("../evil.csv")], {"../evil.csv": b"x"}),
        UnsafeArchiveError,
        "'..'",
    ),
    HostileArchive(
        "tar_absolute",
        ".tar.gz",
        lambda: _tar([_tar_info("/tmp/evil.csv")], {"/tmp/evil.csv": b"x"}),
        UnsafeArchiveError,
        "absolute",
    ),
    HostileArchive(
        "tar_symlink_out",
        ".tar.gz",
        lambda: _tar([_tar_info("link", tarfile.SYMTYPE, "/etc/passwd")]),
        UnsafeArchiveError,
        "link",
    ),
    HostileArchive(
        "tar_symlink_up",
        ".tar.gz",
        lambda: _tar([_tar_info("link", tarfile.SYMTYPE, "../../x")]),
        UnsafeArchiveError,
        "link",
    ),
    HostileArchive(
        "tar_hardlink_out",
        ".tar.gz",
        lambda: _tar([_tar_info("hard", tarfile.LNKTYPE, "../x")]),
        UnsafeArchiveError,
        "refused",
    ),
    HostileArchive(
        "tar_device",
        ".tar.gz",
        lambda: _tar([_tar_info("dev", tarfile.CHRTYPE)]),
        UnsafeArchiveError,
        "refused",
    ),
    HostileArchive(
        "zip_bomb_ratio",
        ".zip",
        lambda: _zip({"zeros.bin": bytes(16 << 20)}),
        UnsafeArchiveError,
        "compression ratio",
    ),
    HostileArchive(
        "zip_bomb_overlapping",
        ".zip",
        _overlapping_zip_bomb,
        UnsafeArchiveError,
        "compression ratio",
    ),
    HostileArchive(
        "tar_gz_bomb_header",
        ".tar.gz",
        lambda: _tar_gz_declaring(1 << 40),
        UnsafeArchiveError,
        "bytes uncompressed",
    ),
    HostileArchive("zip_lying_size", ".zip", _zip_lying_about_size, ArchiveError, "damaged"),
    HostileArchive("zip_bad_crc", ".zip", _corrupt_crc, ArchiveError, "damaged"),
    HostileArchive(
        "zip_truncated",
        ".zip",
        lambda: _zip({"a.bin": bytes(range(256)) * 400, "b.bin": _noise(50_000)})[:40_000],
        ArchiveError,
        "neither a zip nor a tar",
    ),
    HostileArchive(
        "tar_gz_truncated",
        ".tar.gz",
        lambda: _tar(
            [_tar_info(f"f{i}") for i in range(50)],
            {f"f{i}": _noise(2000, i) for i in range(50)},
        )[:50_000],
        ArchiveError,
        "damaged or truncated",
    ),
    HostileArchive(
        "tar_cut_at_a_member_boundary",
        ".tar.gz",
        lambda: gzip.compress(
            _tar(
                [_tar_info(f"f{i}") for i in range(3)], {f"f{i}": bytes(512) for i in range(3)}, "w"
            )[: 4 * tarfile.BLOCKSIZE]
        ),
        ArchiveError,
        "end-of-archive marker is missing",
    ),
    HostileArchive(
        "html_saved_as_zip",
        ".zip",
        lambda: b"<html><body>502 Bad Gateway</body></html>",
        ArchiveError,
        "neither a zip nor a tar",
    ),
    HostileArchive("empty_file", ".zip", lambda: b"", ArchiveError, "neither a zip nor a tar"),
)


def _case(name: str) -> HostileArchive:
    return next(case for case in ARCHIVES if case.name == name)


def _check_error(error: BaseException, archive: Path, case: HostileArchive) -> None:
    assert isinstance(error, case.error) and isinstance(error, BadInputError), repr(error)
    message = str(error)
    assert "\n" not in message and str(archive) in message and "Fix:" in message, message
    assert case.words in message, message


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """(target folder holding one earlier good file, the folder beside it, its snapshot)."""
    target = tmp_path / "box" / "target"
    target.mkdir(parents=True)
    (target / "earlier.csv").write_bytes(GOOD)
    (tmp_path / "box" / "x").write_bytes(b"outside")
    return target, tmp_path / "box", snapshot(tmp_path / "box")


@pytest.mark.parametrize("case", ARCHIVES, ids=[c.name for c in ARCHIVES])
def test_safe_extract_refuses_each_hostile_archive(
    tmp_path: Path, sandbox, case: HostileArchive
) -> None:
    target, box, before = sandbox
    archive = tmp_path / f"{case.name}{case.suffix}"
    archive.write_bytes(case.make())
    start = time.perf_counter()
    with pytest.raises(BadInputError) as caught:
        safe_extract(archive, target)
    assert time.perf_counter() - start < 5  # a bomb is refused from its listing, not inflated
    _check_error(caught.value, archive, case)
    after = snapshot(box)
    # Nothing outside the target, no earlier file changed; the refused members never appear.
    assert {k: v for k, v in after.items() if not k.startswith("target/")} == {
        k: v for k, v in before.items() if not k.startswith("target/")
    }
    assert after["target/earlier.csv"] == GOOD
    assert not [
        p for p in target.rglob("*") if p.name not in ("earlier.csv", "ok.csv", "a.csv", "f0")
    ]
    assert not (tmp_path / "evil.csv").exists() and not Path("/tmp/evil.csv").exists()


def test_a_member_never_inflates_beyond_its_declared_size(tmp_path: Path) -> None:
    archive = tmp_path / "lying.zip"
    archive.write_bytes(_zip_lying_about_size())
    with pytest.raises(ArchiveError):
        safe_extract(archive, tmp_path / "out")
    # the declared 1,000 bytes at most were read, and nothing was left under the member's name
    assert not (tmp_path / "out" / "big.bin").exists()
    assert not list((tmp_path / "out").iterdir())


def test_total_size_limit_is_checked_before_writing(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip({f"f{i}.bin": bytes(range(256)) * 40 for i in range(10)}))
    with pytest.raises(UnsafeArchiveError, match="above the limit of 50000") as caught:
        safe_extract(archive, tmp_path / "out", max_total_bytes=50_000)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


# ---- through the ingest sources ------------------------------------------------------------------
def _met_official(md5: str | None = None) -> OfficialFile:
    return dataclasses.replace(MET_GROUND_TRUTH, md5=md5)


@pytest.mark.parametrize(
    "case",
    [c for c in ARCHIVES if c.suffix == ".tar.gz"] + [_case("html_saved_as_zip")],
    ids=lambda c: c.name,
)
def test_fetch_from_a_folder_refuses_hostile_met_archives(
    tmp_path: Path, case: HostileArchive
) -> None:
    folder = tmp_path / "source"
    folder.mkdir()
    archive = folder / MET_GROUND_TRUTH.name
    archive.write_bytes(case.make())
    source_before = snapshot(folder)
    extract_to = tmp_path / "raw"
    with pytest.raises(BadInputError) as caught:
        fetch_from(str(folder), [MET_GROUND_TRUTH], tmp_path / "downloads", extract_to)
    _check_error(caught.value, archive, case)
    assert snapshot(folder) == source_before  # the source is only read
    assert not (extract_to / f".{MET_GROUND_TRUTH.name}.extracted").exists()


def test_a_bomb_above_the_official_files_size_cap_is_refused(tmp_path: Path) -> None:
    # Within the generic cap and ratio, but above what the Met ground truth can be (4 GiB).
    folder = tmp_path / "source"
    folder.mkdir()
    (folder / MET_GROUND_TRUTH.name).write_bytes(_tar_gz_declaring(8 << 30))
    with pytest.raises(UnsafeArchiveError, match=f"above the limit of {4 << 30}"):
        fetch_from(str(folder), [_met_official()], tmp_path / "dl", tmp_path / "raw")


def test_fetch_from_a_folder_refuses_a_wrong_md5(tmp_path: Path) -> None:
    metadata = MAME_OFFICIAL_FILES[0]
    folder = tmp_path / "source"
    folder.mkdir()
    (folder / metadata.name).write_bytes(_zip({"MAMe_dataset.csv": GOOD}))
    with pytest.raises(ChecksumError) as caught:
        fetch_from(str(folder), [metadata], tmp_path / "dl", tmp_path / "raw")
    message = str(caught.value)
    assert (
        metadata.md5 in message and str(folder / metadata.name) in message and "\n" not in message
    )
    assert not (tmp_path / "raw").exists()


def test_fetch_from_a_folder_refuses_links_leading_out(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of any dataset")
    folder = tmp_path / "source"
    (folder / "data").mkdir(parents=True)
    for name in ("MAMe_dataset.csv", "MAMe_labels.csv", "MAMe_toy_dataset.csv"):
        (folder / name).write_bytes(GOOD)
    (folder / "data" / "1.jpg").write_bytes(b"jpeg")
    (folder / "data" / "2.jpg").symlink_to(secret)
    with pytest.raises(BadInputError, match="outside") as caught:
        fetch_from(str(folder), MAME_OFFICIAL_FILES, tmp_path / "dl", tmp_path / "raw")
    assert str(folder / "data" / "2.jpg") in str(caught.value)
    assert not (tmp_path / "raw" / "data" / "2.jpg").exists()


def test_fetch_from_a_missing_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="data.<dataset>.source") as caught:
        fetch_from(
            str(tmp_path / "nowhere"), MAME_OFFICIAL_FILES, tmp_path / "dl", tmp_path / "raw"
        )
    assert isinstance(caught.value, FileNotFoundError)


@pytest.mark.parametrize("how", ["mirror", "official"])
@pytest.mark.parametrize(
    "case",
    [_case(name) for name in ("zip_dotdot", "tar_symlink_out", "tar_gz_bomb_header")],
    ids=lambda c: c.name,
)
def test_hostile_archives_from_a_url_are_refused(
    http_server, monkeypatch, tmp_path: Path, how: str, case: HostileArchive
) -> None:
    data = case.make()
    http_server.files[MET_GROUND_TRUTH.name] = data
    official = dataclasses.replace(
        _met_official(hashlib.md5(data).hexdigest()),
        url=f"{http_server.base_url}/{MET_GROUND_TRUTH.name}",
    )
    downloads, raw = tmp_path / "dl", tmp_path / "raw"
    with pytest.raises(BadInputError) as caught:
        if how == "mirror":
            fetch_from(http_server.base_url, [official], downloads, raw)
        else:
            fetch_official([official], downloads, raw, progress=False)
    _check_error(caught.value, downloads / MET_GROUND_TRUTH.name, case)
    assert not (raw / f".{MET_GROUND_TRUTH.name}.extracted").exists()


# ---- downloads -----------------------------------------------------------------------------------
def test_a_wrong_md5_from_a_url_keeps_the_bytes_and_says_where(http_server, tmp_path: Path) -> None:
    http_server.files["f.zip"] = b"x" * 5000
    dest = tmp_path / "f.zip"
    with pytest.raises(ChecksumError) as caught:
        download(f"{http_server.base_url}/f.zip", dest, "0" * 32, progress=False)
    message = str(caught.value)
    assert "\n" not in message and str(partial_path(dest)) in message and "0" * 32 in message
    assert partial_path(dest).read_bytes() == b"x" * 5000 and not dest.exists()


def test_an_interrupted_download_resumes(http_server, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000
    http_server.files["f.zip"] = data
    url, dest, md5 = (
        f"{http_server.base_url}/f.zip",
        tmp_path / "f.zip",
        hashlib.md5(data).hexdigest(),
    )
    http_server.cut_next = 1
    with pytest.raises(DownloadError) as caught:
        download(url, dest, md5, progress=False, retries=0, chunk_size=4096)
    message = str(caught.value)
    assert "\n" not in message and "rerun to resume" in message and url in message
    kept = partial_path(dest).stat().st_size
    assert 0 < kept < len(data) and not dest.exists()
    download(url, dest, md5, progress=False, chunk_size=4096)
    assert http_server.ranges[-1] == f"bytes={kept}-"
    assert dest.read_bytes() == data and not partial_path(dest).exists()


def test_an_unreachable_source_names_url_md5_and_manual_path(tmp_path: Path) -> None:
    metadata = dataclasses.replace(
        MAME_OFFICIAL_FILES[0], url="http://127.0.0.1:9/MAMe_metadata.zip"
    )
    with pytest.raises(DownloadError) as caught:
        fetch_official([metadata], tmp_path / "dl", tmp_path / "raw", progress=False)
    message = str(caught.value)
    assert "\n" not in message
    assert metadata.url in message and metadata.md5 in message
    assert str(tmp_path / "dl" / "MAMe_metadata.zip") in message


def test_the_ingest_default_caps_are_set_for_every_official_file() -> None:
    for official in (*MAME_OFFICIAL_FILES, *MET_OFFICIAL_FILES):
        assert 0 < official.max_unpacked_bytes <= DEFAULT_MAX_TOTAL_BYTES


def test_a_hostile_mame_archive_from_a_mirror_fails_its_md5_before_extraction(
    http_server, tmp_path: Path
) -> None:
    metadata = MAME_OFFICIAL_FILES[0]
    http_server.files[metadata.name] = _zip({"../evil.csv": b"x", "MAMe_dataset.csv": GOOD})
    downloads, raw = tmp_path / "dl", tmp_path / "raw"
    with pytest.raises(ChecksumError) as caught:
        fetch_from(http_server.base_url, [metadata], downloads, raw, progress=False)
    message = str(caught.value)
    assert "\n" not in message and metadata.md5 in message
    assert str(partial_path(downloads / metadata.name)) in message
    assert not raw.exists() and not (tmp_path / "evil.csv").exists()
