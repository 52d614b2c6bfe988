"""A Kedro dataset for the provenance records of the stages (``data/09_provenance``).

The records are built by :func:`artrec.reporting.provenance.make_record` (where their layout is
described); this module owns their files and checks their layout (:func:`check_record`).

Saving takes one record (see :mod:`artrec.reporting.provenance`) and writes it atomically to
``<path>/<pipeline>.json``; loading returns every record of the folder, sorted by pipeline, each
checked (a damaged record is refused naming the file, not shown as if it were the truth).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from artrec.errors import BadInputError
from artrec.utils.atomic import atomic_write_json

RECORD_KEYS = ("pipeline", "runs", "outputs")

# A pipeline name as a file name: what `kedro run --pipeline` accepts, never a path.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


def check_record(record: Any) -> str | None:
    """What is wrong with a loaded record, or None."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        return f"lacks the key(s) {missing}"
    if not isinstance(record["runs"], list) or not isinstance(record["outputs"], dict):
        return "'runs' must be a list and 'outputs' an object"
    sessions = set()
    for run in record["runs"]:
        if not isinstance(run, dict) or "session" not in run:
            return "every entry of 'runs' must be an object with a 'session'"
        sessions.add(run["session"])
    for name, output in record["outputs"].items():
        if not isinstance(output, dict) or output.get("session") not in sessions:
            return f"output {name!r} names no run of the record"
    return None


class ProvenanceRecordsDataset(AbstractDataset[dict[str, Any], list[dict[str, Any]]]):
    """A folder of JSON provenance records, one per pipeline."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def record_path(self, pipeline: str) -> Path:
        if not _SAFE_NAME.match(pipeline) or pipeline.startswith("."):
            raise ValueError(f"{pipeline!r} is not usable as a record name")
        return self._path / f"{pipeline}.json"

    def load_record(self, pipeline: str) -> dict[str, Any] | None:
        """The record of ``pipeline``, or None when there is none."""
        path = self.record_path(pipeline)
        return _read(path) if path.is_file() else None

    def _load(self) -> list[dict[str, Any]]:
        if not self._path.is_dir():
            return []
        return [_read(path) for path in sorted(self._path.glob("*.json"))]

    def _save(self, record: dict[str, Any]) -> None:
        problem = check_record(record)
        if problem:
            raise ValueError(f"not a provenance record: {problem}")
        atomic_write_json(self.record_path(record["pipeline"]), record)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


def _read(path: Path) -> dict[str, Any]:
    fix = "rerun the stage that writes it (`dvc repro --force <stage>`), or delete the file"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadInputError(path, f"not a provenance record: {error}", fix) from None
    problem = check_record(record)
    if problem:
        raise BadInputError(path, f"not a provenance record: {problem}", fix)
    return record
