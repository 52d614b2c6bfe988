"""Errors a user can act on: each names the file, the problem and the fix, on one line.

Every place where the project reads data a user handed it (archives, downloads, CSV and JSON
metadata, images, descriptor pickles, parameters) raises a subclass of :class:`ArtrecError` when
the input is unusable. The ``artrec`` command and the Kedro hook (``artrec.hooks``) print such an
error as the single line ``error: <path>: <problem>. Fix: <fix>`` instead of a traceback.

The classes also derive from the built-in exception a caller would have caught before
(``ValueError`` for bad content, ``OSError`` for a full disk), so existing handlers keep working.
"""

from __future__ import annotations

import errno
import os


def _one_line(text: str) -> str:
    # Messages are built from file contents and paths; a newline inside one would break the
    # one-line contract of the command-line tools.
    return " ".join(str(text).split())


class ArtrecError(Exception):
    """An error whose message says which file, what is wrong and how to fix it."""

    def __init__(self, path: str | os.PathLike[str], problem: str, fix: str) -> None:
        self.path = os.fspath(path)
        self.problem = _one_line(problem).rstrip(".")
        self.fix = _one_line(fix)
        super().__init__(self.path, self.problem, self.fix)

    def __str__(self) -> str:
        fix = f". Fix: {self.fix}" if self.fix else ""
        return f"{self.path}: {self.problem}{fix}"


class BadInputError(ArtrecError, ValueError):
    """Data handed to the project (a file, a folder, a parameter) is unusable as it is."""


class MissingInputError(BadInputError, FileNotFoundError):
    """A file or folder the project was pointed at does not exist."""

    def __init__(self, path: str | os.PathLike[str], problem: str, fix: str) -> None:
        super().__init__(path, problem, fix)
        self.errno = errno.ENOENT
        self.strerror = os.strerror(errno.ENOENT)
        self.filename = self.path


class DiskFullError(ArtrecError, OSError):
    """A write failed for lack of space; the file that was being replaced is unchanged."""

    def __init__(self, path: str | os.PathLike[str], problem: str, fix: str) -> None:
        super().__init__(path, problem, fix)
        # OSError's own attributes, for callers that test ``error.errno``.
        self.errno = errno.ENOSPC
        self.strerror = os.strerror(errno.ENOSPC)
        self.filename = self.path


def find_artrec_error(error: BaseException | None) -> ArtrecError | None:
    """The first :class:`ArtrecError` in ``error`` or the chain of errors that caused it."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ArtrecError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def one_line_message(error: BaseException) -> str:
    """``error`` as one line: an :class:`ArtrecError`'s own message, else type and first line."""
    actionable = find_artrec_error(error)
    if actionable is not None:
        return str(actionable)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
