"""Train and evaluate one MAMe baseline variant (architecture x input version).

The training loop writes a checkpoint every epoch into a folder named after the variant and a
fingerprint of everything that determines the run (parameters, curated data), so an interrupted
stage resumes where it stopped and a changed configuration never resumes a stale run.

``train.mame.nproc_per_node`` > 1 trains on that many local processes (DDP; one GPU each on a GPU
machine); the node itself, MLflow and DVC stay one process and get rank 0's result.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from mlflow.entities import Metric
from torch.utils.data import DataLoader

from artrec.distributed import launch
from artrec.evaluation.classification import (
    confusion_matrix,
    mean_per_class_accuracy,
    per_class_f1,
    plot_confusion_matrix,
)
from artrec.models.factory import build_classifier, classifier_from_state
from artrec.tracking import flatten_numeric
from artrec.training.checkpoint import require_all_epochs
from artrec.training.data import ImageManifestDataset, build_dataloader, labelled_manifest
from artrec.training.loop import TrainResult, evaluate_classifier, train_classifier
from artrec.training.transforms import build_transforms
from artrec.utils.device import resolve_device

SPLITS = ("train", "val", "test")


def _loader(
    frame: pd.DataFrame,
    images_dir: Path,
    version: str,
    batching: dict[str, Any],
    train: bool,
    seed: int,
    num_workers: int,
) -> DataLoader:
    """Training batches (``batching["batch_size"]``, in aspect-ratio buckets when ``bucketing``)
    or evaluation ones (``eval_batch_size``, default 1)."""
    dataset = ImageManifestDataset(frame, build_transforms(version, train=train), root=images_dir)
    return build_dataloader(
        dataset,
        batch_size=int(batching["batch_size"] if train else batching.get("eval_batch_size", 1)),
        train=train,
        seed=seed,
        bucketing=train and bool(batching.get("bucketing", False)),
        num_workers=num_workers,
    )


@dataclass(frozen=True)
class EpochLogger:
    """Logs a training epoch's metrics into the stage's MLflow run, found by its id.

    Unlike the active-run state of ``mlflow``, it is picklable, so rank 0 of launched training
    processes logs into the run that the Kedro process holds (without ending it).
    """

    prefix: str
    run_id: str | None
    tracking_uri: str | None

    @classmethod
    def for_active_run(cls, prefix: str) -> EpochLogger:
        run = mlflow.active_run()
        if run is None:
            return cls(prefix, None, None)
        return cls(prefix, run.info.run_id, mlflow.get_tracking_uri())

    def __call__(self, epoch: int, row: dict[str, float]) -> None:
        if self.run_id is None:
            return
        now = int(time.time() * 1000)
        # The epoch is the step, not a metric of its own.
        values = {key: value for key, value in row.items() if key != "epoch"}
        metrics = [
            Metric(key, value, now, epoch)
            for key, value in flatten_numeric(values, prefix=self.prefix).items()
        ]
        mlflow.MlflowClient(self.tracking_uri).log_batch(self.run_id, metrics=metrics)


def fit_variant(
    images_dir: Path,
    train_frame: pd.DataFrame,
    val_frame: pd.DataFrame,
    settings: dict[str, Any],
    seed: int,
    num_classes: int,
    checkpoint_dir: Path,
    stop_after_epoch: int | None,
    log_fn: EpochLogger,
) -> TrainResult:
    """Build the loaders and the model and train; runs in each training process (module level,
    so that ``launch`` can start it), where the loaders take that process's share."""
    version, workers = settings["input_version"], settings["num_workers"]
    train_loader = _loader(train_frame, images_dir, version, settings, True, seed, workers)
    val_loader = _loader(val_frame, images_dir, version, settings, False, seed, workers)
    torch.manual_seed(seed)  # the initial weights are part of the run's identity
    model = build_classifier(
        settings["arch"],
        num_classes,
        width_mult=settings["width_mult"],
        init=settings["init"],
        batch_norm=False,
    )
    return train_classifier(
        model,
        train_loader,
        val_loader,
        epochs=settings["epochs"],
        lr=settings["lr"],
        optimizer="amsgrad",
        device=resolve_device(settings["device"]),
        checkpoint_dir=checkpoint_dir,
        seed=seed,
        log_fn=log_fn,
        stop_after_epoch=stop_after_epoch,
    )


