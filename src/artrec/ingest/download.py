"""Resumable, checksum-verified downloads of one file.

``download`` streams a URL into ``<dest>.part``, resumes that partial file with an HTTP ``Range``
request after an interruption (within one call by retrying, or in a later call), checks the md5 of
the complete file and only then renames it to ``dest``. Whatever goes wrong, the bytes already
fetched stay on disk: a failed checksum keeps them as ``.part`` and the error says where.

Local sources (``file://`` URLs and plain paths) are copied the same way, so a user who fetched a
file by hand can point the pipeline at it.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import requests
from tqdm.auto import tqdm

from artrec.errors import BadInputError, DiskFullError

log = logging.getLogger(__name__)

# Seconds to wait before the first retry; doubled after each failed attempt without progress.
_RETRY_WAIT_S = 2.0
# Answers that say "try again later" rather than "this will never work".
_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")


class DownloadError(BadInputError, RuntimeError):
    """A file could not be fetched; the message says how to supply it by hand."""


class ChecksumError(DownloadError):
    """A file's md5 differs from the published one; its bytes are kept, never deleted."""


class _TransientError(Exception):
    """An attempt failed in a way that retrying (and resuming) may fix."""


# Connection refused or reset, DNS failure, timeout, body cut short (ChunkedEncodingError).
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    _TransientError,
)


def partial_path(dest: Path) -> Path:
    """Where ``download`` keeps the bytes of ``dest`` until they are complete and verified."""
    return dest.with_name(dest.name + ".part")


