"""ProvenanceHook: every ``kedro run`` leaves the record of the run that produced its outputs."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node

from artrec.hooks import PROVENANCE_DATASET, ProvenanceHook
from artrec.kedro_io import ProvenanceRecordsDataset

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _identity(x: Any) -> Any:
    return x


def _catalog(records: Path, folder: Path) -> DataCatalog:
    from kedro_datasets.json import JSONDataset

    return DataCatalog(
        {
            PROVENANCE_DATASET: ProvenanceRecordsDataset(str(records)),
            "a": JSONDataset(filepath=str(folder / "a.json")),
            "b": JSONDataset(filepath=str(folder / "b.json")),
            "scratch": MemoryDataset(),
        }
    )


def _run(hook: ProvenanceHook, pipeline: Pipeline, catalog: DataCatalog, **params: Any) -> None:
    run_params = {"project_path": "/nonexistent", "pipeline_names": ["demo"], **params}
    hook.before_pipeline_run(run_params, pipeline, catalog)
    hook.after_pipeline_run(run_params, pipeline, catalog)


def test_records_full_and_partial_runs_and_not_the_reader(tmp_path: Path) -> None:
    records = tmp_path / "09_provenance"
    catalog = _catalog(records, tmp_path)
    pipeline = Pipeline(
        [
            node(_identity, "params:x", "scratch", name="one", tags=["first"]),
            node(_identity, "scratch", "a", name="two", tags=["first"]),
            node(_identity, "params:x", "b", name="three"),
        ]
    )
    hook = ProvenanceHook()
    _run(hook, pipeline, catalog, run_id="s1")
    record = json.loads((records / "demo.json").read_text())
    assert record["outputs"] == {
        "a": {"path": str(tmp_path / "a.json"), "session": "s1"},
        "b": {"path": str(tmp_path / "b.json"), "session": "s1"},
    }  # outside the project folder: the path as given; memory datasets left out
    (run,) = record["runs"]
    assert run["session"] == "s1" and run["mlflow_run_id"] is None  # no MLflow run active
    assert run["git_revision"] == "unknown (not a git checkout)"

    # `kedro run --tags first` rewrites a only; b keeps its producer
    _run(hook, pipeline.only_nodes_with_tags("first"), catalog, run_id="s2", tags=["first"])
    record = json.loads((records / "demo.json").read_text())
    assert {k: v["session"] for k, v in record["outputs"].items()} == {"a": "s2", "b": "s1"}
    assert [r["session"] for r in record["runs"]] == ["s2", "s1"]

    # a pipeline that reads the records (the report) writes none
    reader = Pipeline([node(_identity, PROVENANCE_DATASET, "a", name="report")])
    _run(hook, reader, catalog, run_id="s3", pipeline_names=["report"])
    assert sorted(p.name for p in records.iterdir()) == ["demo.json"]


def _project(root: Path) -> Path:
    """A git checkout with the project's code and configuration, and descriptors to whiten."""
    root.mkdir()
    for name in ("params.yaml", "pyproject.toml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "conf", root / "conf")
    shutil.copytree(
        REPO / "src" / "artrec",
        root / "src" / "artrec",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    rng = np.random.default_rng(0)
    for scales in ("ss", "ms"):
        descriptors = {
            f"{split}_descriptors": rng.normal(size=(rows, 8)).astype(np.float32)
            for split, rows in (("train", 40), ("val", 5), ("test", 5))
        }
        path = root / "data" / "05_model_input" / f"met_descriptors_{scales}.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(descriptors, protocol=4))
    (root / ".gitignore").write_text("data/\nmlflow.db\nmlartifacts/\nmlruns/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "c"]):
        subprocess.run([*git, *args], cwd=root, check=True, capture_output=True)
    return root


def test_a_kedro_run_records_its_mlflow_run_and_commit(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    (project / "params.yaml").write_text((project / "params.yaml").read_text() + "\n")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env["DVC_STAGE"] = "pcaw_met"
    result = subprocess.run(
        [str(BIN / "kedro"), "run", "--pipeline", "pcaw"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((project / "data" / "09_provenance" / "pcaw.json").read_text())
    assert record["pipeline"] == "pcaw" and record["dvc_stage"] == "pcaw_met"
    (run,) = record["runs"]
    assert run["git_revision"] == f"{commit}+dirty"
    assert record["outputs"]["met_pcaw_ms"] == {
        "path": "data/06_models/met_pcaw_ms.npz",
        "session": run["session"],
    }
    assert set(record["outputs"]) >= {"met_pcaw_ss", "met_pcaw_ss_metrics", "met_pcaw_ms_metrics"}
    with sqlite3.connect(project / "mlflow.db") as db:
        rows = db.execute("SELECT run_uuid, name, status FROM runs").fetchall()
    assert rows == [(run["mlflow_run_id"], run["mlflow_run_name"], "FINISHED")]
