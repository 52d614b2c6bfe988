"""Lazy partitions: a folder described as data, written file by file, resumable.

This is Kedro's idiom for large folder outputs (kedro-datasets ``PartitionedDataset``): a node
returns ``{relative path: value}``, one entry per file, and a value may be a zero-argument
callable evaluated only when the folder is written, so no node holds the whole folder in memory.
A value here is

- ``bytes``: the file's content;
- an ``os.PathLike`` (a :class:`~pathlib.Path`): an existing file or folder, hard-linked (copied
  across filesystems) under the key; how the verified official downloads reach their folder;
- ``None``: no file (the input yields none, e.g. an unreadable image that is quarantined);
- a mapping: more partitions, with the key as their folder (``""`` is the folder itself);
- a zero-argument callable returning any of these. With ``workers`` > 1 the callables run in
  worker processes, so they must be picklable: ``functools.partial`` of module-level functions;
- an :class:`AfterWrite`: computed from the folder once every other partition of its mapping is
  written (how a save checks what it wrote, e.g. the share of unusable images). Raising there
  aborts the write; inside ``DirectoryDataset`` that is before the swap, so the previous folder
  is kept. It runs on every write, resumed or not, and is not part of the digest below, so a
  write that failed its check resumes the written files once the check's threshold is changed.

:func:`write_partitions` writes every file atomically (``artrec.utils.atomic``). While it runs,
``<folder>/.partitions.sha256`` holds a digest of the description (the keys, the bytes, the
pickled callables); a rerun with the same description skips every callable partition whose file
is already there, so an interrupted generation or download resumes where it stopped; any other
rerun rewrites every file. The digest file is removed once all partitions are written.
``artrec.kedro_io.directory.DirectoryDataset`` wraps this in a work folder swapped into place.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import pickle
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from tqdm import tqdm

from artrec.utils.atomic import atomic_write, atomic_write_bytes, remove_stale_temporaries


@dataclass(frozen=True)
class AfterWrite:
    """A partition computed once the other partitions of its mapping are in the folder.

    ``function(folder)`` gets the folder of that mapping (inside ``DirectoryDataset``, in the
    work folder) and returns a value for the key, like a callable partition (``None``: no file).
    It runs in this process, after the pool's work; an exception it raises aborts the write.
    """

    function: Callable[[Path], Any]


PartitionValue = bytes | os.PathLike | None | Mapping[str, Any] | Callable[[], Any] | AfterWrite
Partitions = Mapping[str, PartitionValue]

DIGEST_NAME = ".partitions.sha256"
# Callables are sent to the workers in chunks; this many per worker keep the cores evenly busy.
_CHUNKS_PER_WORKER = 4
_MAX_CHUNK = 32


def default_workers() -> int:
    """The cores this process may run on (a container or taskset can allow fewer), at most 8."""
    has_affinity = hasattr(os, "sched_getaffinity")
    cores = len(os.sched_getaffinity(0)) if has_affinity else (os.cpu_count() or 1)
    return max(1, min(cores, 8))


def describe(partitions: Partitions) -> str:
    """A digest of the description: equal digests write equal folders (given the same code)."""
    digest = hashlib.sha256()
    for key, value in _checked_items(partitions):
        digest.update(key.encode() + b"\0")
        if isinstance(value, bytes):
            digest.update(b"b" + hashlib.sha256(value).digest())
        elif isinstance(value, Mapping):
            digest.update(b"m" + describe(value).encode())
        elif value is None or isinstance(value, os.PathLike):
            digest.update(b"p" + repr(value).encode())
        elif isinstance(value, AfterWrite):
            # Never skipped on a resume, so its function need not match: a check whose threshold
            # was changed after it failed resumes the files written before it.
            digest.update(b"a")
        else:
            try:
                digest.update(b"c" + pickle.dumps(value))
            except (pickle.PicklingError, TypeError, AttributeError):
                # An unpicklable callable (a lambda) is never taken as already written.
                digest.update(b"u" + os.urandom(16))
    return digest.hexdigest()


def write_partitions(
    folder: str | os.PathLike[str],
    partitions: Partitions,
    *,
    workers: int | None = 1,
    progress: bool = False,
) -> Path:
    """Write ``partitions`` into ``folder`` (see the module docstring); return the folder.

    ``workers``: processes evaluating the callables (``None``: :func:`default_workers`; 1: this
    process). ``progress``: a tqdm bar per mapping over its callables. Files already in
    ``folder`` that no partition names are left alone.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    journal = folder / DIGEST_NAME
    digest = describe(partitions)
    resume = journal.is_file() and journal.read_text().strip() == digest
    atomic_write_bytes(journal, f"{digest}\n".encode())
    workers = default_workers() if workers is None else max(1, int(workers))
    _write(_Run(folder, workers, resume, progress), "", partitions)
    for directory, _, _ in os.walk(folder):
        # Temporary files of writes a kill -9 interrupted on an earlier run.
        remove_stale_temporaries(directory)
    journal.unlink()
    return folder


