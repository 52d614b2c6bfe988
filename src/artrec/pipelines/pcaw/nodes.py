"""PCA whitening of the Met descriptors, learned on the training (exhibit) descriptors."""

from __future__ import annotations

from typing import Any

import numpy as np

from artrec.retrieval.whitening import PCAWhitening, learn_pca_whitening


def learn_met_whitening(
    descriptors: dict[str, np.ndarray], params: dict[str, Any]
) -> tuple[PCAWhitening, dict[str, Any]]:
    """Whitening with ``shrinkage`` and target ``dim`` (capped by the data), and its facts.

    The result is also the FC projector's initial weights and bias
    (:func:`artrec.retrieval.whitening.as_linear_layer`).
    """
    train = descriptors["train_descriptors"]
    dim = params.get("dim")
    pcaw = learn_pca_whitening(train, shrinkage=float(params["shrinkage"]), dim=dim)
    eigenvalues = pcaw.eigenvalues.astype(np.float64)
    facts = {
        "input_dim": int(pcaw.input_dim),
        "output_dim": int(pcaw.output_dim),
        "requested_dim": dim,
        "shrinkage": float(pcaw.shrinkage),
        "training_descriptors": int(train.shape[0]),
        "explained_variance_kept": float(eigenvalues.sum() / max(_total_variance(train), 1e-30)),
    }
    return pcaw, facts


def _total_variance(x: np.ndarray) -> float:
    return float(np.var(x.astype(np.float64), axis=0).sum())
