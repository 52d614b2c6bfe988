"""The test protocol of a backbone after (or before) Met training, as Table 6 reports it.

- kNN classification: multi-scale descriptors, PCA whitening learned on the database, (k, tau)
  tuned on validation GAP (:func:`artrec.metric_learning.evaluation.knn_protocol`);
- parametric classification (DNet only): the classifier on the single-scale descriptor (the
  network as trained), its temperature tuned on validation GAP
  (:mod:`artrec.metric_learning.parametric`).

Both give per-query test predictions, confidences and ranking keys, so that two systems can be
compared on the same queries (:func:`artrec.retrieval.studies.bootstrap_difference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from artrec.metric_learning.evaluation import describe, knn_protocol
from artrec.metric_learning.methods import SPLITS, MetImages, eval_tensors
from artrec.metric_learning.models import DNet
from artrec.metric_learning.parametric import parametric_predict, tune_temperature
from artrec.retrieval.embedder import MULTI_SCALE, Embedder
from artrec.retrieval.knn import METRICS
from artrec.retrieval.studies import KNNEvaluation


@dataclass(frozen=True)
class SystemResult:
    """One classifier's test result: metrics (fractions), its tuned settings and the per-query
    ``predictions`` (columns query, label, confidence, log_confidence, top_similarity)."""

    metrics: dict[str, float]
    val_metrics: dict[str, float]
    settings: dict[str, float]
    predictions: pd.DataFrame

    def as_evaluation(self) -> KNNEvaluation:
        """The shape :func:`artrec.retrieval.studies.bootstrap_difference` reads."""
        frame = self.predictions.sort_values("query")
        return KNNEvaluation(
            k=int(self.settings.get("k", 0)),
            tau=float(self.settings.get("tau", 0.0)),
            val_metrics=self.val_metrics,
            test_metrics=self.metrics,
            grid=pd.DataFrame(),
            test_predictions=frame["label"].to_numpy(),
            test_confidence=frame["confidence"].to_numpy(),
            test_nearest=np.zeros(len(frame), np.int64),
            test_rank_key=(frame["log_confidence"].to_numpy(), frame["top_similarity"].to_numpy()),
        )


def _frame(labels, confidence, log_confidence, top_similarity) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "query": np.arange(len(labels)),
            "label": np.asarray(labels, np.int64),
            "confidence": np.asarray(confidence, np.float64),
            "log_confidence": np.asarray(log_confidence, np.float64),
            "top_similarity": np.asarray(top_similarity, np.float64),
        }
    )


def knn_system(
    embedder: Embedder,
    data: MetImages,
    *,
    pcaw_dim: int | None,
    shrinkage: float,
    ks: Sequence[int],
    taus: Sequence[float],
    index: Any = None,
    device: str | torch.device = "cpu",
) -> SystemResult:
    """The paper's kNN evaluation of ``embedder`` (multi-scale, PCAw, tuned on val)."""
    tensors = eval_tensors(embedder, data)
    descriptors = {
        split: describe(embedder, tensors[split], MULTI_SCALE, device=device) for split in SPLITS
    }
    result = knn_protocol(
        descriptors,
        data.labels,
        pcaw_dim=pcaw_dim,
        shrinkage=shrinkage,
        ks=ks,
        taus=taus,
        index=index,
    )
    log_confidence, top = result.test_rank_key
    return SystemResult(
        metrics=dict(result.test_metrics),
        val_metrics=dict(result.val_metrics),
        settings={"k": result.k, "tau": result.tau},
        predictions=_frame(result.test_predictions, result.test_confidence, log_confidence, top),
    )


def parametric_system(
    dnet: DNet,
    data: MetImages,
    *,
    taus: Sequence[float],
    device: str | torch.device = "cpu",
) -> SystemResult:
    """The DNet classifier's evaluation: single-scale descriptors, temperature tuned on val."""
    tensors = eval_tensors(dnet.embedder, data, ("val", "test"))
    cosines = {}
    for split in ("val", "test"):
        descriptors = torch.from_numpy(describe(dnet.embedder, tensors[split], device=device))
        cosines[split] = dnet.cosines(descriptors.to(device)).cpu().numpy()
    tau, grid = tune_temperature(cosines["val"], data.labels["val"], taus)
    best = grid[grid["tau"] == tau].iloc[0]
    prediction = parametric_predict(cosines["test"], tau)
    return SystemResult(
        metrics=prediction.metrics(data.labels["test"]),
        val_metrics={m: float(best[m]) for m in METRICS},
        settings={"tau": tau},
        predictions=_frame(
            prediction.labels,
            prediction.confidence,
            prediction.log_confidence,
            prediction.top_similarity,
        ),
    )
