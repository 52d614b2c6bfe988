"""Evaluating an embedder during and after Met training.

- :func:`describe`: descriptors of in-memory image tensors, single- or multi-scale (the
  extraction code of the embedding stage, :func:`artrec.retrieval.extract.extract_descriptors`);
- :func:`validation_knn`: the per-epoch model selection of appendix A.1, a kNN classifier on
  single-scale descriptors without PCA whitening; its ACC is the 1-nearest-neighbour accuracy on
  the Met validation queries, its GAP ranks the queries by the nearest similarity (k = 1);
- :func:`knn_protocol`: the paper's evaluation of a backbone: multi-scale descriptors, PCA
  whitening learned on the database, (k, tau) tuned on validation GAP, test metrics
  (:func:`artrec.retrieval.studies.evaluate_knn`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from artrec.metric_learning.images import TensorItems
from artrec.retrieval.embedder import SINGLE_SCALE, Embedder
from artrec.retrieval.extract import extract_descriptors
from artrec.retrieval.knn import KNNClassifier
from artrec.retrieval.studies import DescriptorSplits, KNNEvaluation, evaluate_knn


def describe(
    embedder: Embedder,
    tensors: Sequence[torch.Tensor],
    scales: Sequence[float] = SINGLE_SCALE,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 32,
) -> np.ndarray:
    """float32 (N, D) descriptors of normalised image tensors (equal shapes batched together).

    The global RNG is left as it was: the extraction's data loader draws its base seed from it,
    and describing (e.g. mining again after a resume) must not shift a training epoch's draws.
    """
    with torch.random.fork_rng(devices=[]):
        return extract_descriptors(
            embedder,
            TensorItems(tensors),
            scales=scales,
            batch_size=batch_size,
            device=device,
            progress=False,
        ).descriptors


def validation_knn(
    train: np.ndarray, train_labels: np.ndarray, val: np.ndarray, val_labels: np.ndarray
) -> dict[str, float]:
    """``val_acc``, ``val_gap``, ``val_gap_minus`` of the k = 1 kNN classifier (no PCAw)."""
    metrics = KNNClassifier(train, train_labels).predict(val, 1, 1.0).metrics(val_labels)
    return {"val_acc": metrics["ACC"], "val_gap": metrics["GAP"], "val_gap_minus": metrics["GAP-"]}


def selection_score(metrics: Mapping[str, float], n_met_queries: int) -> float:
    """Validation accuracy, ties broken by GAP: the GAP term is below one query's share of the
    accuracy (1 / n_met_queries), so it only orders epochs of equal accuracy."""
    return float(metrics["val_acc"]) + float(metrics["val_gap"]) / (n_met_queries + 1)


def knn_protocol(
    descriptors: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    *,
    pcaw_dim: int | None,
    shrinkage: float,
    ks: Sequence[int],
    taus: Sequence[float],
    index: Any = None,
) -> KNNEvaluation:
    """PCA whitening learned on ``descriptors["train"]``, (k, tau) tuned on val, test metrics."""
    splits = DescriptorSplits(
        descriptors["train"],
        labels["train"],
        descriptors["val"],
        labels["val"],
        descriptors["test"],
        labels["test"],
    )
    return evaluate_knn(splits.whitened(pcaw_dim, shrinkage), ks=ks, taus=taus, index=index)
