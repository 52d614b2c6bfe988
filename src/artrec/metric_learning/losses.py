"""The losses of the Met training methods (paper section 3, appendix A.1).

- DNet, cross-entropy on a cosine classifier with temperature gamma = 30: pytorch-metric-learning's
  ``NormalizedSoftmaxLoss`` with ``temperature = 1 / gamma`` is exactly that (embeddings and class
  vectors L2-normalised, logits = cos / temperature, soft-max cross-entropy).
- DNet, ArcFace with scale 64 and margin 0.5: pytorch-metric-learning's ``ArcFaceLoss`` matches
  the definition of Deng et al. (logit of the true class cos(theta + m), others cos(theta), all
  times s; where theta + m would pass pi it uses cos(theta) - m sin(m), as insightface does). Its
  margin is in degrees, so 0.5 rad is passed as ``degrees(0.5)`` = 28.65 (its default 28.6 is
  0.4992 rad).
- Both keep their class vectors (the cosine classifier's prototypes) as the loss's parameter
  ``W`` of shape (dim, classes). Class weighting (thesis B.3) is pytorch-metric-learning's
  ``ClassWeightedReducer``: the mean over the batch of weight[label] times each image's loss.
- Contrastive loss (margin 1.8): written here, because pytorch-metric-learning's
  ``ContrastiveLoss`` is another function (hinge on the distance itself, ``relu(d - m_pos)`` and
  ``relu(m_neg - d)``, averaged over the non-zero terms). The Met code's (and cirtorch's) is
  ``0.5 d^2`` for a positive pair and ``0.5 max(0, m - d)^2`` for a negative one, averaged over the
  pairs, d the Euclidean distance of the two L2-normalised descriptors.
- SimSiam: the symmetric negative cosine of Chen and He with stop-gradient; no library here has it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses, reducers
from torch import nn

CLASSIFICATION_LOSSES = ("ce", "arcface")


def classification_loss(
    name: str,
    num_classes: int,
    dim: int,
    *,
    temperature: float = 30.0,
    scale: float = 64.0,
    margin: float = 0.5,
    class_weights: torch.Tensor | None = None,
) -> nn.Module:
    """DNet's loss with its class vectors: ``"ce"`` (cosine soft-max, ``temperature`` gamma) or
    ``"arcface"`` (``scale``, ``margin`` in radians). ``class_weights`` (one per class) weigh
    each image's loss by its class (thesis B.3 class weighting)."""
    reducer = reducers.ClassWeightedReducer(class_weights) if class_weights is not None else None
    extra = {"reducer": reducer} if reducer is not None else {}
    if name == "ce":
        return losses.NormalizedSoftmaxLoss(
            num_classes, dim, temperature=1.0 / temperature, **extra
        )
    if name == "arcface":
        return losses.ArcFaceLoss(
            num_classes, dim, margin=math.degrees(margin), scale=scale, **extra
        )
    raise ValueError(f"classification loss must be one of {CLASSIFICATION_LOSSES}, got {name!r}")


def contrastive_loss(
    first: torch.Tensor, second: torch.Tensor, positive: torch.Tensor, margin: float = 1.8
) -> torch.Tensor:
    """Mean over pairs of ``0.5 d^2`` (positive pairs) or ``0.5 max(0, margin - d)^2`` (negative).

    ``first``/``second``: (B, D) descriptors of the two images of each pair; ``positive``: (B,)
    1 for a positive pair, 0 for a negative one. The square root gets 1e-9 inside, as in the Met
    code, so that identical descriptors have a finite gradient.
    """
    squared = (first - second).pow(2).sum(dim=1)
    positive = positive.to(squared.dtype)
    hinge = F.relu(margin - (squared + 1e-9).sqrt()).pow(2)
    return (0.5 * (positive * squared + (1 - positive) * hinge)).mean()


def negative_cosine(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SimSiam's D(p, z) = -cos(p, stopgrad(z)), averaged over the batch."""
    return -F.cosine_similarity(prediction, target.detach(), dim=-1).mean()


def simsiam_loss(
    p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor
) -> torch.Tensor:
    """Symmetric SimSiam loss D(p1, z2) / 2 + D(p2, z1) / 2 (minimum -1)."""
    return 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)
