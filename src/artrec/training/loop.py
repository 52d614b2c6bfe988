"""The project's training loop, one for every model it trains (model: torchvision's
classification reference script).

``train_epochs`` runs the epochs of any model through the caller's hooks:

- ``step(model, batch) -> (loss, items)``: what one batch costs (the mean loss that is
  back-propagated; ``items`` weighs the batch in the epoch's mean ``train_loss``);
- ``validate(model, epoch) -> metrics``: run after every epoch; ``score(metrics)`` picks the best
  epoch (higher is better; a non-finite score never counts);
- ``before_epoch(model, epoch)``: runs after the epoch is seeded and before its first batch, e.g.
  mining hard negatives with the current model (its random draws are then part of the epoch);
- ``lr_factor(epoch)``: multiplies the base learning rate of every parameter group marked
  ``scheduled`` (e.g. ``halfway_decay``, the Met protocol's);
- ``train_mode(model)``: puts the model in training mode (default ``model.train()``), e.g. with
  frozen batch-norm statistics;
- ``train_metrics(seconds)``: further metrics of the epoch's training pass (which ``step`` may
  have recorded), e.g. the training accuracy.

``train_classifier`` is ``train_epochs`` with the classification step (cross-entropy, or another
``Objective``'s loss), the validation loss and accuracies, and the lowest validation loss as the
best epoch: the MAMe baselines, the Tate systems and the transfer-learning runs train with it.
The Met metric-learning methods call ``train_epochs`` with their own step
(``artrec.metric_learning.methods``).

Reproducibility and resumption:
- Every epoch starts by seeding Python, numpy and torch with a seed derived from ``(seed, epoch)``,
  by calling ``set_epoch(epoch)`` on the loader's sampler/batch sampler when they have it, and by
  reseeding the loader's own ``generator``. An epoch therefore depends only on the weights and
  optimizer state it starts from and on ``(seed, epoch)``.
- After every epoch a checkpoint (weights, optimizer, history, best weights, RNG states) is written
  atomically to ``checkpoint_dir/checkpoint.pt``; a later call with the same ``checkpoint_dir``
  and the same ``config`` (everything that defines the run) resumes after the last finished
  epoch. A run killed and resumed thus ends with the same weights and metrics as an
  uninterrupted run (bit for bit on the CPU; on CUDA only as far as the kernels are
  deterministic), provided the hooks depend only on the model, the epoch and the seeded
  generators.
- The model's initial weights are the caller's: seed before building the model.
- Early stopping (``patience``): training ends once the score has not improved for ``patience``
  epochs in a row (for classifiers Keras' ``EarlyStopping(monitor="val_loss")``, as in the
  transfer-learning paper). The decision depends only on the history, which the checkpoint
  holds, so a resumed run stops where an uninterrupted one does.

Distributed data parallel (inside a process group, see ``artrec.distributed``; loaders from
``data.build_dataloader`` then hold each process's share): the model is wrapped in
``DistributedDataParallel`` for the training steps, every process resumes from the same
checkpoint, the training loss covers all processes' batches, and only rank 0 writes checkpoints
and calls ``log_fn``. ``validate`` gets the plain model and must return the metrics of the whole
validation set on every process (``evaluate_classifier`` does). Rank 0 uses the seeds of a
single-process run; the others mix their rank in, so that dropout and augmentation differ.
"""

from __future__ import annotations

import math
import random
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

# tqdm.std, not tqdm.auto: the latter's wrapper calls iter() on the loader when it is made, which
# starts (and throws away) a second pass over the loader: its workers and one seed draw.
from tqdm.std import tqdm

