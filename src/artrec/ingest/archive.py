"""Safe, resumable extraction of zip and tar archives.

The whole member list is checked before anything is written: no member may land outside the
target folder (absolute names, ``..``, links pointing out, device files), and the declared
uncompressed size must be plausible (a cap, and a cap on the compression ratio against zip bombs).
Both are checked member by member while the list is read, so a bomb is refused as soon as its
declared sizes pass a limit, and again on the bytes actually written: a member that inflates
beyond its declared size, or a total beyond the cap, stops the extraction.
Tar members also go through the standard library's ``'data'`` extraction filter; zip has no such
filter, so the same rules are applied by hand.

Each file is written under a temporary name and renamed into place, so an interrupted or failed
run never leaves a truncated file under a member's name nor damages files already there. A re-run
skips files already present with the right size, which makes extraction resumable.
"""

from __future__ import annotations

import logging
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from artrec.errors import ArtrecError, BadInputError
from artrec.utils.atomic import atomic_write, remove_stale_temporaries

log = logging.getLogger(__name__)

# Below this declared size the compression ratio says nothing: a few KiB of repeated text may
# compress 500-fold without being a bomb.
_RATIO_MIN_BYTES = 1 << 20
_COPY_CHUNK = 1 << 20
# The default cap on what one archive may unpack to: well above the largest official archive
# (MAMe_data.zip, about 90 GB of images), far below what a bomb declares. Callers that know the
# archive pass a tighter limit (``OfficialFile.max_unpacked_bytes``).
DEFAULT_MAX_TOTAL_BYTES = 1 << 40
# Errors by which the archive libraries report a damaged or truncated file. gzip and bz2 raise
# OSError without an errno; an OSError with one comes from the system (disk, permissions).
_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError)
_DAMAGED_FIX = "delete the archive and download it again (its md5 will be checked)"


class ArchiveError(BadInputError, RuntimeError):
    """An archive could not be read or extracted."""

    def __init__(self, path: str | os.PathLike[str], problem: str, fix: str = _DAMAGED_FIX):
        super().__init__(path, problem, fix)


class UnsafeArchiveError(ArchiveError):
    """An archive member would escape the target folder, or the archive looks like a bomb."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        problem: str,
        fix: str = "do not use this archive: get the official one (the md5 is in "
        "src/artrec/ingest/sources.py)",
    ):
        super().__init__(path, problem, fix)


@dataclass(frozen=True)
class _Member:
    """One archive entry, checked and reduced to what extraction needs."""

    name: str  # normalised relative POSIX path
    kind: str  # "file", "dir" or "link" (tar symlinks and hard links)
    size: int
    mode: int | None
    mtime: float | None
    source: zipfile.ZipInfo | tarfile.TarInfo


def safe_extract(
    archive: Path,
    target: Path,
    *,
    max_total_bytes: int | None = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: float = 200.0,
    max_members: int = 2_000_000,
) -> list[Path]:
    """Extract a zip or tar(.gz/.bz2/.xz) ``archive`` into ``target`` and return its file paths.

    Refuses (``UnsafeArchiveError``, before writing anything) members that would escape
    ``target`` and archives that declare more than ``max_total_bytes`` uncompressed (None: no
    cap), expand more than ``max_ratio`` times their size on disk, or hold more than
    ``max_members`` entries; the same limits stop the extraction if the bytes written exceed what
    was declared. A damaged or truncated archive raises ``ArchiveError``. The returned list holds
    every file and link of the archive, whether written now or found already in place with the
    right size.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise ArchiveError(
            archive, "the archive does not exist", "download it again, or fix the path"
        )
    limits = _Limits(archive, max_total_bytes, max_ratio, max_members)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                members = _plan(archive, target, _zip_members(archive, zf), limits)
                _check_free_space(archive, target, members)
                return _extract(archive, target, members, lambda m: zf.open(m.source), None, limits)
        if tarfile.is_tarfile(archive):
            if not hasattr(tarfile, "data_filter"):
                raise ArchiveError(
                    archive,
                    "safe tar extraction needs the tarfile filters of Python >= 3.11.4",
                    "upgrade Python",
                )
            with tarfile.open(archive, "r:*") as tf:
                members = _plan(archive, target, _tar_members(archive, target, tf), limits)
                _check_tar_end(archive, tf)
                _check_free_space(archive, target, members)
                return _extract(
                    archive, target, members, lambda m: tf.extractfile(m.source), tf, limits
                )
    except ArtrecError:
        raise
    except _DAMAGED as exc:
        if _is_system_error(exc):
            raise
        # Reading the member list of a truncated .tar.gz fails part-way with EOFError or
        # tarfile.ReadError; nothing has been written then.
        raise ArchiveError(
            archive, f"the archive is damaged or truncated ({type(exc).__name__}: {exc})"
        ) from exc
    raise ArchiveError(
        archive,
        "the file is neither a zip nor a tar archive (an error page saved by a failed download?)",
    )


@dataclass
class _Limits:
    """The size limits of one extraction and the running totals they are checked against."""

    archive: Path
    max_total_bytes: int | None
    max_ratio: float
    max_members: int
    declared: int = 0
    written: int = 0

    def __post_init__(self) -> None:
        self.packed = max(self.archive.stat().st_size, 1)

    def check(self, total: int, what: str) -> None:
        if self.max_total_bytes is not None and total > self.max_total_bytes:
            raise UnsafeArchiveError(
                self.archive,
                f"{what} {total} bytes uncompressed, above the limit of {self.max_total_bytes}",
            )
        if total >= _RATIO_MIN_BYTES and total / self.packed > self.max_ratio:
            raise UnsafeArchiveError(
                self.archive,
                f"{what} {total} bytes uncompressed from {self.packed} bytes on disk: a "
                f"compression ratio of {total / self.packed:.0f}, above {self.max_ratio:g} "
                "(a zip bomb?)",
            )


def _plan(
    archive: Path, target: Path, members: Iterator[_Member], limits: _Limits
) -> list[_Member]:
    planned = []
    root = target.resolve()
    for member in members:
        if len(planned) >= limits.max_members:
            raise UnsafeArchiveError(archive, f"holds more than {limits.max_members} members")
        # resolve() follows links already on disk, so a pre-existing link cannot be used as an exit.
        if not (target / member.name).resolve().is_relative_to(root):
            raise UnsafeArchiveError(
                archive, f"member {member.name!r} would be written outside {target}"
            )
        if member.kind == "file":
            # Checked as the list is read: a bomb's member list is never read to its end.
            limits.declared += member.size
            limits.check(limits.declared, "declares")
        planned.append(member)
    return planned


def _safe_name(archive: Path, raw: str, is_dir: bool) -> str | None:
    """The member name as a relative POSIX path; refuses absolute names and ``..``.

    None for the target folder itself ("./", written by ``tar -C dir .``), which needs nothing.
    """
    # Some Windows tools write backslashes; treat them as separators so "..\\x" is caught too.
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(archive, f"member {raw!r} has an absolute path")
    if "\x00" in name:
        raise UnsafeArchiveError(archive, f"member {raw!r} has a NUL byte in its name")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(archive, f"member {raw!r} contains '..'")
    if not parts:
        if is_dir:
            return None
        raise UnsafeArchiveError(archive, f"member {raw!r} has an empty name")
    return posixpath.join(*parts)


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        name = _safe_name(archive, info.filename, info.is_dir())
        if name is None:
            continue
        unix_mode = info.external_attr >> 16
        file_type = stat.S_IFMT(unix_mode)
        if stat.S_ISLNK(unix_mode):
            link = zf.read(info).decode("utf-8", "replace")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), link))
            where = "outside the target folder" if _escapes(link, resolved) else "inside the target"
            raise UnsafeArchiveError(
                archive,
                f"member {info.filename!r} is a symlink to {link!r} ({where}); "
                "symlinks in zip archives are not extracted",
            )
        if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchiveError(archive, f"member {info.filename!r} is a special file")
        if info.flag_bits & 0x1:
            raise ArchiveError(
                archive,
                f"member {info.filename!r} is encrypted",
                "use the official, unencrypted archive",
            )
        mtime = time.mktime((*info.date_time, 0, 0, -1))
        if info.is_dir():
            yield _Member(name, "dir", 0, None, None, info)
        else:
            yield _Member(name, "file", info.file_size, None, mtime, info)


def _escapes(link: str, resolved: str) -> bool:
    return link.startswith("/") or resolved == ".." or resolved.startswith("../")


def _tar_members(archive: Path, target: Path, tf: tarfile.TarFile) -> Iterator[_Member]:
    for info in tf:
        name = _safe_name(archive, info.name, info.isdir())
        if name is None:
            continue
        try:
            checked = tarfile.data_filter(info, str(target))
        except tarfile.FilterError as exc:
            raise UnsafeArchiveError(archive, f"member {info.name!r} refused: {exc}") from exc
        if checked is None:  # the filter asks to skip this member
            continue
        if checked.isdir():
            kind = "dir"
        elif checked.isreg():
            kind = "file"
        else:
            kind = "link"  # the 'data' filter lets through only files, dirs and safe links
        yield _Member(name, kind, checked.size, checked.mode, checked.mtime, checked)


