"""Networks (VGG11, BN-free ResNet18, trunks for retrieval) and their initial weights."""

from artrec.models.factory import build_backbone_trunk, build_classifier
from artrec.models.weights import WeightLoadReport, fold_batchnorm, initialise_weights

__all__ = [
    "WeightLoadReport",
    "build_backbone_trunk",
    "build_classifier",
    "fold_batchnorm",
    "initialise_weights",
]
