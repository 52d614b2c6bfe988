"""One run of the transfer study: a challenge's data, trained under the paper's protocol, tested
on the epoch with the lowest validation loss, with every prediction kept.

A run is named as ``artrec.transfer.names`` says. Its checkpoints
live in ``<checkpoint_root>/<name with dashes>-<fingerprint>``, the fingerprint covering the
protocol, the seed, the labels and splits, the inputs and the initial weights, so a killed run
resumes and a changed one starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from artrec.training.loop import LogFn
from artrec.transfer.challenges import SPLITS
from artrec.transfer.inputs import ArrayImageDataset
from artrec.transfer.names import run_label
from artrec.transfer.protocol import (
    Protocol,
    describe,
    feature_dataset,
    fingerprint,
    fit,
    predict,
)


@dataclass(frozen=True)
class ChallengeData:
    """A challenge's objects as positions into the collection's input arrays, with labels."""

    collection: str
    challenge: str
    classes: tuple[str, ...]
    positions: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    image_ids: dict[str, np.ndarray]

    @classmethod
    def from_table(
        cls, challenges: pd.DataFrame, collection: str, challenge: str, order: np.ndarray
    ) -> ChallengeData:
        """From the curated challenges table; ``order`` is the ImageIds of the input arrays."""
        frame = challenges[
            (challenges["collection"] == collection) & (challenges["challenge"] == challenge)
        ]
        if frame.empty:
            raise ValueError(f"{collection} has no objects for the {challenge} challenge")
        classes = tuple(sorted(frame["label"].astype(str).unique()))
        index = {name: i for i, name in enumerate(classes)}
        where = {image_id: i for i, image_id in enumerate(order)}
        positions, labels, ids = {}, {}, {}
        for split in SPLITS:
            part = frame[frame["split"] == split]
            ids[split] = part["ImageId"].to_numpy(dtype=str)
            positions[split] = np.asarray([where[i] for i in ids[split]], dtype=np.int64)
            labels[split] = part["label"].astype(str).map(index).to_numpy(dtype=np.int64)
        return cls(collection, challenge, classes, positions, labels, ids)


@dataclass(frozen=True)
class RunSettings:
    """How a run is carried out: its seed, device, checkpoint root, per-epoch logging and the
    epoch after which to stop as a crash would (a testing aid)."""

    seed: int
    device: str | torch.device = "cpu"
    checkpoint_root: str | Path | None = None
    log_fn: LogFn | None = None
    stop_after_epoch: int | None = None


@dataclass
class RunResult:
    """A finished run: per-epoch history, val/test predictions, the kept weights, and whether
    early stopping ended it."""

    name: dict[str, str]
    history: pd.DataFrame
    predictions: pd.DataFrame
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    stopped_early: bool = False

    def test_accuracy(self) -> float:
        test = self.predictions[self.predictions["split"] == "test"]
        return float((test["true"] == test["predicted"]).mean()) if len(test) else float("nan")


def _train_and_test(
    model: nn.Module,
    datasets: dict[str, Any],
    inputs: tuple[Any, ...],
    data: ChallengeData,
    protocol: Protocol,
    name: dict[str, str],
    settings: RunSettings,
) -> RunResult:
    """Train ``model`` on ``datasets`` and predict val and test with its best epoch; the
    checkpoint folder's fingerprint covers ``inputs`` (what the datasets were made from)."""
    checkpoint_dir = None
    if settings.checkpoint_root is not None:
        identity = fingerprint(
            name,
            describe(protocol),
            settings.seed,
            data.labels,
            data.positions,
            *inputs,
            model.state_dict(),
        )
        checkpoint_dir = Path(settings.checkpoint_root) / f"{run_label(name, '-')}-{identity}"
    result = fit(
        model,
        datasets["train"],
        datasets["val"],
        protocol,
        seed=settings.seed,
        device=settings.device,
        checkpoint_dir=checkpoint_dir,
        log_fn=settings.log_fn,
        stop_after_epoch=settings.stop_after_epoch,
    )
    model.load_state_dict(result.best_state_dict)
    rows = []
    for split in ("val", "test"):
        y_true, y_pred = predict(model, datasets[split], settings.device)
        rows.append(
            pd.DataFrame(
                {
                    **name,
                    "ImageId": data.image_ids[split],
                    "split": split,
                    "true": [data.classes[i] for i in y_true],
                    "predicted": [data.classes[i] for i in y_pred],
                }
            )
        )
    return RunResult(
        name,
        result.history.assign(**name),
        pd.concat(rows, ignore_index=True),
        result.best_epoch,
        result.best_state_dict,
        result.stopped_early,
    )


def run_off_the_shelf(
    features: np.ndarray,
    data: ChallengeData,
    protocol: Protocol,
    name: dict[str, str],
    settings: RunSettings,
) -> RunResult:
    """A new soft-max layer on a frozen network's cached features (``features``: one row per
    object of the collection, in the order of the input arrays)."""
    datasets = {
        split: feature_dataset(features[data.positions[split]], data.labels[split])
        for split in SPLITS
    }
    torch.manual_seed(settings.seed)  # the layer's initial weights are part of the run
    head = nn.Linear(features.shape[1], len(data.classes))
    return _train_and_test(head, datasets, (features,), data, protocol, name, settings)


def run_network(
    build: Callable[[], nn.Module],
    images: np.ndarray,
    mean: Any,
    std: Any,
    data: ChallengeData,
    protocol: Protocol,
    name: dict[str, str],
    settings: RunSettings,
) -> RunResult:
    """The whole network ``build()`` trained on the challenge (fine tuning, or from scratch when
    ``build`` returns a freshly initialised network)."""
    datasets = {
        split: ArrayImageDataset(images[data.positions[split]], data.labels[split], mean, std)
        for split in SPLITS
    }
    torch.manual_seed(settings.seed)  # the new soft-max layer's initial weights are part of the run
    model = build()
    inputs = (images, [float(m) for m in mean], [float(s) for s in std])
    return _train_and_test(model, datasets, inputs, data, protocol, name, settings)