def link_or_copy(source: Path, dest: Path) -> None:
    """Place the file ``source`` at ``dest``; a file of the same size already there is kept.

    A hard link shares the bytes with the source: safe because this project only ever replaces
    files (atomic rename), never rewrites them in place.
    """
    if dest.is_file() and dest.stat().st_size == source.stat().st_size:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.linking")
    temp.unlink(missing_ok=True)
    try:
        os.link(source, temp)
        os.replace(temp, dest)
        return
    except OSError:
        # Other filesystem, a filesystem without hard links, or not allowed (protected_hardlinks).
        temp.unlink(missing_ok=True)
    with open(source, "rb") as src, atomic_write(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        # Keep the source's read bits (the temporary file starts private), writable by its owner.
        os.fchmod(out.fileno(), stat.S_IMODE(source.stat().st_mode) | stat.S_IWUSR)


def _checked_items(partitions: Partitions) -> Iterator[tuple[str, PartitionValue]]:
    if not isinstance(partitions, Mapping):
        raise TypeError(
            f"partitions must be a mapping of relative paths to contents, got "
            f"{type(partitions).__name__}"
        )
    for key, value in partitions.items():
        relative = PurePosixPath(key) if isinstance(key, str) else None
        if (
            relative is None
            or relative.is_absolute()
            or ".." in relative.parts
            or "\\" in key
            or "\x00" in key
            or (key == "" and not isinstance(value, Mapping | AfterWrite) and not callable(value))
        ):
            raise ValueError(f"partition key {key!r} is not a relative path inside the folder")
        yield key, value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if prefix and key else prefix or key


class _Run(NamedTuple):
    """How one :func:`write_partitions` call writes."""

    folder: Path
    workers: int
    resume: bool
    progress: bool


def _write(run: _Run, prefix: str, partitions: Partitions) -> None:
    lazy: list[tuple[str, Callable[[], Any]]] = []
    after: list[tuple[str, AfterWrite]] = []
    for key, value in _checked_items(partitions):
        full = _join(prefix, key)
        if isinstance(value, AfterWrite):
            after.append((full, value))
        elif callable(value) and not isinstance(value, Mapping):
            # A file of the same description is complete: every write is atomic.
            if not (run.resume and full and (run.folder / full).is_file()):
                lazy.append((full, value))
        else:
            _place(run, full, value)
    for full, value in _evaluate(run, prefix, lazy):
        _place(run, full, value)
    for full, value in after:
        _place(run, full, value.function(run.folder / prefix if prefix else run.folder))


def _evaluate(
    run: _Run, prefix: str, lazy: list[tuple[str, Callable[[], Any]]]
) -> Iterator[tuple[str, Any]]:
    """Evaluate the callables; files are written where they are computed, the rest comes back."""
    jobs = [(run.folder, key, value) for key, value in lazy]
    workers = min(run.workers, len(jobs))
    bar = tqdm(
        total=len(jobs),
        desc=_join(run.folder.name, prefix),
        unit="file",
        disable=not (run.progress and jobs),
    )
    if workers <= 1:
        yield from _reported(map(_run_one, jobs), bar)
        return
    chunksize = max(1, min(_MAX_CHUNK, math.ceil(len(jobs) / (workers * _CHUNKS_PER_WORKER))))
    # "spawn": forking a parent that already runs torch/OpenMP threads can deadlock the children.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        yield from _reported(pool.map(_run_one, jobs, chunksize=chunksize), bar)
    finally:
        # After an error or Ctrl-C, drop the queued chunks instead of finishing the folder first.
        pool.shutdown(wait=True, cancel_futures=True)


def _reported(results: Iterable[tuple[str, Any] | None], bar: tqdm) -> Iterator[tuple[str, Any]]:
    with bar:
        for item in results:
            bar.update()
            if item is not None:
                yield item


def _run_one(job: tuple[Path, str, Callable[[], Any]]) -> tuple[str, Any] | None:
    folder, key, function = job
    value = function()
    if isinstance(value, bytes):
        _write_bytes(folder, key, value)
        return None
    return key, value


def _place(run: _Run, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bytes):
        _write_bytes(run.folder, key, value)
    elif isinstance(value, Mapping):
        _write(run, key, value)
    elif isinstance(value, os.PathLike):
        _link_tree(Path(value), run.folder / key if key else run.folder)
    elif callable(value):
        raise TypeError(f"partition {key!r}: a callable returned another callable")
    else:
        raise TypeError(
            f"partition {key!r}: expected bytes, a path, None, a mapping or a callable, got "
            f"{type(value).__name__}"
        )


def _write_bytes(folder: Path, key: str, data: bytes) -> None:
    if not key:
        raise ValueError("partition key '' names the folder itself, not a file")
    atomic_write_bytes(folder / key, data)


def _link_tree(source: Path, dest: Path) -> None:
    if not source.is_dir():
        link_or_copy(source, dest)
        return
    for directory, _, names in os.walk(source):
        for name in names:
            path = Path(directory) / name
            link_or_copy(path, dest / path.relative_to(source))
