"""A Kedro dataset for a folder of files (a raw download, a generated image set, a cache).

Loading returns the folder's :class:`~pathlib.Path`. Saving takes a *writer*, a callable that
fills a work folder; the work folder then replaces the target folder in one rename, so readers
never see a half-written folder. The work folder (``<name>.partial``) is kept when the writer
fails, so a writer that skips finished files resumes where the crash left it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

FolderWriter = Callable[[Path], Any]


class DirectoryDataset(AbstractDataset[FolderWriter, Path]):
    """A folder on the local filesystem, written atomically as a whole."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    @property
    def work_path(self) -> Path:
        return self._path.with_name(self._path.name + ".partial")

    def _load(self) -> Path:
        if not self._path.is_dir():
            raise DatasetError(f"Folder {self._path} does not exist; run the stage that makes it.")
        return self._path

    def _save(self, writer: FolderWriter) -> None:
        if not callable(writer):
            raise DatasetError(
                f"DirectoryDataset({self._path}) saves a callable that fills a folder, "
                f"got {type(writer).__name__}"
            )
        work = self.work_path
        work.mkdir(parents=True, exist_ok=True)
        writer(work)
        previous = self._path.with_name(self._path.name + ".previous")
        if previous.exists():
            shutil.rmtree(previous)
        if self._path.exists():
            self._path.rename(previous)
        work.rename(self._path)
        if previous.exists():
            shutil.rmtree(previous)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
