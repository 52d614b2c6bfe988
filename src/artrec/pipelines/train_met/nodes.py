"""Train a backbone on the Met (Table 6), the long-tail study (thesis B.3), Table 6 and Figure 8,
and the choice of the backbone the embedding stage uses.

Each method is one DVC stage and one MLflow run (``train_met@<method>``) whose per-epoch metrics
(train_loss, val_acc, val_gap, ... as steps) are logged as the MAMe runs log theirs; the long-tail
methods share one stage, each its own nested MLflow run. Checkpoints are written every epoch into
a folder named after the method and a fingerprint of everything that determines the run
(settings, starting weights, image bytes), so an interrupted stage resumes where it stopped and a
changed configuration never resumes a stale run. ``train.met.runtime.stop_after_epoch``
simulates a crash after that epoch's checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from artrec.datasets.met import MetGroundTruth, load_met_ground_truth
from artrec.metric_learning.backbones import embedder_state, load_embedder, start_embedder
from artrec.metric_learning.losses import classification_loss
from artrec.metric_learning.methods import (
    METHODS,
    MetImages,
    TrainedMethod,
    method_family,
    retrain_classifier,
    train_method,
)
from artrec.metric_learning.models import DNet
from artrec.metric_learning.names import LONG_TAIL_NAMES, METHOD_NAMES
from artrec.metric_learning.protocol import SystemResult, knn_system, parametric_system
from artrec.pipelines.train.nodes import EpochLogger
from artrec.retrieval.studies import accuracy_by_training_images, bootstrap_difference
from artrec.tracking import log_metrics
from artrec.training.checkpoint import require_all_epochs
from artrec.utils.device import resolve_device

PAPER_LONG_TAIL_KEYS = {
    "reference": "reference_dnet_af",
    "class_weighting": "class_weighting",
    "class_balanced": "class_balanced_sampling",
    "classifier_retraining": "classifier_retraining",
}


def _settings(
    inputs: Mapping[str, Any], optim: Mapping[str, Any], family: Mapping[str, Any]
) -> dict[str, Any]:
    return {**inputs, **optim, **family}


def _start(
    start: Mapping[str, Any],
    mame_model: Mapping[str, Any] | None,
    pretrained_model: Mapping[str, Any] | None,
):
    return start_embedder(
        str(start["backbone"]),
        str(start.get("arch", "resnet18")),
        start.get("init"),
        float(start.get("gem_p", 3.0)),
        mame_model if start["backbone"] == "mame" else None,
        pretrained_model if start["backbone"] == "synthetic" else None,
    )


def _fingerprint(settings: Mapping[str, Any], seed: int, embedder, truth: MetGroundTruth) -> str:
    """Everything that determines a run: settings, seed, starting weights, training and
    validation images (their bytes: regenerated images under the same names must not resume a
    checkpoint trained on the old pixels) and labels."""
    digest = hashlib.sha256(
        json.dumps([dict(settings), seed], sort_keys=True, default=str).encode()
    )
    for name, tensor in embedder.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    for path, label in zip(
        (*truth.train_paths, *truth.val_paths),
        (*truth.train_labels.tolist(), *truth.val_labels.tolist()),
        strict=True,
    ):
        digest.update(f"{path}:{label}".encode())
        digest.update(truth.image_path(path).read_bytes())
    return digest.hexdigest()[:12]


def _load(met_raw: Path, inputs: Mapping[str, Any]) -> tuple[MetGroundTruth, MetImages]:
    truth = load_met_ground_truth(Path(met_raw), check_images=False)
    return truth, MetImages.load(truth, int(inputs["image_size"]))


def _evaluation(
    trained: TrainedMethod, data: MetImages, ks, taus, pcaw: Mapping[str, Any], device
) -> dict[str, SystemResult]:
    systems = {
        "knn": knn_system(
            trained.embedder,
            data,
            pcaw_dim=pcaw.get("dim"),
            shrinkage=float(pcaw["shrinkage"]),
            ks=ks,
            taus=taus,
            device=device,
        )
    }
    if isinstance(trained.model, DNet):
        systems["parametric"] = parametric_system(trained.model, data, taus=taus, device=device)
    return systems


def _system_metrics(systems: Mapping[str, SystemResult]) -> dict[str, Any]:
    return {
        name: {
            **{m: 100.0 * v for m, v in result.metrics.items()},
            "val": {m: 100.0 * v for m, v in result.val_metrics.items()},
            **result.settings,
        }
        for name, result in systems.items()
    }


def _predictions(systems: Mapping[str, SystemResult], **columns: Any) -> pd.DataFrame:
    return pd.concat(
        [result.predictions.assign(system=name, **columns) for name, result in systems.items()],
        ignore_index=True,
    )


def log_params(params: Mapping[str, Any]) -> None:
    if mlflow.active_run() is not None:
        mlflow.log_params({k: str(v) for k, v in params.items()})


def run_met_training(
    method: str,
    embedder: Any,
    data: MetImages,
    settings: Mapping[str, Any],
    *,
    run: str,
    seed: int,
    device: Any,
    runtime: Mapping[str, Any],
    log_fn: EpochLogger | None = None,
    **flags: Any,
) -> TrainedMethod:
    """:func:`artrec.metric_learning.methods.train_method` as every stage runs it: checkpoints
    in ``<checkpoint_dir>/<run>`` (``run`` names the method and its fingerprint), per-epoch
    metrics into the active MLflow run, and a clear error when ``stop_after_epoch`` cut the
    run short."""
    trained = train_method(
        method,
        embedder,
        data,
        settings,
        seed=seed,
        device=device,
        checkpoint_dir=Path(runtime["checkpoint_dir"]) / run,
        log_fn=log_fn or EpochLogger.for_active_run(""),
        stop_after_epoch=runtime.get("stop_after_epoch"),
        **flags,
    )
    require_all_epochs(
        trained.history, settings["epochs"], run.split("-")[0], "train.met.runtime.stop_after_epoch"
    )
    return trained


def train_met_backbone(
    met_raw: Path,
    mame_model: dict[str, Any] | None,
    pretrained_model: dict[str, Any] | None,
    start: dict[str, Any],
    inputs: dict[str, Any],
    optim: dict[str, Any],
    family: dict[str, Any],
    ks: list[int],
    taus: list[float],
    pcaw: dict[str, Any],
    seed: int,
    runtime: dict[str, Any],
    *,
    method: str,
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Train ``method`` and evaluate it as Table 6 does: the trained backbone (state), the
    per-epoch history, the metrics (kNN and, for DNet, parametric; test and validation) and
    the per-query test predictions."""
    device = resolve_device(runtime.get("device", "auto"))
    truth, data = _load(met_raw, inputs)
    embedder, start_description, trunk = _start(start, mame_model, pretrained_model)
    settings = _settings(inputs, optim, family)
    fingerprint = _fingerprint(settings, seed, embedder, truth)
    log_params({"method": method, "family": method_family(method), "start": start["backbone"]})
    started = time.perf_counter()
    trained = run_met_training(
        method,
        embedder,
        data,
        settings,
        run=f"met_{method}-{fingerprint}",
        seed=seed,
        device=device,
        runtime=runtime,
    )
    train_seconds = time.perf_counter() - started
    systems = _evaluation(trained, data, ks, taus, pcaw, device)
    description = (
        f"{start_description}, then trained on the Met with {METHOD_NAMES[method]} "
        f"(epoch {trained.best_epoch})"
    )
    extra: dict[str, Any] = {"method": method, "best_epoch": int(trained.best_epoch)}
    if isinstance(trained.model, DNet):
        extra["prototypes"] = trained.model.loss.W.detach().cpu().clone()
    state = embedder_state(trained.embedder, trunk, description, **extra)
    metrics = {
        "method": method,
        "best_epoch": int(trained.best_epoch),
        "start_val": {k: 100.0 * v for k, v in trained.start_metrics.items()},
        **_system_metrics(systems),
        "train_seconds": train_seconds,
        "image_size": int(inputs["image_size"]),
    }
    return (
        state,
        trained.history.assign(method=method),
        metrics,
        _predictions(systems, method=method),
    )


