"""The ``tiny`` profile through the real DVC stages, in a throw-away copy of the project."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipelines.tiny_project import run, tool_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_project(tiny_repro) -> Path:
    """The project after one full `dvc repro` on the tiny profile, shared by this module.

    The repro itself starts with the session (``tiny_repro`` in tests/conftest.py) and runs
    beside the rest of the suite; here we wait for it."""
    project = tiny_repro.wait(timeout=1500)
    print(f"tiny dvc repro: {tiny_repro.elapsed:.1f} s (in the background)")
    return project


def test_repro_writes_report_with_dataset_tables(tiny_project):
    html = (tiny_project / "data/08_reporting/report.html").read_text()
    markdown = (tiny_project / "data/08_reporting/report.md").read_text()
    for text in (html, markdown):
        assert "Table 1: images per class, museum and split" in text
        assert "Table 1 (ours)" in text
        assert "SYNTHETIC" in text
        assert "git revision" in text
    assert "data:image/png;base64," in html


def test_report_holds_the_mame_and_met_results(tiny_project):
    html = (tiny_project / "data/08_reporting/report.html").read_text()
    for title in (
        "Table 3: mean per-class accuracy",
        "Table 4: per-class test F1",
        "Table 4: kNN ablation",
        "Table B.1",
        "Figure B.1",
        "Figure 8",
        "mini database",
        "Figure 1-style examples",
        # Training on the Met, transfer learning, Tate media
        "Table 6: GAP / GAP- / ACC",
        "Figure 8-style: kNN vs parametric by class size",
        "Table 2: test accuracy (%) on the first collection",
        "Table 3: test accuracy (%) on the second collection",
        "Figure 4: VisualBackProp saliency",
        "Figure 3-style: test accuracy (%) per class",
        "Figure 5-style: test accuracy (%) per medium tag",
    ):
        assert title in html, title
    claims = json.loads((tiny_project / "data/08_reporting/claims.json").read_text())
    verdicts = {key: row["verdict"] for key, row in claims["claims"].items()}
    for key in (
        "met_trained_beats_untrained",
        "transfer_finetune_beats_off_the_shelf",
        "transfer_theta_hat_beats_theta",
        "tate_augmented_beats_resnet18",
    ):
        assert any(k.startswith(key) for k in verdicts), (key, sorted(verdicts))
    # Every system of the four papers now exists: no claim is NOT RUN.
    assert "NOT RUN" not in verdicts.values(), verdicts
    import pandas as pd

    table4 = pd.read_csv(tiny_project / "data/08_reporting/met_table4.csv")
    assert table4["id"].tolist() == [1, 2, 3, 4, 5, 6]
    assert table4["GAP (paper)"].tolist() == [3.7, 10.9, 10.5, 15.9, 2.9, 14.1]
    assert table4["k (ours)"].iloc[4] == 1
    for column in ("GAP (ours)", "GAP- (ours)", "ACC (ours)"):
        assert table4[column].between(0, 100).all()


def test_report_opens_with_the_claims_table(tiny_project):
    html = (tiny_project / "data/08_reporting/report.html").read_text()
    assert html.index("Claims table") < html.index("Provenance") < html.index("Table 3: mean")
    claims = json.loads((tiny_project / "data/08_reporting/claims.json").read_text())["claims"]
    allowed = {"HOLDS", "DOES NOT HOLD", "INCONCLUSIVE"}
    for arch in ("vgg11", "resnet18"):
        row = claims[f"mame_hrvs_beats_lrfs_{arch}"]
        assert row["verdict"] in allowed
        assert row["low95"] <= row["difference"] <= row["high95"]
        assert row["test_items"] > 0
    assert claims["met_pcaw_ms_best_acc"]["verdict"] in allowed
    assert claims["transfer_finetune_beats_off_the_shelf"]["verdict"] in allowed


def test_evaluate_descriptors_command_on_the_stage_output(tiny_project):
    """`artrec evaluate-descriptors` on our own pickle gives the knn stage's Table 4 row 4."""
    import pandas as pd

    out = run(
        [
            "artrec",
            "evaluate-descriptors",
            "--descriptors",
            "data/05_model_input/met_descriptors_ms.pkl",
            "--ground-truth",
            "data/01_raw/met",
            "--autotune",
        ],
        tiny_project,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {"GAP", "GAP-", "ACC", "k", "tau"}
    row4 = pd.read_csv(tiny_project / "data/08_reporting/met_table4.csv").set_index("id").loc[4]
    assert result["k"] == row4["k (ours)"]
    assert 100 * result["GAP"] == pytest.approx(row4["GAP (ours)"])
    assert 100 * result["ACC"] == pytest.approx(row4["ACC (ours)"])


def test_table1_totals_match_curated_dataset(tiny_project):
    import pandas as pd

    dataset = pd.read_csv(tiny_project / "data/03_primary/mame/MAMe_dataset.csv")
    metrics = json.loads((tiny_project / "data/08_reporting/mame_dataset_metrics.json").read_text())
    assert metrics["images"] == len(dataset)
    assert set(dataset["Subset"]) == {"train", "val", "test"}


def test_second_repro_is_a_noop_and_status_clean(tiny_project):
    started = time.perf_counter()
    again = run(["dvc", "repro"], tiny_project)
    elapsed = time.perf_counter() - started
    assert "Running stage" not in again.stdout, again.stdout
    status = run(["dvc", "status"], tiny_project)
    assert "up to date" in status.stdout.lower(), status.stdout
    print(f"second dvc repro: {elapsed:.1f} s")


def _changed_stages(project: Path) -> set[str]:
    status = json.loads(run(["dvc", "status", "--json"], project).stdout or "{}")
    return set(status)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # One variant's learning rate: that variant only (its downstream then follows its model).
        (("vgg11: {lrfs: 1.0e-3,", "vgg11: {lrfs: 2.0e-3,", 1), {"train_mame@vgg11-lrfs"}),
        # Where a run executes changes nothing it computes: no stage reruns.
        (("      device: auto ", "      device: cpu  ", 1), set()),
    ],
    ids=["one-vgg11-learning-rate", "runtime-device"],
)
def test_a_parameter_edit_reruns_exactly_the_stages_that_read_it(tiny_project, edit, expected):
    params_file = tiny_project / "params.yaml"
    original = params_file.read_text()
    old, new, count = edit
    assert original.count(old) >= count, old
    try:
        params_file.write_text(original.replace(old, new, count))
        run(["dvc", "repro", "resolve_params"], tiny_project)
        # The report prints the parameters it was given (provenance), so it follows any edit.
        assert _changed_stages(tiny_project) - {"report"} == expected
    finally:
        params_file.write_text(original)
        run(["dvc", "repro", "resolve_params"], tiny_project)
    assert _changed_stages(tiny_project) == set()


