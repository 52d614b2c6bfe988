"""Provenance recorded in the report: code revision, parameters profile, data sources, MLflow runs."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd


def git_revision(root: Path | None = None) -> str:
    """The commit the outputs were made from, with ``+dirty`` when the work tree had changes."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return rev + ("+dirty" if dirty else "")


def latest_mlflow_runs(tracking_uri: str, experiment: str) -> pd.DataFrame:
    """The newest MLflow run per run name (one per pipeline) in ``experiment``."""
    import mlflow

    columns = ["run name", "run id", "status", "start time"]
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return pd.DataFrame(columns=columns)
    runs = client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"])
    rows, seen = [], set()
    for run in runs:
        name = run.info.run_name
        if name in seen:
            continue
        seen.add(name)
        start = dt.datetime.fromtimestamp(run.info.start_time / 1000, tz=dt.UTC)
        rows.append([name, run.info.run_id, run.info.status, start.isoformat(timespec="seconds")])
    return pd.DataFrame(rows, columns=columns).sort_values("run name", ignore_index=True)


def provenance_table(profile: str, sources: dict[str, Any], revision: str) -> pd.DataFrame:
    rows = [
        ["generated", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")],
        ["git revision", revision],
        ["parameter profile", profile],
    ]
    rows += [[f"data source: {name}", str(spec)] for name, spec in sources.items()]
    return pd.DataFrame(rows, columns=["item", "value"])
