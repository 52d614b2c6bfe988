"""Instance-level recognition on the Met: global descriptors, PCA whitening, kNN classifier and
the benchmark's metrics (GAP, GAP-, ACC).

Modules: ``gem`` (GeM pooling), ``embedder`` (trunk + GeM + L2 [+ FC + L2], multi-scale),
``extract`` (resumable batched extraction), ``whitening`` (PCA whitening), ``knn`` (FAISS kNN
classifier and its (k, tau) tuning), ``metrics``, ``descriptors`` (safe loading and evaluation of
descriptor pickles).

The names below are importable from the package; they are resolved lazily so that using the
metrics or the kNN classifier does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "artrec.retrieval.embedder": [
        "IMAGENET_MEAN",
        "IMAGENET_STD",
        "MAME_MEAN",
        "MAME_STD",
        "MULTI_SCALE",
        "SINGLE_SCALE",
        "Embedder",
        "inference_transform",
    ],
    "artrec.retrieval.extract": ["ImageListDataset", "extract_descriptors"],
    "artrec.retrieval.gem": ["GeM", "gem"],
    "artrec.retrieval.knn": [
        "DEFAULT_KS",
        "DEFAULT_TAUS",
        "KNNClassifier",
        "KNNPrediction",
        "KNNTuning",
        "knn_predict",
        "tune_knn",
    ],
    "artrec.retrieval.metrics": ["accuracy", "evaluate", "gap", "gap_minus"],
    "artrec.retrieval.whitening": [
        "PCAWhitening",
        "apply_pca_whitening",
        "as_linear_layer",
        "learn_pca_whitening",
        "load_whitening",
        "save_whitening",
    ],
    "artrec.retrieval.descriptors": ["evaluate_descriptors", "load_descriptor_pickle"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