def test_dvc_dag_metrics_and_plots(tiny_project):
    assert "curate_mame" in run(["dvc", "dag"], tiny_project).stdout
    metrics = run(["dvc", "metrics", "show", "--json"], tiny_project).stdout
    assert "mame_dataset_metrics.json" in metrics
    for variant in ("vgg11_lrfs", "vgg11_hrvs", "resnet18_lrfs", "resnet18_hrvs"):
        assert f"mame_{variant}_metrics.json" in metrics
    assert "met_knn_metrics.json" in metrics
    assert "claims.json" in metrics
    run(["dvc", "plots", "show", "-o", "plots_out"], tiny_project)
    assert (tiny_project / "plots_out" / "index.html").is_file()


def test_every_stage_logged_an_mlflow_run(tiny_project):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tiny_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("artrec")
    runs = client.search_runs([experiment.experiment_id])
    names = {r.info.run_name for r in runs}
    assert {"ingest_mame", "curate_mame", "curate_met", "embed", "knn", "report"} <= names
    assert {f"knn_met_table4_row{i}" for i in range(1, 7)} <= names
    curate = next(r for r in runs if r.info.run_name == "curate_mame")
    assert curate.data.metrics["mame_dataset.images"] > 0
    assert curate.data.params["curate.mame.min_product_size"]


def test_kedro_viz_build(tiny_project):
    run(["kedro", "viz", "build"], tiny_project, timeout=300)
    assert (tiny_project / "build" / "index.html").is_file()


def test_notebook_executes_against_the_catalog(tiny_project):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(tiny_project / "notebooks" / "explore_datasets.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tiny_project / "notebooks")}},
    ).execute()
    outputs = "".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "curated MAMe images:" in outputs


