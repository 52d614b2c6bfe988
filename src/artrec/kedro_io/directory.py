"""A Kedro dataset for a folder of files (a raw download, a generated image set, a cache).

Loading returns the folder's :class:`~pathlib.Path`. Saving takes the folder's *partitions*,
Kedro's lazy-partition idiom (kedro-datasets ``PartitionedDataset``): a mapping of relative
paths to bytes, or to zero-argument callables evaluated at save time (see
``artrec.utils.partitions`` for every kind of value). The nodes thus return data describing the
folder; this dataset is the engine that writes it:

- each partition is written atomically into the work folder ``<name>.partial/``;
- a save interrupted midway (a callable raising, Ctrl-C, kill -9) leaves the previous folder
  intact and the work folder with the partitions finished so far; the next save of the same
  partitions skips those and finishes (a different description starts the work folder afresh);
- a check among the partitions (``artrec.utils.partitions.AfterWrite``, e.g. the preprocess
  stage's share of unusable images) runs in the work folder once the files are written; when it
  raises, the save fails before the swap: the previous folder is intact and the next save
  resumes the written files;
- the finished work folder replaces the folder in one rename, so readers never see a
  half-written folder.

``workers`` (catalog option; default ``None``: the available cores, at most 8; 1: no
subprocess) evaluates the callables in a process pool.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from artrec.utils.partitions import DIGEST_NAME, Partitions, describe, write_partitions


class DirectoryDataset(AbstractDataset[Partitions, Path]):
    """A folder on the local filesystem, saved from lazy partitions and replaced as a whole."""

    def __init__(
        self, path: str, workers: int | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        if workers is not None and int(workers) < 1:
            raise DatasetError(f"DirectoryDataset({path}): workers must be at least 1 or null")
        self._path = Path(path)
        self._workers = workers
        self.metadata = metadata

    @property
    def work_path(self) -> Path:
        return self._path.with_name(self._path.name + ".partial")

    def _load(self) -> Path:
        if not self._path.is_dir():
            raise DatasetError(f"Folder {self._path} does not exist; run the stage that makes it.")
        return self._path

    def _save(self, partitions: Partitions) -> None:
        if not isinstance(partitions, dict):
            raise DatasetError(
                f"DirectoryDataset({self._path}) saves a mapping of relative paths to file "
                f"contents (lazy partitions), got {type(partitions).__name__}"
            )
        work = self.work_path
        journal = work / DIGEST_NAME
        if work.exists() and not (
            journal.is_file() and journal.read_text().strip() == describe(partitions)
        ):
            # Left by a save of other partitions: nothing in it can be trusted for this one.
            shutil.rmtree(work)
        write_partitions(work, partitions, workers=self._workers)
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
        return {"path": str(self._path), "workers": self._workers}