def train_mame_model(
    images_dir: Path,
    dataset: pd.DataFrame,
    labels: pd.DataFrame,
    epochs: int,
    width_mult: float,
    init: str | None,
    nproc_per_node: int,
    lr: float,
    batching: dict[str, Any],
    runtime: dict[str, Any],
    seed: int,
    arch: str,
    version: str,
    inputs: str,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train ``arch`` on ``version`` images, batched as ``inputs`` (the bucketing study trains
    HR&VS images with ``inputs="hrvs_bucketed"``); returns the kept model's state and the
    per-epoch history."""
    settings = {
        "arch": arch,
        "input_version": version,
        "inputs": inputs,
        "epochs": int(epochs),
        "lr": float(lr),
        "width_mult": float(width_mult),
        "init": init,
        "batch_size": int(batching["batch_size"]),
        "bucketing": bool(batching.get("bucketing", False)),
        "eval_batch_size": int(batching.get("eval_batch_size", 1)),
        "num_workers": int(runtime.get("num_workers", 0)),
        "device": runtime.get("device", "auto"),
        "nproc_per_node": int(nproc_per_node),
    }
    manifest = labelled_manifest(images_dir, dataset, labels)
    split = {name: manifest[manifest["Subset"] == name] for name in SPLITS}
    name = f"{arch}_{settings['inputs']}"
    # The number of processes changes the run (batch_size is per process), but one process
    # keeps the fingerprint it had before distributed training existed.
    identity = dict(settings)
    if identity["nproc_per_node"] == 1:
        del identity["nproc_per_node"]
    fingerprint = hashlib.sha256(
        json.dumps(
            [
                identity,
                seed,
                manifest[["image_file", "label", "Subset"]].values.tolist(),
                _content_digest(images_dir, pd.concat([split["train"], split["val"]])),
            ],
            default=str,
        ).encode()
    ).hexdigest()[:12]
    result = launch(
        fit_variant,
        settings["nproc_per_node"],
        images_dir,
        split["train"],
        split["val"],
        settings,
        seed,
        len(labels),
        Path(runtime["checkpoint_dir"]) / f"{name}-{fingerprint}",
        # No prefix: every variant's run logs the same keys (train_loss, val_loss, val_acc per
        # epoch), so MLflow compares the variants column by column; the run's params say which.
        runtime.get("stop_after_epoch"),
        EpochLogger.for_active_run(""),
    )
    require_all_epochs(
        result.history, settings["epochs"], name, "train.mame.runtime.stop_after_epoch"
    )
    state = {
        "arch": arch,
        "input_version": version,
        "num_classes": len(labels),
        "width_mult": settings["width_mult"],
        "classes": labels["name"].tolist(),
        "best_epoch": int(result.best_epoch),
        "state_dict": result.best_state_dict,
    }
    log_trained_model(state, split["val"], images_dir, version, name)
    history = result.history.assign(
        arch=arch,
        input_version=version,
        batch_size=settings["batch_size"],
        bucketing=settings["bucketing"],
    )
    return state, history


def log_trained_model(
    state: dict[str, Any], examples: pd.DataFrame, images_dir: Path, version: str, name: str
) -> None:
    """Log the kept model to the active MLflow run with ``mlflow.pytorch`` and register it as
    ``artrec-mame-<variant>``, with a signature and one preprocessed validation image as input
    example; nothing without an active run (library use, tests).

    Input: float32 (batch, 3, height, width), normalised as by ``build_transforms(version,
    train=False)`` of a preprocessed image (HR&VS heights and widths vary, so both are free).
    Output: float32 (batch, classes) logits in the order of ``state["classes"]``.
    """
    if mlflow.active_run() is None:
        return
    from mlflow import pytorch as mlflow_pytorch
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    model = classifier_from_state(state, state["num_classes"])
    dataset = ImageManifestDataset(
        examples.head(1), build_transforms(version, train=False), root=images_dir
    )
    example = dataset[0][0].unsqueeze(0).numpy()
    signature = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype("float32"), (-1, 3, -1, -1))]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, state["num_classes"]))]),
    )
    mlflow_pytorch.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        registered_model_name=f"artrec-mame-{name}",
        # Naming the requirements skips MLflow's inference of them (a subprocess that imports
        # the model again, tens of seconds per stage); the project's lock file pins the rest.
        pip_requirements=[f"torch=={torch.__version__}", f"mlflow=={mlflow.__version__}"],
        metadata={
            "classes": state["classes"],
            "input_version": version,
            "arch": state["arch"],
            "best_epoch": state["best_epoch"],
        },
    )
    mlflow.set_tag("artrec.model", f"artrec-mame-{name}")


def _content_digest(images_dir: Path, frame: pd.DataFrame) -> str:
    """SHA-256 over the bytes of the images a run learns from: regenerated or re-preprocessed
    images under the same file names must not resume a checkpoint trained on the old pixels."""
    digest = hashlib.sha256()
    for relative in sorted(frame["path"]):
        digest.update(relative.encode())
        digest.update((Path(images_dir) / relative).read_bytes())
    return digest.hexdigest()


def evaluate_mame_model(
    state: dict[str, Any],
    images_dir: Path,
    dataset: pd.DataFrame,
    labels: pd.DataFrame,
    batching: dict[str, Any],
    runtime: dict[str, Any],
    arch: str,
    version: str,
    inputs: str,
) -> tuple[dict[str, Any], pd.DataFrame, Figure]:
    """Mean per-class accuracy per split (Table 3), per-class F1 on test (Table 4), confusion."""
    num_workers = int(runtime.get("num_workers", 0))
    manifest = labelled_manifest(images_dir, dataset, labels)
    model = classifier_from_state(state, state["num_classes"])
    device = resolve_device(runtime.get("device", "auto"))
    names = labels["name"].tolist()
    metrics: dict[str, Any] = {"best_epoch": state["best_epoch"]}
    predictions = []
    for split in SPLITS:
        frame = manifest[manifest["Subset"] == split]
        loader = _loader(frame, images_dir, version, batching, False, 0, num_workers)
        y_true, y_pred, loss = evaluate_classifier(model.to(device), loader, device)
        metrics[f"{split}_mean_class_acc"] = float(
            mean_per_class_accuracy(y_true, y_pred, len(names))
        )
        metrics[f"{split}_acc"] = float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")
        metrics[f"{split}_loss"] = float(loss)
        predictions.append(
            pd.DataFrame(
                {
                    "image_file": frame["image_file"].to_numpy(),
                    "split": split,
                    "true": [names[i] for i in y_true],
                    "predicted": [names[i] for i in y_pred],
                }
            )
        )
        if split == "test":
            f1 = per_class_f1(y_true, y_pred, len(names))
            metrics["test_f1"] = {name: float(v) for name, v in zip(names, f1, strict=True)}
            figure = plot_confusion_matrix(confusion_matrix(y_true, y_pred, len(names)), names)
    metrics["batch_size"] = int(batching["batch_size"])
    metrics["bucketing"] = bool(batching.get("bucketing", False))
    figure.suptitle(f"{arch} {inputs}: test confusion matrix")
    return metrics, pd.concat(predictions, ignore_index=True), figure
