"""Provenance records and the report's table of the runs that produced its outputs."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from artrec.kedro_io.provenance import check_record
from artrec.reporting.provenance import (
    git_revision,
    make_record,
    producers_table,
    run_entry,
)

REPO = Path(__file__).resolve().parents[2]
NO_GIT = Path("/nonexistent/artrec")
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _run(session: str, run_id: str | None = None, started: dt.datetime = T0) -> dict:
    # not a git checkout (git is not even started): the revision is set by hand
    entry = run_entry(session, NO_GIT, started, run_id, f"name-{session}" if run_id else None)
    assert entry["git_revision"] == "unknown (not a git checkout)"
    return {**entry, "git_revision": "abc123"}


def test_a_full_run_replaces_the_record() -> None:
    old = make_record("knn", _run("s1", "r1"), {"a": "data/a.csv", "b": "data/b.csv"})
    new = make_record("knn", _run("s2", "r2"), {"a": "data/a.csv"}, previous=old)
    assert check_record(new) is None
    assert [r["session"] for r in new["runs"]] == ["s2"]
    assert new["outputs"] == {"a": {"path": "data/a.csv", "session": "s2"}}


def test_a_partial_run_keeps_the_producers_of_what_it_did_not_write() -> None:
    first = make_record("train_vgg11_lrfs", _run("s1", "r1"), {"a": "A", "b": "B", "c": "C"})
    second = make_record("train_vgg11_lrfs", _run("s2", "r2"), {"b": "B"}, previous=first)
    partial = make_record(
        "train_vgg11_lrfs", _run("s3", "r3"), {"a": "A"}, previous=second, partial=True
    )
    # second was a full run: it replaced the record, so c lost its producer and a, b are s2's;
    # the partial run then takes over a only
    assert {k: v["session"] for k, v in partial["outputs"].items()} == {"a": "s3", "b": "s2"}
    assert [r["session"] for r in partial["runs"]] == ["s3", "s2"]
    again = make_record(
        "train_vgg11_lrfs", _run("s4", "r4"), {"b": "B"}, previous=partial, partial=True
    )
    # s2 no longer produced anything: it is dropped from the record
    assert [r["session"] for r in again["runs"]] == ["s4", "s3"]
    assert check_record(again) is None


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ([], "expected a JSON object"),
        ({"pipeline": "x", "runs": []}, "lacks the key(s) ['outputs']"),
        ({"pipeline": "x", "runs": {}, "outputs": {}}, "'runs' must be a list"),
        ({"pipeline": "x", "runs": [{}], "outputs": {}}, "with a 'session'"),
        (
            {"pipeline": "x", "runs": [{"session": "a"}], "outputs": {"o": {"session": "b"}}},
            "output 'o' names no run",
        ),
    ],
)
def test_damaged_records_are_named(record: object, words: str) -> None:
    assert words in (check_record(record) or "")


def test_the_table_names_each_producer_its_commit_and_files() -> None:
    knn = make_record(
        "knn",
        {**_run("s1", "run-knn"), "mlflow_child_runs": [{"run_id": "c", "run_name": "row1"}]},
        {"t4": "data/08_reporting/met_table4.csv", "grid": "data/08_reporting/met_knn_grid.csv"},
        dvc_stage="knn_met",
    )
    later = T0 + dt.timedelta(hours=1)
    train = make_record(
        "train_vgg11_lrfs", _run("s2", None, later), {"m": "data/06_models/mame_vgg11_lrfs.pt"}
    )
    table = producers_table([train, knn], {"run-knn": "FINISHED"})
    assert table.columns.tolist() == [
        "stage",
        "MLflow run",
        "run id",
        "status",
        "git revision",
        "started",
        "outputs",
    ]
    rows = table.to_dict("records")
    assert [r["stage"] for r in rows] == ["knn_met", "train_vgg11_lrfs"]
    assert rows[0]["MLflow run"] == "name-s1 (+1 nested)" and rows[0]["run id"] == "run-knn"
    assert rows[0]["status"] == "FINISHED" and rows[0]["git revision"] == "abc123"
    assert rows[0]["outputs"] == (
        "data/08_reporting/met_knn_grid.csv, data/08_reporting/met_table4.csv"
    )
    assert rows[1]["MLflow run"] == "(MLflow off)" and rows[1]["run id"] == ""
    assert rows[1]["started"] == "2026-01-02T04:04:05+00:00"
    assert "status" not in producers_table([knn]).columns
    missing = producers_table([knn], {})
    assert missing.loc[0, "status"] == "not in this tracking store"


def test_git_revision_marks_uncommitted_changes(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    assert git_revision(tmp_path) == "unknown (not a git checkout)"
    git("init", "-q")
    (tmp_path / "code.py").write_text("a\n")
    git("add", "-A")
    git("commit", "-qm", "c")
    assert re.fullmatch(r"[0-9a-f]{40}", git_revision(tmp_path))
    (tmp_path / "code.py").write_text("b\n")
    assert git_revision(tmp_path).endswith("+dirty")


# ---- the report node ----------------------------------------------------------------------------
def test_the_report_lists_the_producers_not_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from artrec.pipelines.report import nodes

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    monkeypatch.setattr(nodes, "_tracking_uri", lambda: uri)
    experiment = mlflow.set_experiment("artrec")
    with mlflow.start_run(run_name="knn") as producer:
        pass
    # A newer run of the same name that produced nothing the report shows (failed, say).
    with mlflow.start_run(run_name="knn") as newer:
        pass
    record = make_record(
        "knn",
        run_entry("s1", tmp_path, T0, producer.info.run_id, "knn"),
        {"t4": "data/08_reporting/met_table4.csv"},
        dvc_stage="knn_met",
    )
    params = {"report": {"title": "t"}, "profile": "default", "data": {"met": {"source": "x"}}}
    try:
        with mlflow.start_run(run_name="report", experiment_id=experiment.experiment_id) as own:
            html, markdown = nodes.assemble_report(params, [record])
    finally:
        mlflow.set_tracking_uri(None)
    assert "Runs that produced the outputs in this report" in markdown
    assert producer.info.run_id in markdown and "FINISHED" in markdown
    assert newer.info.run_id not in markdown and own.info.run_id not in markdown
    assert "data/08_reporting/met_table4.csv" in html


# ---- dvc.yaml ------------------------------------------------------------------------------------
def test_every_stage_keeps_its_record_and_the_report_reads_them_all() -> None:
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        stages = list(repo.index.stages)
    missing = []
    for stage in stages:
        words = stage.cmd.split()
        if words[:3] != ["kedro", "run", "--pipeline"]:
            continue
        outs = {str(out.def_path) for out in stage.outs}
        wanted = f"data/09_provenance/{words[3]}.json"
        if words[3] == "report":
            deps = {str(dep.def_path) for dep in stage.deps}
            assert "data/09_provenance" in deps and wanted not in outs
        elif wanted not in outs:
            missing.append(f"{stage.addressing}: {wanted}")
    assert not missing, f"declare each stage's provenance record as an output: {missing}"


def test_the_records_frame_is_empty_without_records() -> None:
    assert producers_table([]).empty
    assert isinstance(producers_table([]), pd.DataFrame)