def mlflow_server_cmd(port: int, backend_store: Path, *extra: str) -> list[str]:
    """``mlflow server`` on 127.0.0.1:``port`` with a SQLite store, one worker."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{backend_store}",
        "--workers",
        "1",
        *extra,
    ]


def test_pipeline_logs_to_an_mlflow_server(tiny_project, tmp_path):
    import shutil

    import mlflow

    from tests.pipelines.browser import free_port, serving

    port = free_port()
    cmd = mlflow_server_cmd(
        port, tmp_path / "server.db", "--default-artifact-root", str(tmp_path / "artifacts")
    )
    with serving(cmd, tmp_path, port) as uri:
        # In a copy: the run rewrites provenance, which would make the shared project stale.
        project = tmp_path / "artrec"
        shutil.copytree(tiny_project, project, symlinks=True)
        run(["kedro", "run", "--pipeline", "curate_mame"], project, MLFLOW_TRACKING_URI=uri)
        client = mlflow.MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("artrec")
        (logged,) = client.search_runs([experiment.experiment_id])
        assert logged.info.run_name == "curate_mame"
        assert logged.data.params["curate.mame.drop_greyscale"] == "True"
        assert logged.data.metrics["mame_dataset.images"] > 0


def test_killed_training_resumes_to_the_same_result(tiny_project, tmp_path):
    """A training stage that dies after epoch 1 resumes from its checkpoint and ends where the
    uninterrupted run of `dvc repro` ended (same seed): same kept epoch, same metrics."""
    import shutil

    import pandas as pd

    project = tmp_path / "artrec"
    shutil.copytree(tiny_project, project, symlinks=True)
    checkpoints = "train.mame.runtime.checkpoint_dir=data/06_models/resume_test"
    killed = subprocess.run(
        [
            "kedro",
            "run",
            "--pipeline",
            "train_resnet18_lrfs",
            "--params",
            f"{checkpoints},train.mame.runtime.stop_after_epoch=1",
        ],
        cwd=project,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode != 0
    assert "stopped after epoch 1" in killed.stdout + killed.stderr
    (run_dir,) = (project / "data/06_models/resume_test").iterdir()
    assert (run_dir / "checkpoint.pt").is_file()

    run(["kedro", "run", "--pipeline", "train_resnet18_lrfs", "--params", checkpoints], project)
    before = json.loads(
        (tiny_project / "data/08_reporting/mame_resnet18_lrfs_metrics.json").read_text()
    )
    after = json.loads((project / "data/08_reporting/mame_resnet18_lrfs_metrics.json").read_text())
    assert after["best_epoch"] == before["best_epoch"]
    for key in ("train_loss", "val_loss", "test_loss", "test_mean_class_acc"):
        assert after[key] == pytest.approx(before[key], rel=1e-4), key
    history = pd.read_csv(project / "data/08_reporting/mame_resnet18_lrfs_history.csv")
    assert history["epoch"].tolist() == [1, 2]


def test_two_process_training_stage_completes_and_resumes(tiny_project, tmp_path):
    """The real training stage on 2 gloo processes (DDP): killed after epoch 1, then resumed from
    its rank-0 checkpoint to the end. (Equality with an uninterrupted 2-process run is checked at
    library level in tests/training/test_distributed.py.)"""
    import shutil

    import pandas as pd

    project = tmp_path / "artrec"
    shutil.copytree(tiny_project, project, symlinks=True)
    settings = (
        "train.mame.runtime.checkpoint_dir=data/06_models/ddp_test,train.mame.nproc_per_node=2"
    )
    killed = subprocess.run(
        [
            "kedro",
            "run",
            "--pipeline",
            "train_resnet18_lrfs",
            "--params",
            f"{settings},train.mame.runtime.stop_after_epoch=1",
        ],
        cwd=project,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode != 0
    assert "stopped after epoch 1" in killed.stdout + killed.stderr
    (run_dir,) = (project / "data/06_models/ddp_test").iterdir()
    assert (run_dir / "checkpoint.pt").is_file()

    run(["kedro", "run", "--pipeline", "train_resnet18_lrfs", "--params", settings], project)
    history = pd.read_csv(project / "data/08_reporting/mame_resnet18_lrfs_history.csv")
    assert history["epoch"].tolist() == [1, 2]
    metrics = json.loads(
        (project / "data/08_reporting/mame_resnet18_lrfs_metrics.json").read_text()
    )
    assert 0.0 <= metrics["test_mean_class_acc"] <= 1.0


# ---------------------------------------------------------------------------------------------
# MLflow run identity, models, `artrec predict`, and what a person sees in a browser.
# ---------------------------------------------------------------------------------------------

MAME_RUNS = ("train_vgg11_lrfs", "train_vgg11_hrvs", "train_resnet18_lrfs", "train_resnet18_hrvs")


def _mame_runs(project: Path) -> list:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("artrec")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])
    newest = {}
    for logged in runs:
        newest.setdefault(logged.info.run_name, logged)
    return [newest[name] for name in MAME_RUNS]


def test_mame_runs_share_metric_names_and_carry_their_identity(tiny_project):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tiny_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("artrec")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    runs = _mame_runs(tiny_project)
    keys = [set(r.data.metrics) for r in runs]
    shared = set.intersection(*keys)
    assert {"test_mean_class_acc", "val_loss", "train_loss", "val_acc"} <= shared
    assert not any("hrvs." in key or "lrfs." in key for k in keys for key in k)
    history = client.get_metric_history(runs[0].info.run_id, "val_loss")
    assert len({m.step for m in history}) >= 2  # one value per epoch
    groups = set()
    for logged in runs:
        params, tags = logged.data.params, logged.data.tags
        arch, version = logged.info.run_name.split("_")[1:3]
        assert (params["arch"], params["input"], params["method"]) == (arch, version, "paper")
        # Only this variant's learning rate and batching, not the others'.
        assert all(f"lr.{arch}." in k for k in params if k.startswith("train.mame.lr."))
        assert all(
            k.startswith(f"train.mame.inputs.{version}.")
            for k in params
            if k.startswith("train.mame.inputs.")
        )
        assert len(tags["git.commit"]) == 40 and tags["git.dirty"] in ("true", "false")
        assert tags["profile"] == "tiny" and tags["data.mame.source"] == "synthetic"
        assert tags["dvc.stage"].startswith("train_mame@")
        assert tags["artrec.model"] == f"artrec-mame-{arch}_{version}"
        inputs = {d.dataset.name: d.dataset.digest for d in logged.inputs.dataset_inputs}
        assert inputs[f"data/04_feature/mame_{version}"].endswith(".dir")
        groups.add(tags["artrec.repro"])
    assert len(groups) == 1  # one `dvc repro`
    registered = {m.name for m in client.search_registered_models()}
    assert {f"artrec-mame-{name.removeprefix('train_')}" for name in MAME_RUNS} <= registered


def _synthetic_jpeg(project: Path) -> Path:
    return next(p for p in sorted((project / "data/01_raw/mame").rglob("*.jpg")))


def test_predict_on_a_synthetic_jpeg_and_a_corrupt_one(tiny_project, tmp_path):
    image = _synthetic_jpeg(tiny_project)
    result = run(["artrec", "predict", str(image)], tiny_project, timeout=300)
    (line,) = result.stdout.strip().splitlines()
    answer = json.loads(line)
    media = answer["mame"]
    assert 2 <= len(media) <= 5  # top 5, or every class where there are fewer (tiny: 4)
    assert all(0 <= m["probability"] <= 1 for m in media)
    assert [m["probability"] for m in media] == sorted(
        (m["probability"] for m in media), reverse=True
    )
    met = answer["met"]
    assert 0 <= met["confidence"] <= 1 and isinstance(met["out_of_distribution"], bool)
    assert len(met["nearest_exhibits"]) == 3
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(image.read_bytes()[: len(image.read_bytes()) // 3])
    refused = subprocess.run(
        ["artrec", "predict", str(corrupt)],
        cwd=tiny_project,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2, refused.stderr
    (error,) = refused.stderr.strip().splitlines()
    assert error.startswith("error: ") and "corrupt.jpg" in error and "Traceback" not in error


def test_mlflow_ui_compares_the_four_mame_runs(tiny_project, tmp_path):
    from urllib.parse import quote

    from tests.pipelines.browser import chromium, free_port, screenshot, serving, wait_for_dom

    chromium()
    runs = _mame_runs(tiny_project)
    experiment = runs[0].info.experiment_id
    port = free_port()
    cmd = mlflow_server_cmd(port, tiny_project / "mlflow.db")
    with serving(cmd, tiny_project, port) as base:
        ids = json.dumps([r.info.run_id for r in runs])
        compare = (
            f"{base}/#/compare-runs?runs={quote(ids)}&experiments={quote(json.dumps([experiment]))}"
        )
        dom = wait_for_dom(
            compare, lambda d: "test_mean_class_acc" in d and all(name in d for name in MAME_RUNS)
        )
        (tmp_path / "mlflow_compare.html").write_text(dom)
        screenshot(compare, tmp_path / "mlflow_compare.png")
        assert all(name in dom for name in MAME_RUNS), "the compare view lists the four runs"
        assert "test_mean_class_acc" in dom, "one shared metric row"
        assert "hrvs.test_mean_class_acc" not in dom and "lrfs.test_mean_class_acc" not in dom
        for tag in ("git.commit", "profile", "dvc.stage"):
            assert tag in dom, f"the compare view shows the tag {tag}"
        models = f"{base}/#/models"
        dom = wait_for_dom(models, lambda d: "artrec-mame-" in d)
        (tmp_path / "mlflow_models.html").write_text(dom)
        screenshot(models, tmp_path / "mlflow_models.png")
        assert "artrec-mame-resnet18_hrvs" in dom and "artrec-mame-vgg11_lrfs" in dom
        experiment_page = f"{base}/#/experiments/{experiment}"
        screenshot(experiment_page, tmp_path / "mlflow_experiment.png")
    print(f"browser screenshots: {tmp_path}")


def test_kedro_viz_shows_the_pipeline(tiny_project, tmp_path):
    from tests.pipelines.browser import chromium, free_port, screenshot, serving, wait_for_dom

    chromium()
    if not (tiny_project / "build" / "index.html").is_file():
        run(["kedro", "viz", "build"], tiny_project, timeout=300)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tiny_project / "build"),
    ]
    with serving(cmd, tiny_project, port) as base:
        dom = wait_for_dom(base, lambda d: "pipeline-node" in d)
        (tmp_path / "kedro_viz.html").write_text(dom)
        screenshot(base, tmp_path / "kedro_viz.png")
    assert "pipeline-node" in dom, "kedro-viz drew the graph"
    # The default view collapses into one box per stage (the pipelines' namespaces): a person
    # sees the stage names, not the 31 nodes inside them.
    text = re.sub(r"\s+", " ", dom.lower())
    for stage in (
        "ingest",
        "curate",
        "preprocess",
        "train",
        "evaluate",
        "embed",
        "pcaw",
        "knn",
        "report",
    ):
        assert re.search(rf">\s*{stage}\s*<", text), f"no {stage} box in kedro-viz"
    assert "pipeline-node--task" not in dom, "stages should be collapsed by default"
    print(f"browser screenshots: {tmp_path}")


def test_predict_with_the_registered_model_and_served_model(tiny_project):
    import urllib.request

    from tests.pipelines.browser import free_port, serving

    uri = "models:/artrec-mame-resnet18_hrvs/1"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tiny_project / 'mlflow.db'}"}
    image = _synthetic_jpeg(tiny_project)
    result = run(
        ["artrec", "predict", "--no-met", "--model", uri, str(image)],
        tiny_project,
        timeout=300,
        **env,
    )
    assert 2 <= len(json.loads(result.stdout)["mame"]) <= 5
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    example = mlflow.models.Model.load(uri).load_input_example(
        mlflow.artifacts.download_artifacts(uri)
    )
    port = free_port()
    cmd = [
        "mlflow",
        "models",
        "serve",
        "-m",
        uri,
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # The serve command resolves models:/ through the tracking store named in its environment.
    with serving(cmd, tiny_project, port, timeout=180, **env) as base:
        body = json.dumps({"inputs": example.tolist()}).encode()
        request = urllib.request.Request(
            f"{base}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    predictions = json.loads(response.read())["predictions"]
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(1)
    assert len(predictions) == 1 and len(predictions[0]) > 1
