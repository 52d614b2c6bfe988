"""The project's training loop for models whose step is not plain classification (metric learning
on the Met: cosine classifiers with ArcFace, SimSiam, contrastive pairs).

It is the same loop as :func:`artrec.training.loop.train_classifier` with two hooks opened up,
and shares that module's parts: per-epoch seeding (:func:`~artrec.training.loop.prepare_epoch`:
Python, numpy and torch seeded from ``(seed, epoch)``, ``set_epoch`` on the sampler, the loader's
generator reseeded), the atomic checkpoint of every epoch and the RNG capture
(:mod:`artrec.training.checkpoint`), and :class:`~artrec.training.loop.TrainResult`.

- ``step(model, batch) -> (loss, items)``: what one batch costs (the caller's loss, computed on
  the batch the loader yields; ``items`` weighs the batch in the epoch's mean loss);
- ``validate(model, epoch) -> metrics``: run after every epoch; ``score(metrics)`` picks the best
  epoch (higher is better; a non-finite score never counts), e.g. the Met protocol's validation
  accuracy of a single-scale kNN classifier;
- ``before_epoch(model, epoch)``: runs after the epoch is seeded and before its first batch, e.g.
  mining hard negatives with the current model (its random draws are then part of the epoch);
- ``lr_factor(epoch)``: multiplies the base learning rate of every parameter group marked
  ``scheduled`` (the Met protocol divides the backbone's by 10 halfway);
- ``train_mode(model)``: puts the model in training mode (default ``model.train()``); a frozen
  backbone or frozen batch-norm statistics go here.

Resumption: the checkpoint holds the weights, the optimizer, the history, the best epoch's
weights and the RNG states; ``config`` (everything that defines the run) must match to resume. A
run stopped after epoch k (``stop_after_epoch``, or a kill) and resumed ends with the same
weights and history as an uninterrupted one on the CPU, provided ``before_epoch`` and ``step``
depend only on the model, the epoch and the seeded generators. One process only: the Met
training runs on one device (no DDP wrapper, unlike ``train_classifier``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from artrec.training.checkpoint import (
    CHECKPOINT_NAME,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from artrec.training.loop import LogFn, TrainResult, prepare_epoch

StepFn = Callable[[nn.Module, Any], tuple[torch.Tensor, int]]
ValidateFn = Callable[[nn.Module, int], dict[str, float]]
ScoreFn = Callable[[Mapping[str, float]], float]
HookFn = Callable[[nn.Module, int], None]


def halfway_decay(epochs: int, factor: float = 0.1) -> Callable[[int], float]:
    """The Met protocol's schedule: ``factor`` times the learning rate from the epoch after the
    middle of training on (epochs 1..floor(E/2) at full rate)."""
    middle = epochs // 2
    return lambda epoch: 1.0 if epoch <= middle else factor


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}


def _set_learning_rates(
    optimizer: torch.optim.Optimizer, lr_factor: Callable[[int], float] | None, epoch: int
) -> dict[str, float]:
    """Set each group's rate for ``epoch`` from its ``base_lr``; returns ``{"lr.<name>": lr}``."""
    rates = {}
    for index, group in enumerate(optimizer.param_groups):
        group.setdefault("base_lr", group["lr"])
        factor = lr_factor(epoch) if lr_factor is not None and group.get("scheduled") else 1.0
        group["lr"] = group["base_lr"] * factor
        rates[f"lr.{group.get('name', index)}"] = group["lr"]
    return rates


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
    checkpoint_dir: str | Path | None = None,
    before_epoch: HookFn | None = None,
    lr_factor: Callable[[int], float] | None = None,
    train_mode: Callable[[nn.Module], None] | None = None,
    log_fn: LogFn | None = None,
    stop_after_epoch: int | None = None,
) -> TrainResult:
    """Train ``model`` for ``epochs`` epochs (1-based) with ``step``; see the module docstring.

    ``optimizer`` must hold ``model``'s parameters (its groups may carry ``name`` and
    ``scheduled``); the model must already be on its device. ``history`` has one row per epoch:
    epoch, train_loss, the ``validate`` metrics, ``lr.<group>``, train_seconds, val_seconds.
    ``log_fn(epoch, row)`` is called after the epoch's checkpoint is written. ``model`` is left
    with the last epoch's weights; the best epoch's are in the result.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    config = dict(config)
    checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    rows: list[dict[str, float]] = []
    best_epoch, best_score, best_state = 0, -math.inf, None
    start_epoch = 1
    state = load_checkpoint(checkpoint_path) if checkpoint_path is not None else None
    if state is not None:
        saved = state["config"]
        changed = {
            key: (saved.get(key), config.get(key))
            for key in sorted(set(saved) | set(config))
            if saved.get(key) != config.get(key)
        }
        if changed:
            raise ValueError(
                f"checkpoint {checkpoint_path} was written with other settings "
                f"(checkpoint, now): {changed}; use another checkpoint_dir or delete it"
            )
        if state["epoch"] > epochs:
            raise ValueError(
                f"checkpoint {checkpoint_path} is at epoch {state['epoch']}, beyond epochs={epochs}"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = state["history"]
        rows = [{key: values[i] for key, values in history.items()} for i in range(state["epoch"])]
        best_epoch, best_score = state["best_epoch"], state["best_score"]
        best_state = state["best_state_dict"]
        start_epoch = state["epoch"] + 1
        restore_rng_state(state["rng"])

    for epoch in range(start_epoch, epochs + 1):
        prepare_epoch(loader, seed, epoch)
        if before_epoch is not None:
            before_epoch(model, epoch)
        rates = _set_learning_rates(optimizer, lr_factor, epoch)
        (train_mode or nn.Module.train)(model)
        started = time.perf_counter()
        total, items = 0.0, 0
        for batch in loader:
            loss, count = step(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.item()) * count
            items += count
        if items == 0:
            raise ValueError("the training loader yielded no batches (empty dataset?)")
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        metrics = validate(model, epoch)
        row = {
            "epoch": epoch,
            "train_loss": total / items,
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
            best_state = _state_copy(model)
        if checkpoint_path is not None:
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
        if log_fn is not None:
            log_fn(epoch, dict(row))
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break

    if best_state is None:
        raise ValueError("no epoch ran and the checkpoint holds none")
    return TrainResult(
        history=pd.DataFrame(rows), best_epoch=best_epoch, best_state_dict=best_state
    )