def file_md5(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex md5 of a file, read in chunks so that large archives need little memory."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    dest: Path,
    md5: str | None,
    *,
    timeout: float = 60,
    chunk_size: int = 1 << 20,
    progress: bool = True,
    retries: int = 3,
) -> Path:
    """Fetch ``url`` to ``dest`` (resuming, retrying, md5-checked) and return ``dest``.

    ``url`` may be ``http(s)://``, ``file://`` or a plain local path. A file already at ``dest``
    with the right md5 (or any file there when ``md5`` is None) is returned untouched.
    After a failed attempt (connection lost, timeout, HTTP 5xx) it waits and resumes, up to
    ``retries`` times in a row; the count restarts whenever an attempt brought new bytes.
    ``retries=0`` gives up at the first failure, leaving ``<dest>.part`` for the next call.

    Raises ``DownloadError`` when the file cannot be fetched (message: the URL, the md5 and the
    path to place it at by hand) and ``ChecksumError`` when its md5 is wrong (the bytes are kept).
    """
    dest = Path(dest)
    expected = md5.lower() if md5 else None
    if dest.exists():
        if expected is None:
            return dest
        actual = file_md5(dest, chunk_size)
        if actual == expected:
            return dest
        raise ChecksumError(
            dest,
            f"the file exists but its md5 is {actual}, expected {expected}",
            f"move or delete it to download it again from {url}, or replace it with a correct copy",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    job = _Job(url, dest, expected, chunk_size, progress)
    part = job.part
    local = _local_path(url)
    try:
        if local is None:
            _fetch_http(job, timeout=timeout, retries=retries)
        else:
            _copy_local(local, job)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # The .part file is written in place (it must survive to be resumed), not atomically.
        raise DiskFullError(
            part,
            f"no space left on the device while downloading {url} ({_size(part)} bytes kept)",
            f"free disk space in {part.parent} and rerun: the download resumes from those bytes",
        ) from exc
    _verify(job)
    os.replace(part, dest)
    return dest


@dataclass(frozen=True)
class _Job:
    """One call of :func:`download`: what it fetches, where to, the md5 and how it writes."""

    url: str
    dest: Path
    expected: str | None
    chunk_size: int
    progress: bool

    @property
    def part(self) -> Path:
        return partial_path(self.dest)

    def manual_hint(self) -> str:
        checksum = f"md5 {self.expected}" if self.expected else "no published md5"
        return (
            f"to supply it by hand, fetch {self.url} on a machine with network access, check it "
            f"({checksum}) and place it at {self.dest}"
        )

    def write(self, chunks: Iterable[bytes], mode: str, offset: int, total: int | None) -> None:
        """Write ``chunks`` to the partial file (``mode`` ``wb``, or ``ab`` after ``offset``
        bytes), showing progress towards ``total``, and sync them to disk."""
        with (
            open(self.part, mode) as out,
            tqdm(
                total=total,
                initial=offset,
                desc=self.dest.name,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                disable=not self.progress,
            ) as bar,
        ):
            for chunk in chunks:
                out.write(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())


def _verify(job: _Job) -> None:
    if job.expected is None:
        log.warning("No md5 given for %s: %s is used unverified", job.url, job.dest)
        return
    actual = file_md5(job.part, job.chunk_size)
    if actual != job.expected:
        raise ChecksumError(
            job.part,
            f"checksum mismatch for {job.dest.name} from {job.url}: expected md5 {job.expected}, "
            f"got {actual} (the fetched bytes are kept in this file)",
            f"delete {job.part} to download again, or place a correct copy at {job.dest} by hand",
        )


def _local_path(url: str) -> Path | None:
    """The file a ``file://`` URL or plain path names; None for a network URL."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        parts = urlsplit(url)
        return Path(url2pathname(unquote(parts.path)))
    # A one-letter scheme is a Windows drive ("C:\\data\\x.zip"), i.e. a plain path.
    if len(scheme) <= 1:
        return Path(url)
    if scheme in ("http", "https"):
        return None
    raise BadInputError(
        url, f"unsupported URL scheme {scheme!r}", "use an http(s):// or file:// URL, or a path"
    )


def _copy_local(source: Path, job: _Job) -> None:
    if not source.is_file():
        raise DownloadError(source, f"could not copy {job.url}: not a file", job.manual_hint())
    # A fresh copy each time: a local copy is cheap compared with reasoning about a stale .part.
    with open(source, "rb") as src:
        chunks = iter(lambda: src.read(job.chunk_size), b"")
        job.write(chunks, "wb", 0, source.stat().st_size)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _fetch_http(job: _Job, *, timeout: float, retries: int) -> None:
    failures = 0
    largest = _size(job.part)
    with requests.Session() as session:
        while True:
            try:
                _http_attempt(session, job, timeout)
                return
            except _TRANSIENT_ERRORS as exc:
                reason = exc
            except requests.RequestException as exc:
                # Not worth retrying: an invalid URL, too many redirects, a TLS failure.
                raise DownloadError(
                    job.url,
                    f"could not download it: {type(exc).__name__}: {exc}",
                    f"check the URL, or {job.manual_hint()}",
                ) from exc
            size = _size(job.part)
            # A failure after new bytes starts a fresh count: a long download over a flaky link
            # keeps going as long as it advances.
            if size > largest:
                largest = size
                failures = 1
            else:
                failures += 1
            if failures > retries:
                kept = f" (the {size} bytes fetched so far are kept in {job.part})" if size else ""
                raise DownloadError(
                    job.url,
                    f"could not download it: {reason}{kept}",
                    f"rerun to resume, or {job.manual_hint()}",
                ) from reason
            wait = _RETRY_WAIT_S * 2 ** max(failures - 1, 0)
            log.warning(
                "Download of %s interrupted (%s); resuming in %.0f s", job.url, reason, wait
            )
            time.sleep(wait)


def _http_attempt(session: requests.Session, job: _Job, timeout: float) -> None:
    """One GET; returns when the partial file holds the whole file, raises ``_TransientError``
    if not."""
    url = job.url
    offset = _size(job.part)
    # identity: the byte counts of Range and Content-Length must be those of the file itself.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with session.get(url, headers=headers, stream=True, timeout=timeout) as response:
        status = response.status_code
        if status == 416 and offset:
            _, _, total = _parse_content_range(response.headers.get("Content-Range"))
            if total is None or total == offset:
                return  # the partial file already holds every byte; the md5 check follows
            raise DownloadError(
                job.part,
                f"holds {offset} bytes but {url} has {total}: it is not a partial copy of it",
                f"delete it to download again, or {job.manual_hint()}",
            )
        if status in _TRANSIENT_STATUS:
            raise _TransientError(f"HTTP {status} {response.reason}")
        if status not in (200, 206):
            raise DownloadError(
                url,
                f"could not download it: HTTP {status} {response.reason}",
                job.manual_hint(),
            )
        if status == 206:
            start, _, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != offset:
                raise _TransientError(f"asked for bytes from {offset}, server sent from {start}")
            mode = "ab"
            log.info("Resuming %s from byte %d", url, offset)
        else:
            if offset:
                log.info("Server ignored the Range request for %s; restarting from byte 0", url)
            offset = 0
            mode = "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        job.write(response.iter_content(job.chunk_size), mode, offset, total)
    size = _size(job.part)
    if total is not None and size < total:
        raise _TransientError(f"connection closed after {size} of {total} bytes")


def _parse_content_range(header: str | None) -> tuple[int | None, int | None, int | None]:
    """``bytes 10-99/100`` -> (10, 99, 100); unknown parts are None."""
    match = _CONTENT_RANGE.fullmatch(header.strip()) if header else None
    if not match:
        return None, None, None
    start, end, total = match.groups()
    return (
        int(start) if start else None,
        int(end) if end else None,
        int(total) if total and total != "*" else None,
    )
