"""Atomic file output: readers see either the old file or the complete new one, never a torn one.

Every output the project writes (datasets, images, checkpoints, reports) goes through these helpers,
so an interrupted run leaves no half-written file behind under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from artrec.errors import DiskFullError

# "No space left on device" and "disk quota exceeded": both mean the same thing to a user.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
# The names of atomic_write's temporary files: "." + target name + "." + mkstemp's 8 random
# characters + ".tmp".
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", **open_kwargs: Any
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    The temporary file lives in the same directory so that ``os.replace`` is a same-filesystem
    rename (atomic on POSIX). On any exception the temporary file is removed and ``path`` is left
    untouched. A write that fails for lack of space raises :class:`artrec.errors.DiskFullError`
    naming ``path`` and the free space left.
    """
    if "w" not in mode:
        raise ValueError(f"atomic_write needs a write mode, got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file private (0600); give it the permissions open() would have.
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            raise _disk_full(target, exc) from exc
        raise


def _disk_full(target: Path, exc: OSError) -> DiskFullError:
    try:
        free = f"{shutil.disk_usage(target.parent).free:,} bytes are free there"
    except OSError:
        free = "the free space could not be read"
    kept = "the previous version is unchanged" if target.exists() else "nothing was written"
    return DiskFullError(
        target,
        f"no space left on the device while writing it ({exc.strerror}; {free}; {kept})",
        f"free disk space in {target.parent} (or move data/ to a larger disk) and rerun",
    )


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> None:
    """Serialise ``obj`` as JSON to ``path`` atomically (keys kept in insertion order)."""
    atomic_write_text(path, json.dumps(obj, indent=indent, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    # numpy scalars and paths show up in metrics dictionaries; JSON has no type for them.
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serialisable")


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> int:
    """Delete the temporary files that writes killed mid-way (kill -9) left in ``folder``.

    They are never taken for outputs (they are not under the final name), but a resumed run
    should not leave them lying in a dataset folder. Call it only when no write into ``folder``
    is in progress. Returns how many were removed.
    """
    removed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if _TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed
