"""Project hooks."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from kedro.framework.hooks import hook_impl

from artrec.errors import find_artrec_error, one_line_message
from artrec.tracking import (
    EXPERIMENT_KIND_TAG,
    MODEL_TRAINING_KIND,
    dvc_hash_of,
    dvc_out_hashes,
    log_dataset_input,
    log_metrics,
    run_tags,
    variant_of,
    variant_params,
)


class MetricsToMlflowHook:
    """Log what kedro-mlflow does not: metrics, run identity, dataset inputs.

    - Every saved dataset named ``*_metrics`` (a dict of numbers) goes to the active MLflow run.
      The same dict is written to a JSON file that DVC reads as a metrics file, so DVC and MLflow
      show the same numbers without each node logging twice. A MAMe variant's own metrics
      (``mame_vgg11_hrvs_metrics``) are logged without the variant in the key
      (``test_mean_class_acc``), so that the variants' runs share columns in the compare view;
      the variant is in the params ``arch``, ``input``, ``method``.
    - Tags that place the run: git commit and dirty flag, profile, data sources, DVC stage, DVC
      experiment name, and ``artrec.repro``, shared by the runs of one ``dvc repro``.
    - The DVC outputs the pipeline reads, as MLflow dataset inputs with their DVC md5.
    - The experiment is marked as model training (MLflow 3 opens it in its GenAI view otherwise).
    """

    def __init__(self) -> None:
        self._variant: str | None = None

    @hook_impl(trylast=True)  # after kedro-mlflow's hook has started the run
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        import mlflow

        run = mlflow.active_run()
        self._variant = variant_of(tag for node in pipeline.nodes for tag in node.tags)
        if run is None:
            return
        root = Path(run_params.get("project_path") or ".")
        params = catalog.load("parameters") if catalog.exists("parameters") else {}
        mlflow.MlflowClient().set_experiment_tag(
            run.info.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND
        )
        mlflow.set_tags(run_tags(root, params))
        identity: dict[str, str] = {}
        if self._variant is not None:
            identity.update(variant_params(self._variant))
        names = set(pipeline.all_inputs()) | set(pipeline.all_outputs())
        if "params:embed.met" in pipeline.all_inputs() or "met_descriptors_ms" in names:
            embed = (params.get("embed") or {}).get("met") or {}
            identity["backbone"] = str(embed.get("backbone", ""))
        if identity:
            mlflow.log_params(identity)
        _log_dvc_inputs(root, pipeline, catalog)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if dataset_name.endswith("_metrics") and isinstance(data, dict):
            prefix = dataset_name.removesuffix("_metrics")
            if self._variant is not None and prefix == f"mame_{self._variant}":
                prefix = ""
            log_metrics(data, prefix=prefix)


def _log_dvc_inputs(root: Path, pipeline: Any, catalog: Any) -> None:
    """Log the pipeline's free inputs that are DVC outputs, with the md5 DVC recorded."""
    hashes = dvc_out_hashes(root)
    if not hashes:
        return
    logged: set[str] = set()
    for name in sorted(pipeline.inputs()):
        if name.startswith("params:") or name == "parameters":
            continue
        try:
            dataset = catalog.get(name)
        except Exception:  # noqa: BLE001 - a dataset without a plain path is just not logged
            continue
        path = getattr(dataset, "_filepath", None) or getattr(dataset, "_path", None)
        found = dvc_hash_of(root / str(path), root, hashes) if path else None
        if found is None or found[0] in logged:
            continue
        logged.add(found[0])
        log_dataset_input(found[0], found[0], found[1])


PROVENANCE_DATASET = "provenance_records"

# Run parameters that select part of a pipeline: such a run replaces only what it wrote.
_PARTIAL_RUN = (
    "node_names",
    "from_nodes",
    "to_nodes",
    "from_inputs",
    "to_outputs",
    "tags",
    "namespaces",
)


class ProvenanceHook:
    """Record, beside a stage's outputs, the run that produced them.

    At the end of every successful ``kedro run`` the record of the pipeline (its MLflow run and
    nested runs, git revision with ``+dirty``, start time, and the files each run wrote) is saved
    through the catalog's ``provenance_records`` dataset, ``data/09_provenance/<pipeline>.json``,
    which ``dvc.yaml`` declares as an output of the stage: DVC then keeps and restores it with
    the other outputs. The pipeline that reads the records (the report) writes none, so it never
    names itself as a producer. See :mod:`artrec.reporting.provenance`.
    """

    def __init__(self) -> None:
        self._started: dt.datetime | None = None
        self._mlflow: tuple[str, str, str] | None = None  # run id, run name, experiment id

    @hook_impl(trylast=True)  # after kedro-mlflow's hook has started the run
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        import mlflow

        self._started = dt.datetime.now(dt.UTC)
        run = mlflow.active_run()
        self._mlflow = (run.info.run_id, run.info.run_name, run.info.experiment_id) if run else None

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from artrec.reporting.provenance import make_record, run_entry

        if PROVENANCE_DATASET not in catalog or PROVENANCE_DATASET in pipeline.inputs():
            return
        records = catalog.get(PROVENANCE_DATASET)
        root = Path(run_params.get("project_path") or ".")
        name = "+".join(run_params.get("pipeline_names") or []) or "__default__"
        run_id, run_name, experiment = self._mlflow or (None, None, None)
        run = run_entry(
            str(run_params.get("run_id") or dt.datetime.now(dt.UTC).isoformat()),
            root,
            self._started or dt.datetime.now(dt.UTC),
            run_id,
            run_name,
            _child_runs(run_id, experiment) if run_id else [],
        )
        partial = any(run_params.get(key) for key in _PARTIAL_RUN)
        record = make_record(
            name,
            run,
            _output_paths(pipeline, catalog, root),
            dvc_stage=os.environ.get("DVC_STAGE"),
            previous=records.load_record(name) if partial else None,
            partial=partial,
        )
        records.save(record)


def _child_runs(run_id: str, experiment_id: str) -> list[dict[str, str]]:
    """The MLflow runs nested under ``run_id`` (the Met Table 4 rows, for instance)."""
    import mlflow

    try:
        runs = mlflow.MlflowClient().search_runs(
            [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'"
        )
    except Exception:  # noqa: BLE001 - a tracking server gone away must not fail the stage
        return []
    return sorted(
        ({"run_id": r.info.run_id, "run_name": r.info.run_name} for r in runs),
        key=lambda r: r["run_name"] or "",
    )


def _output_paths(pipeline: Any, catalog: Any, root: Path) -> dict[str, str]:
    """``{dataset: path}`` of the pipeline's outputs that are files (memory datasets left out)."""
    paths = {}
    for name in sorted(pipeline.all_outputs()):
        dataset = catalog.get(name) if name in catalog else None
        described = dataset._describe() if dataset is not None else {}
        location = described.get("filepath") or described.get("path")
        if not location:
            continue
        try:
            relative = Path(str(location)).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = str(location)
        paths[name] = relative
    return paths


class ErrorSummaryHook:
    """Make a failed ``kedro run`` end with one clear line on stderr.

    Kedro lets a node's exception escape and Python's exception hook (Kedro installs rich's)
    prints the traceback. This hook wraps that exception hook once the project context exists
    (parameters are validated after that, pipelines run after that): for an
    :class:`artrec.errors.ArtrecError` (bad input, full disk) it prints only
    ``error: <file>: <problem>. Fix: <fix>``, since the traceback says nothing a user can act on;
    for any other error it prints the traceback as before, then the same kind of summary line.
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        install_error_summary()

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: Any, pipeline: Any, catalog: Any
    ) -> None:
        # Again here, in case something replaced the exception hook during the run.
        install_error_summary()


def install_error_summary() -> None:
    """Wrap ``sys.excepthook`` (once) so that an uncaught error ends with a one-line summary."""
    previous = sys.excepthook
    if getattr(previous, "artrec_summary", False):
        return

    def excepthook(
        kind: type[BaseException], error: BaseException, traceback: TracebackType | None
    ) -> None:
        if find_artrec_error(error) is None:
            previous(kind, error, traceback)
        print(f"error: {one_line_message(error)}", file=sys.stderr, flush=True)

    excepthook.artrec_summary = True  # type: ignore[attr-defined]
    sys.excepthook = excepthook
