"""Inference with the DNet classifier itself (the paper's parametric classification).

The class confidences are the soft-max of ``T`` times the cosines between the image's descriptor
and the class prototypes; the prediction is the arg-max, the confidence the maximum (paper
section 3). ``T`` is tuned on validation GAP after training (appendix A.1), over the same grid as
the kNN classifier's tau. Queries are ranked by the log of the maximum soft-max
(``T s_max - logsumexp(T s)``), then by the top cosine, as the kNN classifier ranks its own (no
ties where the soft-max rounds to 1.0), so both classifiers are scored by the same
:func:`artrec.retrieval.metrics.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from artrec.retrieval.knn import DEFAULT_TAUS, METRICS, KNNPrediction


def parametric_predict(cosines: np.ndarray, temperature: float) -> KNNPrediction:
    """Labels, soft-max confidences and ranking keys from (queries, classes) ``cosines``."""
    if not temperature > 0:
        raise ValueError(f"the temperature must be positive, got {temperature}")
    scores = np.asarray(cosines, dtype=np.float64)
    labels = scores.argmax(axis=1)
    top = scores[np.arange(len(scores)), labels]
    log_confidence = temperature * top - logsumexp(temperature * scores, axis=1)
    return KNNPrediction(
        labels=labels,
        confidence=np.exp(log_confidence),
        log_confidence=log_confidence,
        top_similarity=top,
    )


def tune_temperature(
    cosines: np.ndarray, labels: np.ndarray, temperatures: Sequence[float] = DEFAULT_TAUS
) -> tuple[float, pd.DataFrame]:
    """The temperature with the best validation GAP (ties: the smallest) and the whole grid."""
    rows = [
        {"tau": float(t), **parametric_predict(cosines, float(t)).metrics(labels)}
        for t in sorted({float(t) for t in temperatures})
    ]
    grid = pd.DataFrame(rows, columns=["tau", *METRICS])
    return float(grid.loc[grid["GAP"].idxmax(), "tau"]), grid
