"""The paper's training protocol (section 2.3), on the project's training loop.

- Off the shelf: the starting network is frozen; its pooled features (the vector X before the
  soft-max layer) are computed ONCE per network and collection (``extract_features``) and only
  a soft-max layer is trained on them (``fit_softmax``), with RMSprop (lr 1e-3, rho 0.9,
  eps 1e-8). Training a linear layer on cached features is exactly training the frozen network
  with a new head, without a forward pass through the network per epoch.
- Fine tuning and from scratch: the whole network with SGD (lr 1e-3, Nesterov momentum 0.9).
- Batch 32; early stopping once the validation loss has not improved for 7 epochs; the epoch
  with the lowest validation loss is tested.

Every run goes through ``artrec.training.loop.train_classifier``: checkpoints every epoch
(a killed run resumes to the identical result), per-epoch metrics through ``log_fn``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from artrec.training.data import build_dataloader
from artrec.training.loop import LogFn, TrainResult, evaluate_classifier, train_classifier
from artrec.transfer.inputs import ArrayImageDataset

EVAL_BATCH_SIZE = 128


@dataclass(frozen=True)
class Protocol:
    """How one kind of run trains: optimiser, its options, batch size, epochs, patience."""

    optimizer: str
    lr: float
    batch_size: int
    max_epochs: int
    patience: int | None
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_params(cls, optimiser: Mapping[str, Any], training: Mapping[str, Any]) -> Protocol:
        """From ``transfer.off_the_shelf`` / ``transfer.fine_tuning`` and ``transfer.training``:
        ``{optimizer, lr, <options>}`` and ``{batch_size, max_epochs, patience}``; the paper's
        ``rho`` is torch's ``alpha``."""
        options = {k: v for k, v in optimiser.items() if k not in ("optimizer", "lr")}
        if "rho" in options:
            options["alpha"] = options.pop("rho")
        return cls(
            optimizer=str(optimiser["optimizer"]),
            lr=float(optimiser["lr"]),
            batch_size=int(training["batch_size"]),
            max_epochs=int(training["max_epochs"]),
            patience=None if training.get("patience") is None else int(training["patience"]),
            options=options,
        )


def fingerprint(*parts: Any) -> str:
    """12 hex digits identifying a run: JSON-able parts, plus the bytes of arrays and tensors
    (the images and starting weights), so a changed input never resumes a stale checkpoint."""
    digest = hashlib.sha256()

    def add(part: Any) -> None:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().numpy()
        if isinstance(part, np.ndarray):
            digest.update(str((part.dtype, part.shape)).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, Mapping):
            digest.update(b"{")
            for key in sorted(part, key=str):
                digest.update(json.dumps(str(key)).encode())
                add(part[key])
            digest.update(b"}")
        elif isinstance(part, list | tuple):
            digest.update(b"[")
            for item in part:
                add(item)
            digest.update(b"]")
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())

    for part in parts:
        add(part)
    return digest.hexdigest()[:12]


def fit(
    model: nn.Module,
    train: Dataset,
    val: Dataset,
    protocol: Protocol,
    *,
    seed: int,
    device: str | torch.device = "cpu",
    checkpoint_dir: str | Path | None = None,
    log_fn: LogFn | None = None,
    stop_after_epoch: int | None = None,
    num_workers: int = 0,
) -> TrainResult:
    """Train ``model`` under ``protocol`` with the project's loop (shuffled batches seeded by
    ``seed``, early stopping, checkpoints in ``checkpoint_dir``)."""
    train_loader = build_dataloader(
        train, batch_size=protocol.batch_size, train=True, seed=seed, num_workers=num_workers
    )
    val_loader = build_dataloader(
        val, batch_size=EVAL_BATCH_SIZE, train=False, seed=seed, num_workers=num_workers
    )
    return train_classifier(
        model,
        train_loader,
        val_loader,
        epochs=protocol.max_epochs,
        lr=protocol.lr,
        optimizer=protocol.optimizer,
        optimizer_options=protocol.options,
        patience=protocol.patience,
        device=device,
        checkpoint_dir=checkpoint_dir,
        seed=seed,
        log_fn=log_fn,
        progress=False,
        stop_after_epoch=stop_after_epoch,
    )


def feature_dataset(features: np.ndarray, labels: np.ndarray) -> TensorDataset:
    """Cached features and labels as a dataset for ``fit`` (off the shelf)."""
    # Copies: the arrays may be read-only views (pandas), which torch.from_numpy warns about.
    return TensorDataset(
        torch.tensor(np.asarray(features, dtype=np.float32)),
        torch.tensor(np.asarray(labels, dtype=np.int64)),
    )


def predict(
    model: nn.Module, dataset: Dataset, device: str | torch.device = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, arg-max predictions) of ``model`` on ``dataset``, in order."""
    loader = DataLoader(dataset, batch_size=EVAL_BATCH_SIZE, shuffle=False)
    y_true, y_pred, _ = evaluate_classifier(model.to(device), loader, device)
    return y_true, y_pred


@torch.inference_mode()
def extract_features(
    model: nn.Module,
    images: np.ndarray,
    mean: Any,
    std: Any,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """The pooled features ``model.features(x)`` of every image (eval mode), float32 (N, C)."""
    model = model.to(device).eval()
    dataset = ArrayImageDataset(images, np.zeros(len(images), dtype=np.int64), mean, std)
    loader = DataLoader(dataset, batch_size=EVAL_BATCH_SIZE, shuffle=False)
    parts = [model.features(batch.to(device)).float().cpu().numpy() for batch, _ in loader]
    return np.concatenate(parts) if parts else np.empty((0, 0), dtype=np.float32)


def describe(protocol: Protocol) -> dict[str, Any]:
    """The protocol as plain values (for fingerprints and tables)."""
    return asdict(protocol)