from artrec import distributed
from artrec.evaluation.classification import mean_per_class_accuracy
from artrec.training.checkpoint import (
    CHECKPOINT_NAME,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from artrec.training.sampler import ShardSampler

OPTIMIZERS = ("amsgrad", "adam", "sgd", "rmsprop")
# What each optimizer takes besides lr and weight decay (torch's names), and the defaults used
# when a caller gives none: SGD with momentum 0.9 (the MAMe loop's), RMSprop as Keras defines it
# (rho 0.9, epsilon 1e-8 as the transfer-learning paper gives it; torch calls rho ``alpha``).
OPTIMIZER_OPTIONS: dict[str, dict[str, float | bool]] = {
    "amsgrad": {},
    "adam": {},
    "sgd": {"momentum": 0.9, "nesterov": False},
    "rmsprop": {"alpha": 0.9, "eps": 1e-8},
}

LogFn = Callable[[int, dict[str, float]], None]
StepFn = Callable[[nn.Module, Any], tuple[torch.Tensor, int]]
ValidateFn = Callable[[nn.Module, int], dict[str, float]]
ScoreFn = Callable[[Mapping[str, float]], float]
HookFn = Callable[[nn.Module, int], None]


@dataclass(frozen=True)
class Objective:
    """What the loop minimises and how outputs become predictions (the loss/target hook).

    ``batch_loss(logits, targets)``: the mean loss of a batch (what is back-propagated);
    ``summed_loss(logits, targets)``: the sum over its items of each item's loss (validation);
    ``predict(logits)``: class indices (single label) or 0/1 rows (multi-label). With
    multi-label targets a prediction is correct when the whole row (the tag set) matches, and
    the per-class accuracy groups items by their true row (each class has its own tag set).
    """

    name: str
    batch_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    summed_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    predict: Callable[[torch.Tensor], torch.Tensor]


# Cross-entropy over classes (the MAMe baselines; exactly the loop's original computation).
SINGLE_LABEL = Objective(
    "single_label",
    nn.CrossEntropyLoss(),
    nn.CrossEntropyLoss(reduction="sum"),
    lambda logits: logits.argmax(dim=1),
)
# One sigmoid per output and binary cross-entropy (the Tate poster's multi-binary system): an
# item's loss is the mean over its outputs, a prediction the outputs above probability 0.5.
MULTI_LABEL = Objective(
    "multi_label",
    lambda logits, targets: nn.functional.binary_cross_entropy_with_logits(logits, targets),
    lambda logits, targets: (
        nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
        / logits.shape[1]
    ),
    lambda logits: (logits > 0).to(torch.int64),
)


def accuracy_of(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of items predicted right (multi-label rows: the whole row must match)."""
    correct = y_true == y_pred
    return float(correct.all(axis=1).mean() if correct.ndim == 2 else correct.mean())


def mean_class_accuracy_of(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class accuracy; multi-label items are grouped by their true row."""
    if np.ndim(y_true) == 2:
        _, groups = np.unique(y_true, axis=0, return_inverse=True)
        correct = (y_true == y_pred).all(axis=1)
        return float(np.mean([correct[groups == g].mean() for g in np.unique(groups)]))
    return mean_per_class_accuracy(y_true, y_pred)


@dataclass
class TrainResult:
    """Per-epoch metrics; the best epoch and its weights (on the CPU); whether early stopping
    ended the run (rather than its last epoch or ``stop_after_epoch``)."""

    history: pd.DataFrame
    best_epoch: int
    best_state_dict: dict[str, torch.Tensor]
    stopped_early: bool = False


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A well-mixed 32-bit seed for one epoch (runs seeded s and s+1 share no epoch seeds).

    Rank 0 gets the single-process seed, so one process reproduces earlier results.
    """
    entropy = [seed, epoch] if rank == 0 else [seed, epoch, rank]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's (all devices) global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_optimizer(
    name: str,
    parameters: Any,
    lr: float,
    weight_decay: float = 0.0,
    options: dict[str, Any] | None = None,
) -> torch.optim.Optimizer:
    """``'amsgrad'`` (the MAMe paper's: Adam with the AMSGrad fix), ``'adam'``, ``'sgd'``
    (momentum 0.9; ``options={"nesterov": True}`` for Nesterov momentum, the transfer-learning
    paper's fine tuning) or ``'rmsprop'`` (Keras' RMSprop: ``alpha`` = rho 0.9, ``eps`` 1e-8;
    the paper's off-the-shelf classifier). ``options`` override the keys of
    ``OPTIMIZER_OPTIONS[name]`` and nothing else.

    Adam runs its fused kernel: with the paper's HR&VS batch size 1 the optimizer step is a
    large share of each iteration, and the fused step made VGG11 training 1.7x faster on the CPU
    (same update rule; the result differs from the per-tensor loop by rounding only).
    """
    if name not in OPTIMIZER_OPTIONS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    unknown = set(options or {}) - set(OPTIMIZER_OPTIONS[name])
    if unknown:
        raise ValueError(
            f"optimizer {name!r} takes options {sorted(OPTIMIZER_OPTIONS[name])}, "
            f"not {sorted(unknown)}"
        )
    settings = {**OPTIMIZER_OPTIONS[name], **(options or {})}
    if name == "amsgrad":
        return torch.optim.Adam(
            parameters, lr=lr, weight_decay=weight_decay, amsgrad=True, fused=True
        )
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, weight_decay=weight_decay, **settings)
    return torch.optim.RMSprop(parameters, lr=lr, weight_decay=weight_decay, **settings)


def stopped_early(history: list[dict[str, float]], best_epoch: int, patience: int | None) -> bool:
    """Whether ``patience`` epochs have passed since the best epoch."""
    return patience is not None and bool(history) and history[-1]["epoch"] - best_epoch >= patience


def halfway_decay(epochs: int, factor: float = 0.1) -> Callable[[int], float]:
    """The Met protocol's schedule: ``factor`` times the learning rate from the epoch after the
    middle of training on (epochs 1..floor(E/2) at full rate)."""
    middle = epochs // 2
    return lambda epoch: 1.0 if epoch <= middle else factor


def evaluate_classifier(
    model: nn.Module,
    loader: DataLoader,
    device: str | torch.device,
    progress: bool = False,
    objective: Objective = SINGLE_LABEL,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels, predictions (in loader order) and the mean loss per image: arg-max and
    cross-entropy, or another ``objective``'s (e.g. ``MULTI_LABEL``).

    When ``loader`` holds one process's ``ShardSampler`` share, the results of all processes are
    gathered: every process gets the labels and predictions of the whole set in sequential order.
    ``model`` must be the plain module, not its ``DistributedDataParallel`` wrapper (the shares
    may differ by one batch, and the wrapper synchronises at every forward pass).
    """
    device = torch.device(device)
    model.eval()
    criterion = objective.summed_loss
    y_true, y_pred, total_loss = [], [], 0.0
    with torch.inference_mode():
        for images, labels in tqdm(loader, desc="eval", leave=False, disable=not progress):
            images = images.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            logits = model(images)
            total_loss += criterion(logits, labels).item()
            y_true.append(labels.cpu())
            y_pred.append(objective.predict(logits).cpu())
    y_true_all = torch.cat(y_true).numpy() if y_true else np.empty(0, np.int64)
    y_pred_all = torch.cat(y_pred).numpy() if y_pred else np.empty(0, np.int64)
    if isinstance(loader.sampler, ShardSampler) and loader.sampler.num_replicas > 1:
        y_true_all = distributed.all_gather_unshard(y_true_all)
        y_pred_all = distributed.all_gather_unshard(y_pred_all)
        total_loss = sum(distributed.all_gather_objects(total_loss))
    if len(y_true_all) == 0:
        return y_true_all, y_pred_all, math.nan
    return y_true_all, y_pred_all, total_loss / len(y_true_all)


def prepare_epoch(loader: DataLoader, seed: int, epoch: int) -> None:
    """Make ``epoch`` of ``loader`` a function of ``(seed, epoch)`` (and the rank) only."""
    rank_seed = epoch_seed(seed, epoch, distributed.rank())
    seed_everything(rank_seed)
    # Samplers draw the same order on every process from (seed, epoch) and take their share.
    for sampler in (loader.batch_sampler, loader.sampler):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
    if loader.generator is not None:
        loader.generator.manual_seed(rank_seed)


def _state_dict_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}


def _set_learning_rates(
    optimizer: torch.optim.Optimizer, lr_factor: Callable[[int], float] | None, epoch: int
) -> dict[str, float]:
    """Set each group's rate for ``epoch`` from its ``base_lr``; returns the history's columns:
    ``{"lr.<name>": lr}``, or ``{"lr": lr}`` for a single group without a name."""
    groups = optimizer.param_groups
    rates = {}
    for index, group in enumerate(groups):
        group.setdefault("base_lr", group["lr"])
        factor = lr_factor(epoch) if lr_factor is not None and group.get("scheduled") else 1.0
        group["lr"] = group["base_lr"] * factor
        key = "lr" if len(groups) == 1 and "name" not in group else f"lr.{group.get('name', index)}"
        rates[key] = group["lr"]
    return rates


def _train_pass(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    step: StepFn,
    progress: bool,
) -> tuple[float, int, float]:
    """One pass over ``loader``: the summed loss, the items and the seconds (in a process group:
    of all processes, the time the slowest one's)."""
    total, items = 0.0, 0
    started = time.perf_counter()
    batches = tqdm(loader, desc="train", leave=False, disable=not progress)
    for batch in batches:
        loss, count = step(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        batch_loss = loss.item()
        total += batch_loss * count
        items += count
        batches.set_postfix(loss=f"{batch_loss:.3f}", refresh=False)
    seconds = time.perf_counter() - started
    if items == 0:
        raise ValueError("the training loader yielded no batches (empty dataset or drop_last?)")
    if distributed.is_distributed():
        parts = distributed.all_gather_objects((total, items, seconds))
        total = sum(part[0] for part in parts)
        items = sum(part[1] for part in parts)
        seconds = max(part[2] for part in parts)
    return total, items, seconds


def _resume_check(
    path: Path, saved: Mapping[str, Any], config: Mapping[str, Any], epochs: int, epoch: int
) -> None:
    changed = {
        key: (saved.get(key), config.get(key))
        for key in sorted(set(saved) | set(config))
        if saved.get(key) != config.get(key)
    }
    if changed:
        raise ValueError(
            f"checkpoint {path} was written with other settings "
            f"(checkpoint, now): {changed}; use another checkpoint_dir or delete it"
        )
    if epoch > epochs:
        raise ValueError(f"checkpoint {path} is at epoch {epoch}, beyond epochs={epochs}")


def train_epochs(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    step: StepFn,
    validate: ValidateFn,
    score: ScoreFn,
    config: Mapping[str, Any],
    seed: int = 0,
    device: str | torch.device | None = None,
    checkpoint_dir: str | Path | None = None,
    before_epoch: HookFn | None = None,
    lr_factor: Callable[[int], float] | None = None,
    train_mode: Callable[[nn.Module], None] | None = None,
    train_metrics: Callable[[float], dict[str, float]] | None = None,
    patience: int | None = None,
    log_fn: LogFn | None = None,
    progress: bool = False,
    stop_after_epoch: int | None = None,
    config_defaults: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` for ``epochs`` epochs (1-based) with ``step``; see the module docstring.

    ``optimizer`` must hold ``model``'s parameters (its groups may carry ``name`` and
    ``scheduled``); the model must already be on ``device`` (which only says where the
    ``DistributedDataParallel`` wrapper of a process group runs). ``history`` has one row per
    epoch: epoch, train_loss, the ``train_metrics``, the ``validate`` metrics, the learning rates
    (``lr`` or ``lr.<group>``), train_seconds, val_seconds. ``log_fn(epoch, row)`` is called
    after the epoch's checkpoint is written. ``stop_after_epoch`` ends the run early (as an
    interruption would); calling again with the same ``checkpoint_dir`` resumes it. ``patience``
    ends training once the score has not improved for that many epochs (``epochs`` is then the
    most it may run). ``config_defaults``: the values of ``config`` keys that checkpoints from
    before the key existed lack. ``model`` is left with the last epoch's weights; the best
    epoch's are in the result.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be >= 1 (or None), got {patience}")
    if getattr(loader, "persistent_workers", False):
        warnings.warn(
            "persistent_workers keeps worker RNG state across epochs; a resumed run will not "
            "repeat an uninterrupted one exactly",
            stacklevel=3,
        )
    main = distributed.is_main_process()
    progress = progress and main
    config = dict(config)
    checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    rows: list[dict[str, float]] = []
    best_epoch, best_score, best_state = 0, -math.inf, None
    start_epoch = 1
    state = load_checkpoint(checkpoint_path) if checkpoint_path is not None else None
    if state is not None:
        saved = {**(config_defaults or {}), **state["config"]}
        _resume_check(checkpoint_path, saved, config, epochs, state["epoch"])
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = state["history"]
        rows = [{key: values[i] for key, values in history.items()} for i in range(state["epoch"])]
        best_epoch, best_state = state["best_epoch"], state["best_state_dict"]
        # Classifier checkpoints from before there was one loop kept the lowest validation loss.
        best_score = state["best_score"] if "best_score" in state else -state["best_val_loss"]
        start_epoch = state["epoch"] + 1
        restore_rng_state(state["rng"])
    # Wrapped after the resumed weights are in place (DDP starts from rank 0's copy anyway); the
    # plain ``model`` is kept for validation and the checkpoints, whose keys thus do not depend
    # on the number of processes.
    train_model: nn.Module = model
    if distributed.is_distributed():
        device = torch.device(device or "cpu")
        device_ids = [device.index] if device.type == "cuda" else None
        train_model = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    if stopped_early(rows, best_epoch, patience):
        start_epoch = epochs + 1  # the checkpoint's run had already stopped early: nothing left
    epoch_bar = tqdm(
        range(start_epoch, epochs + 1),
        desc="epochs",
        initial=start_epoch - 1,
        total=epochs,
        disable=not progress,
    )
    for epoch in epoch_bar:
        prepare_epoch(loader, seed, epoch)
        if before_epoch is not None:
            before_epoch(model, epoch)
        rates = _set_learning_rates(optimizer, lr_factor, epoch)
        (train_mode or nn.Module.train)(train_model)
        total, items, train_seconds = _train_pass(train_model, loader, optimizer, step, progress)
        extra = train_metrics(train_seconds) if train_metrics is not None else {}
        started = time.perf_counter()
        metrics = validate(model, epoch)
        row = {
            "epoch": epoch,
            "train_loss": total / items,
            **extra,
            **metrics,
            **rates,
            "train_seconds": train_seconds,
            "val_seconds": time.perf_counter() - started,
        }
        rows.append(row)
        value = float(score(metrics))
        if best_state is None or (math.isfinite(value) and value > best_score):
            best_epoch = epoch
            best_score = value if math.isfinite(value) else -math.inf
            best_state = _state_dict_copy(model)
        if checkpoint_path is not None and main:
            save_checkpoint(
                checkpoint_path,
                {
                    "epoch": epoch,
                    "config": config,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": {key: [r[key] for r in rows] for key in row},
                    "best_epoch": best_epoch,
                    "best_score": best_score,
                    "best_state_dict": best_state,
                    "rng": capture_rng_state(),
                },
            )
        shown = ("train_loss", "val_loss", "val_acc")
        epoch_bar.set_postfix({k: f"{row[k]:.3f}" for k in shown if k in row}, refresh=False)
        if log_fn is not None and main:
            log_fn(epoch, dict(row))
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break
        if stopped_early(rows, best_epoch, patience):
            break
    epoch_bar.close()

    if best_state is None:
        raise ValueError("no epoch ran and the checkpoint holds none")
    return TrainResult(
        history=pd.DataFrame(rows),
        best_epoch=best_epoch,
        best_state_dict=best_state,
        stopped_early=stopped_early(rows, best_epoch, patience),
    )


# The classifier history's columns, in the order they had before the loops were one.
CLASSIFIER_COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "train_mean_class_acc",
    "val_loss",
    "val_acc",
    "val_mean_class_acc",
    "lr",
    "train_seconds",
    "train_images_per_s",
    "val_seconds",
)


def train_classifier(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader,
    *,
    epochs: int,
    lr: float,
    optimizer: str = "amsgrad",
    weight_decay: float = 0.0,
    device: str | torch.device = "cpu",
    checkpoint_dir: str | Path | None = None,
    seed: int = 0,
    log_fn: LogFn | None = None,
    progress: bool = True,
    stop_after_epoch: int | None = None,
    deterministic: bool = True,
    optimizer_options: dict[str, Any] | None = None,
    patience: int | None = None,
    objective: Objective = SINGLE_LABEL,
) -> TrainResult:
    """Train with cross-entropy (or ``objective``'s loss, e.g. ``MULTI_LABEL``: sigmoids and
    binary cross-entropy) for ``epochs`` epochs (1-based), validating after each one, with
    ``train_epochs``.

    ``history`` has one row per epoch: ``CLASSIFIER_COLUMNS``. The best epoch is the one with
    the lowest validation loss (the paper's model selection; a NaN loss never counts).
    ``log_fn``, ``stop_after_epoch``, ``patience`` (early stopping on the validation loss) and
    ``checkpoint_dir`` as in ``train_epochs``; ``optimizer_options`` go to ``build_optimizer``.
    ``model`` is left holding the last epoch's weights. In a process group (see the module
    docstring) every process calls this with its own loaders and gets the same result;
    ``device`` ``cuda`` means each process's own GPU.
    """
    device = distributed.local_device(device)
    if device.type == "cuda" and deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    model.to(device)
    opt = build_optimizer(optimizer, model.parameters(), lr, weight_decay, optimizer_options)
    # What must not change between an interrupted run and its resumption (the number of
    # processes too: it changes the batches and the effective batch size).
    config = {
        "optimizer": optimizer,
        "lr": lr,
        "weight_decay": weight_decay,
        "seed": seed,
        "world_size": distributed.world_size(),
        "optimizer_options": dict(sorted((optimizer_options or {}).items())),
    }
    progress = progress and distributed.is_main_process()
    y_true: list[torch.Tensor] = []
    y_pred: list[torch.Tensor] = []

    def step(net: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        images, labels = (t.to(device, non_blocking=True) for t in batch)
        logits = net(images)
        y_true.append(labels.cpu())
        y_pred.append(objective.predict(logits.detach()).cpu())
        return objective.batch_loss(logits, labels), len(labels)

    def train_metrics(seconds: float) -> dict[str, float]:
        # Accuracies of the training-mode outputs, over the images of all processes.
        true, pred = torch.cat(y_true).numpy(), torch.cat(y_pred).numpy()
        y_true.clear()
        y_pred.clear()
        if distributed.is_distributed():
            parts = distributed.all_gather_objects((true, pred))
            true = np.concatenate([part[0] for part in parts])
            pred = np.concatenate([part[1] for part in parts])
        return {
            "train_acc": accuracy_of(true, pred),
            "train_mean_class_acc": mean_class_accuracy_of(true, pred),
            "train_images_per_s": len(true) / seconds,
        }

    def validate(net: nn.Module, epoch: int) -> dict[str, float]:
        true, pred, loss = evaluate_classifier(net, val_loader, device, progress, objective)
        empty = len(true) == 0
        return {
            "val_loss": loss,
            "val_acc": math.nan if empty else accuracy_of(true, pred),
            "val_mean_class_acc": math.nan if empty else mean_class_accuracy_of(true, pred),
        }

    result = train_epochs(
        model,
        train_loader,
        opt,
        epochs=epochs,
        step=step,
        validate=validate,
        score=lambda metrics: -metrics["val_loss"],
        train_metrics=train_metrics,
        config=config,
        # Checkpoints from before distributed training (one process) and optimizer options.
        config_defaults={"world_size": 1, "optimizer_options": {}},
        seed=seed,
        device=device,
        checkpoint_dir=checkpoint_dir,
        patience=patience,
        log_fn=log_fn,
        progress=progress,
        stop_after_epoch=stop_after_epoch,
    )
    result.history = result.history[list(CLASSIFIER_COLUMNS)]
    return result