def _check_tar_end(archive: Path, tf: tarfile.TarFile) -> None:
    """Refuse a tar that stops without its end-of-archive marker.

    tarfile takes the end of the data where a header should be for the end of the archive, so a
    copy cut at a member boundary would list fewer members without a word. A complete archive
    ends with two zero blocks, and a compressed one with its stream's end marker (gzip, bz2 and
    xz raise EOFError when that is missing, which safe_extract reports).
    """
    assert tf.fileobj is not None
    tf.fileobj.seek(tf.offset)
    trailer = tf.fileobj.read(2 * tarfile.BLOCKSIZE)
    if trailer != bytes(2 * tarfile.BLOCKSIZE):
        raise ArchiveError(
            archive, "the archive is truncated: its end-of-archive marker is missing"
        )
    while tf.fileobj.read(_COPY_CHUNK):  # the padding up to the end of the compressed stream
        pass


def _already_there(target: Path, member: _Member) -> bool:
    path = target / member.name
    if member.kind == "file":
        return path.is_file() and not path.is_symlink() and path.stat().st_size == member.size
    if member.kind == "dir":
        return path.is_dir()
    return False


def _check_free_space(archive: Path, target: Path, members: list[_Member]) -> None:
    needed = sum(m.size for m in members if m.kind == "file" and not _already_there(target, m))
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise ArchiveError(
            archive,
            f"extracting it into {target} needs {needed} more bytes, only {free} are free",
            f"free disk space under {existing}, or move data/ to a larger disk, and rerun",
        )


def _extract(
    archive: Path,
    target: Path,
    members: list[_Member],
    open_member: Callable[[_Member], IO[bytes]],
    tar: tarfile.TarFile | None,
    limits: _Limits,
) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    umask = _current_umask()
    written: list[Path] = []
    skipped = 0
    root = target.resolve()
    for member in members:
        path = target / member.name
        # Checked again now because links extracted earlier in this run may have changed where
        # a parent folder leads since the plan was made.
        if not path.parent.resolve().is_relative_to(root):
            raise UnsafeArchiveError(
                archive, f"member {member.name!r} would be written outside {target}"
            )
        if member.kind == "dir":
            path.mkdir(parents=True, exist_ok=True)
            continue
        written.append(path)
        if _already_there(target, member):
            skipped += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if member.kind == "file":
                mode = member.mode if member.mode is not None else 0o666 & ~umask
                with open_member(member) as src:
                    _write_file(src, path, mode, member, limits)
            else:
                _extract_tar_link(tar, target, member)
        except ArtrecError:
            raise
        except _DAMAGED as exc:
            if _is_system_error(exc):
                raise
            raise ArchiveError(
                archive,
                f"member {member.name!r} is damaged ({type(exc).__name__}: {exc}); the files "
                "extracted before it are complete and kept",
            ) from exc
    if skipped:
        log.info("%s: %d members already extracted in %s were kept", archive, skipped, target)
    # An earlier run killed mid-file left its temporary file beside the member: tidy up.
    for folder in {path.parent for path in written}:
        remove_stale_temporaries(folder)
    return written


def _write_file(src: IO[bytes], path: Path, mode: int, member: _Member, limits: _Limits) -> None:
    """Copy one member, counting the bytes: nothing beyond the declared size is written."""
    with atomic_write(path, "wb") as out:
        size = 0
        while chunk := src.read(_COPY_CHUNK):
            size += len(chunk)
            limits.written += len(chunk)
            if size > member.size:
                raise UnsafeArchiveError(
                    limits.archive,
                    f"member {member.name!r} inflates beyond its declared {member.size} bytes",
                )
            limits.check(limits.written, "inflates to more than")
            out.write(chunk)
        os.fchmod(out.fileno(), mode)
    if member.mtime is not None:
        os.utime(path, (member.mtime, member.mtime))


def _extract_tar_link(tf: tarfile.TarFile, target: Path, member: _Member) -> None:
    """Let tarfile (with its 'data' filter) make the link under a temporary name, then rename."""
    final = target / member.name
    temp_name = posixpath.join(posixpath.dirname(member.name), f".{final.name}.extracting")
    temp = target / temp_name
    try:
        tf.extract(member.source.replace(name=temp_name), target, filter="data")
        os.replace(temp, final)
    finally:
        if temp.is_symlink() or temp.exists():
            temp.unlink()


def _is_system_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno is not None


def _current_umask() -> int:
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
