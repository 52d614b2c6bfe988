"""Provenance recorded in the report: code revision, parameters profile, data sources, and the runs
that produced the outputs it shows.

Every Kedro run of a stage leaves a small *provenance record* beside its outputs
(``data/09_provenance/<pipeline>.json``, written by :class:`artrec.hooks.ProvenanceHook` through
:class:`artrec.kedro_io.ProvenanceRecordsDataset`, a DVC output of the stage): which MLflow run
produced which output, from which commit (``+dirty`` when the work tree had changes), when. DVC
restores the record with the outputs (run cache, ``dvc pull``, ``dvc exp apply``) and keeps it
when it skips an unchanged stage, so the report names the runs that *made* the files it reads,
not the newest run of each name (which may be a failed or unrelated run) and not its own run.

A record looks like::

    {"pipeline": "knn", "dvc_stage": "knn_met",
     "runs": [{"session": "<Kedro session id>", "mlflow_run_id": "...", "mlflow_run_name": "...",
               "mlflow_child_runs": [{"run_id": "...", "run_name": "knn_met_table4_row1"}, ...],
               "git_revision": "<commit>[+dirty]", "started": "<ISO time, UTC>"}],
     "outputs": {"met_table4": {"path": "data/08_reporting/met_table4.csv", "session": "..."}}}

A full run of the pipeline replaces the record; a partial run (``--nodes``, ``--tags``, ...)
replaces only the outputs it wrote, and the record keeps the runs still named by an output.
:func:`artrec.kedro_io.provenance.check_record` checks the layout when a record is read or saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd


def git_revision(root: Path | None = None) -> str:
    """The commit checked out at ``root``, with ``+dirty`` when tracked files have changes
    (``dvc.lock``, DVC's own bookkeeping, excepted)."""
    from artrec.tracking import git_state

    state = git_state(root or Path.cwd())
    if not state:
        return "unknown (not a git checkout)"
    return state["git.commit"] + ("+dirty" if state["git.dirty"] == "true" else "")


def run_entry(
    session: str,
    root: Path,
    started: dt.datetime,
    mlflow_run_id: str | None = None,
    mlflow_run_name: str | None = None,
    mlflow_child_runs: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One run of a record: the Kedro session, its MLflow run (and nested runs), the code."""
    return {
        "session": session,
        "mlflow_run_id": mlflow_run_id,
        "mlflow_run_name": mlflow_run_name,
        "mlflow_child_runs": list(mlflow_child_runs or []),
        "git_revision": git_revision(root),
        "started": started.astimezone(dt.UTC).isoformat(timespec="seconds"),
    }


def make_record(
    pipeline: str,
    run: Mapping[str, Any],
    outputs: Mapping[str, str],
    *,
    dvc_stage: str | None = None,
    previous: Mapping[str, Any] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The record of ``pipeline`` after ``run`` wrote ``outputs`` (dataset name -> path).

    A ``partial`` run keeps the producers that ``previous`` names for the outputs it did not
    write; a full run replaces the record.
    """
    produced = {name: {"path": path, "session": run["session"]} for name, path in outputs.items()}
    kept: dict[str, Any] = {}
    runs = [dict(run)]
    if partial and previous:
        kept = {k: v for k, v in previous.get("outputs", {}).items() if k not in produced}
        still_named = {entry["session"] for entry in kept.values()}
        runs += [
            r for r in previous.get("runs", []) if r["session"] in still_named - {run["session"]}
        ]
    return {
        "pipeline": pipeline,
        "dvc_stage": dvc_stage,
        "runs": runs,
        "outputs": dict(sorted({**kept, **produced}.items())),
    }


PRODUCER_COLUMNS = [
    "stage",
    "MLflow run",
    "run id",
    "status",
    "git revision",
    "started",
    "outputs",
]


def producers_table(
    records: list[Mapping[str, Any]], run_status: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per run that produced outputs: its stage, MLflow run (name, id, status in the
    tracking store when ``run_status`` is given), commit, start time and the files it wrote."""
    rows = []
    for record in records:
        for run in record["runs"]:
            files = sorted(
                out["path"]
                for out in record["outputs"].values()
                if out["session"] == run["session"]
            )
            run_id = run.get("mlflow_run_id")
            children = len(run.get("mlflow_child_runs") or [])
            name = run.get("mlflow_run_name") or ""
            if children:
                name += f" (+{children} nested)"
            status = ""
            if run_status is not None:
                status = run_status.get(run_id, "not in this tracking store") if run_id else ""
            rows.append(
                [
                    record.get("dvc_stage") or record["pipeline"],
                    name or "(MLflow off)",
                    run_id or "",
                    status,
                    run["git_revision"],
                    run["started"],
                    ", ".join(files),
                ]
            )
    frame = pd.DataFrame(rows, columns=PRODUCER_COLUMNS)
    if run_status is None:
        frame = frame.drop(columns="status")
    return frame.sort_values(["stage", "started"], ignore_index=True)


def mlflow_run_status(run_ids: list[str], tracking_uri: str) -> dict[str, str]:
    """``{run id: status}`` of the runs found in the tracking store at ``tracking_uri``."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = {}
    for run_id in run_ids:
        try:
            found[run_id] = client.get_run(run_id).info.status
        except MlflowException:
            continue  # e.g. outputs pulled from a DVC remote, runs logged elsewhere
    return found


def provenance_table(profile: str, sources: dict[str, Any], revision: str) -> pd.DataFrame:
    rows = [
        ["generated", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")],
        ["git revision", revision],
        ["parameter profile", profile],
    ]
    rows += [[f"data source: {name}", str(spec)] for name, spec in sources.items()]
    return pd.DataFrame(rows, columns=["item", "value"])