def _dnet_from_state(state: Mapping[str, Any], dnet: Mapping[str, Any], n_classes: int) -> DNet:
    embedder = load_embedder(state)
    loss = classification_loss(
        "arcface",
        n_classes,
        embedder.output_dim,
        scale=float(dnet["arcface_scale"]),
        margin=float(dnet["arcface_margin"]),
    )
    model = DNet(embedder, loss)
    with torch.no_grad():
        model.loss.W.copy_(state["prototypes"])
    return model


@contextlib.contextmanager
def _child_run(name: str, params: Mapping[str, Any]) -> Iterator[EpochLogger]:
    """A nested MLflow run for one long-tail method (its epochs logged there), if tracking."""
    if mlflow.active_run() is None:
        yield EpochLogger("", None, None)
        return
    with mlflow.start_run(run_name=name, nested=True):
        mlflow.log_params({k: str(v) for k, v in params.items()})
        yield EpochLogger.for_active_run("")


def train_met_long_tail(
    met_raw: Path,
    mame_model: dict[str, Any] | None,
    pretrained_model: dict[str, Any] | None,
    reference_model: dict[str, Any],
    reference_metrics: dict[str, Any],
    start: dict[str, Any],
    inputs: dict[str, Any],
    optim: dict[str, Any],
    dnet: dict[str, Any],
    long_tail: dict[str, Any],
    ks: list[int],
    taus: list[float],
    pcaw: dict[str, Any],
    seed: int,
    runtime: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Thesis B.3 beside DNet AF (the reference): class weighting, class-balanced sampling and
    classifier retraining on the frozen reference backbone. Returns the table (paper beside
    ours, parametric and kNN test metrics), the histories, the metrics and the predictions."""
    from artrec.reporting.paper import paper_results

    device = resolve_device(runtime.get("device", "auto"))
    truth, data = _load(met_raw, inputs)
    settings = _settings(inputs, optim, dnet)
    results: dict[str, dict[str, SystemResult]] = {}
    histories, metrics = [], {}
    for method in ("class_weighting", "class_balanced", "classifier_retraining"):
        with _child_run(f"met_long_tail_{method}", {"method": method}) as log_fn:
            if method == "classifier_retraining":
                reference = _dnet_from_state(reference_model, dnet, data.n_classes)
                run_settings = {**settings, **long_tail}
                fingerprint = _fingerprint(run_settings, seed, reference, truth)
                trained = retrain_classifier(
                    reference,
                    data,
                    run_settings,
                    seed=seed,
                    device=device,
                    checkpoint_dir=Path(runtime["checkpoint_dir"]) / f"met_{method}-{fingerprint}",
                    log_fn=log_fn,
                    stop_after_epoch=runtime.get("stop_after_epoch"),
                )
                require_all_epochs(
                    trained.history,
                    int(long_tail["retrain_epochs"]),
                    f"met_{method}",
                    "train.met.runtime.stop_after_epoch",
                )
            else:
                embedder, _, _ = _start(start, mame_model, pretrained_model)
                fingerprint = _fingerprint(settings, seed, embedder, truth)
                trained = run_met_training(
                    "dnet_arcface",
                    embedder,
                    data,
                    settings,
                    run=f"met_{method}-{fingerprint}",
                    seed=seed,
                    device=device,
                    runtime=runtime,
                    log_fn=log_fn,
                    class_weighting=method == "class_weighting",
                    class_balanced=method == "class_balanced",
                )
            results[method] = _evaluation(trained, data, ks, taus, pcaw, device)
            metrics[method] = {
                "best_epoch": int(trained.best_epoch),
                **_system_metrics(results[method]),
            }
            histories.append(trained.history.assign(method=method))
            log_metrics(metrics[method])  # into the method's nested run
    paper = paper_results()["met"]["thesis_appendix_b"]["long_tail_accuracy"]
    rows = [_long_tail_row("reference", reference_metrics, paper)]
    rows += [_long_tail_row(method, metrics[method], paper) for method in metrics]
    predictions = pd.concat(
        [_predictions(systems, method=method) for method, systems in results.items()],
        ignore_index=True,
    )
    return pd.DataFrame(rows), pd.concat(histories, ignore_index=True), metrics, predictions


def _long_tail_row(method: str, metrics: Mapping[str, Any], paper: Mapping[str, Any]) -> dict:
    parametric, knn = metrics["parametric"], metrics["knn"]
    return {
        "method": LONG_TAIL_NAMES[method],
        "ACC parametric (paper)": paper[PAPER_LONG_TAIL_KEYS[method]],
        "ACC parametric (ours)": parametric["ACC"],
        "GAP parametric (ours)": parametric["GAP"],
        "GAP- parametric (ours)": parametric["GAP-"],
        "ACC kNN (ours)": knn["ACC"],
        "GAP kNN (ours)": knn["GAP"],
        "best epoch": metrics["best_epoch"],
    }


def met_untrained_baseline(
    met_raw: Path,
    mame_model: dict[str, Any] | None,
    pretrained_model: dict[str, Any] | None,
    start: dict[str, Any],
    inputs: dict[str, Any],
    ks: list[int],
    taus: list[float],
    pcaw: dict[str, Any],
    runtime: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Table 6's baseline: the starting backbone, not trained on the Met (no FC layer), with
    the kNN classifier at the training image size."""
    device = resolve_device(runtime.get("device", "auto"))
    _, data = _load(met_raw, inputs)
    embedder, description, _ = _start(start, mame_model, pretrained_model)
    knn = knn_system(
        embedder,
        data,
        pcaw_dim=pcaw.get("dim"),
        shrinkage=float(pcaw["shrinkage"]),
        ks=ks,
        taus=taus,
        device=device,
    )
    metrics = {"description": description, **_system_metrics({"knn": knn})}
    return metrics, _predictions({"knn": knn}, method="untrained")


def _evaluations(predictions: pd.DataFrame, metrics: Mapping[str, Any], system: str):
    frame = predictions[predictions["system"] == system]
    result = SystemResult(
        metrics={m: metrics[system][m] / 100.0 for m in ("GAP", "GAP-", "ACC")},
        val_metrics={m: metrics[system]["val"][m] / 100.0 for m in ("GAP", "GAP-", "ACC")},
        settings={},
        predictions=frame,
    )
    return result.as_evaluation()


def select_backbone(metrics: Mapping[str, Mapping[str, Any]], choice: str) -> str:
    """The method whose backbone is used: ``met_<method>`` names one; otherwise (``met``, or a
    backbone that is no Met backbone) the best on VALIDATION: the highest validation GAP of the
    kNN protocol, then validation ACC, then Table 6's order."""
    if choice.startswith("met_"):
        method = choice.removeprefix("met_")
        if method not in metrics:
            raise ValueError(
                f"embed.met.backbone {choice!r} names no trained method; use met or one of "
                f"{['met_' + m for m in metrics]}"
            )
        return method
    order = list(metrics)
    return max(
        order,
        key=lambda m: (
            metrics[m]["knn"]["val"]["GAP"],
            metrics[m]["knn"]["val"]["ACC"],
            -order.index(m),
        ),
    )


def met_table6(
    untrained_metrics: dict[str, Any],
    untrained_predictions: pd.DataFrame,
    long_tail_metrics: dict[str, Any],
    met_raw: Path,
    backbone: str,
    claims: dict[str, Any],
    seed: int,
    **methods: Any,
) -> tuple[pd.DataFrame, pd.DataFrame, Figure, dict[str, Any]]:
    """Table 6 (paper beside ours), Figure 8 (kNN vs parametric accuracy of DNet AF by the
    number of training images of the query's class), and the metrics behind the claims: paired
    bootstraps over the test queries of kNN vs parametric (DNet AF and CE) and of the best
    trained backbone (chosen on validation) vs the untrained one."""
    from artrec.reporting.paper import paper_results

    truth = load_met_ground_truth(Path(met_raw), check_images=False)
    metrics = {m: methods[f"{m}_metrics"] for m in METHODS if f"{m}_metrics" in methods}
    predictions = {m: methods[f"{m}_predictions"] for m in metrics}
    paper = paper_results()["met"]["table6_training_on_met"]
    rows = []

    def row(kind: str, name: str, values: Mapping[str, Any], published: Mapping[str, Any] | None):
        rows.append(
            {
                "classifier": kind,
                "method": name,
                "GAP (paper)": published["GAP"] if published else None,
                "GAP- (paper)": published["GAP_minus"] if published else None,
                "ACC (paper)": published["ACC"] if published else None,
                "GAP (ours)": values["GAP"],
                "GAP- (ours)": values["GAP-"],
                "ACC (ours)": values["ACC"],
                "val GAP (ours)": values["val"]["GAP"],
                "val ACC (ours)": values["val"]["ACC"],
            }
        )

    for method in ("dnet_ce", "dnet_arcface"):
        if method in metrics:
            row(
                "parametric",
                METHOD_NAMES[method],
                metrics[method]["parametric"],
                paper["parametric"].get(f"R18IN {METHOD_NAMES[method]}"),
            )
    row("kNN", "untrained (baseline)", untrained_metrics["knn"], paper["knn"]["R18IN baseline"])
    for method in metrics:
        row(
            "kNN",
            METHOD_NAMES[method],
            metrics[method]["knn"],
            paper["knn"].get(f"R18IN {METHOD_NAMES[method]}"),
        )
    table = pd.DataFrame(rows)

    n_resamples = int(claims["bootstrap_resamples"])
    labels = truth.test_labels
    evaluation = {
        (m, system): _evaluations(predictions[m], metrics[m], system)
        for m in metrics
        for system in ("knn", "parametric")
        if system in metrics[m]
    }
    untrained = _evaluations(untrained_predictions, untrained_metrics, "knn")

    def interval(a, b) -> dict[str, dict[str, float]]:
        return {
            metric: dict(
                zip(("difference", "low95", "high95"), (100 * v for v in values), strict=True)
            )
            for metric, values in bootstrap_difference(
                a, b, labels, n_resamples=n_resamples, seed=seed
            ).items()
        }

    best = select_backbone(metrics, backbone)
    summary: dict[str, Any] = {
        "test_met_queries": int((labels >= 0).sum()),
        "selected": best,
        "selected_by": backbone if backbone.startswith("met_") else "validation GAP",
        "untrained": {m: untrained_metrics["knn"][m] for m in ("GAP", "GAP-", "ACC")},
        "best_minus_untrained": interval(evaluation[(best, "knn")], untrained),
        "best": {m: metrics[best]["knn"][m] for m in ("GAP", "GAP-", "ACC")},
        "knn_minus_parametric": {
            m: interval(evaluation[(m, "knn")], evaluation[(m, "parametric")])
            for m in ("dnet_ce", "dnet_arcface")
            if (m, "parametric") in evaluation
        },
        "table6": {
            m: {
                s: {k: metrics[m][s][k] for k in ("GAP", "GAP-", "ACC")}
                for s in ("knn", "parametric")
                if s in metrics[m]
            }
            for m in metrics
        },
        "long_tail": {
            m: {s: long_tail_metrics[m][s]["ACC"] for s in ("knn", "parametric")}
            for m in long_tail_metrics
        },
    }
    for m in summary["knn_minus_parametric"]:
        summary.setdefault("dnet", {})[m] = {
            s: {k: metrics[m][s][k] for k in ("GAP", "ACC")} for s in ("knn", "parametric")
        }
    figure_data = _figure8(truth, predictions.get("dnet_arcface"))
    return table, figure_data, plot_figure8(figure_data), summary


def _figure8(truth: MetGroundTruth, predictions: pd.DataFrame | None) -> pd.DataFrame:
    """Accuracy by training images per class of DNet AF's kNN and parametric classifiers and the
    kNN's relative improvement (%), as Figure 8 plots."""
    if predictions is None:
        return pd.DataFrame(
            columns=[
                "training_images",
                "queries",
                "ACC kNN",
                "ACC parametric",
                "kNN vs parametric (%)",
            ]
        )
    parts = {}
    for system in ("knn", "parametric"):
        labels = predictions[predictions["system"] == system].sort_values("query")["label"]
        parts[system] = accuracy_by_training_images(
            labels.to_numpy(), truth.test_labels, truth.train_labels
        )
    knn, parametric = 100 * parts["knn"]["ACC"], 100 * parts["parametric"]["ACC"]
    relative = (100 * (knn - parametric) / parametric).where(parametric > 0)
    return pd.DataFrame(
        {
            "training_images": parts["knn"]["training_images"],
            "queries": parts["knn"]["queries"],
            "ACC kNN": knn,
            "ACC parametric": parametric,
            "kNN vs parametric (%)": relative,
        }
    )


def plot_figure8(data: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(6, 3.5))
    ax = figure.subplots()
    x = np.arange(len(data))
    ax.bar(x - 0.2, data["ACC parametric"].fillna(0.0), 0.4, label="parametric (DNet AF)")
    ax.bar(x + 0.2, data["ACC kNN"].fillna(0.0), 0.4, label="kNN (DNet AF embedding)")
    for i, n in enumerate(data["queries"]):
        ax.annotate(f"n={n}", (i, 0), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, data["training_images"])
    ax.set_xlabel("training images of the query's class")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Figure 8-style: kNN vs parametric classifier by class size")
    ax.legend(fontsize=8)
    return figure


def select_met_backbone(
    metrics: dict[str, Any], backbone: str, **models: dict[str, Any]
) -> dict[str, Any]:
    """The backbone ``embed.met.backbone: met`` (or ``met_<method>``) embeds with: the state of
    the method ``met_table6`` selected (on validation, or named)."""
    method = metrics["selected"]
    state = dict(models[f"{method}_model"])
    how = "named in embed.met.backbone" if backbone.startswith("met_") else "best on validation"
    state["description"] = f"{state['description']}; {how}"
    state["selected_by"] = how
    return state
