"""Networks (VGG11, BN-free ResNet18, trunks for retrieval) and their initial weights."""

from artrec.models.factory import (
    build_backbone_trunk,
    build_classifier,
    build_classifier_with_report,
)
from artrec.models.weights import WeightLoadReport, fold_batchnorm

__all__ = [
    "WeightLoadReport",
    "build_backbone_trunk",
    "build_classifier",
    "build_classifier_with_report",
    "fold_batchnorm",
]
