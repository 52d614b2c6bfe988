"""The losses against hand-computed values (appendix A.1 definitions)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from artrec.metric_learning.losses import (
    classification_loss,
    contrastive_loss,
    negative_cosine,
    simsiam_loss,
)


def test_contrastive_loss_matches_the_met_code_by_hand():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[0.0, 1.0], [0.0, 1.0], [-1.0, 0.0]])
    positive = torch.tensor([1, 0, 0])
    # d = sqrt(2) for the first two pairs, 2 for the third; margin 1.8:
    # positive: 0.5 * 2 = 1; negative: 0.5 * (1.8 - 1.41421)^2; negative beyond margin: 0
    expected = (1.0 + 0.5 * (1.8 - math.sqrt(2)) ** 2 + 0.0) / 3
    assert contrastive_loss(a, b, positive, margin=1.8).item() == pytest.approx(expected, rel=1e-6)


def test_contrastive_loss_of_identical_descriptors_has_finite_gradients():
    a = torch.tensor([[0.6, 0.8]], requires_grad=True)
    loss = contrastive_loss(a, a.detach().clone(), torch.tensor([0]), margin=1.8)
    loss.backward()
    assert loss.item() == pytest.approx(0.5 * 1.8**2, rel=1e-4)
    assert torch.isfinite(a.grad).all()


def test_negative_cosine_stops_the_gradient_of_the_target():
    p = torch.tensor([[1.0, 0.0]], requires_grad=True)
    z = torch.tensor([[1.0, 1.0]], requires_grad=True)
    loss = negative_cosine(p, z)
    loss.backward()
    assert loss.item() == pytest.approx(-1 / math.sqrt(2), rel=1e-6)
    assert z.grad is None
    assert simsiam_loss(p, p, p, p).item() == pytest.approx(-1.0)


def _set_prototypes(loss, prototypes: np.ndarray) -> None:
    with torch.no_grad():
        loss.W.copy_(torch.tensor(prototypes.T, dtype=torch.float32))


def test_cosine_softmax_is_cross_entropy_of_30_times_the_cosines():
    loss = classification_loss("ce", 3, 2, temperature=30.0)
    _set_prototypes(loss, np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]]))
    x = torch.tensor([[3.0, 4.0], [1.0, -1.0]])
    labels = torch.tensor([1, 2])
    cosines = F.normalize(x, dim=1) @ F.normalize(loss.W, dim=0)
    expected = F.cross_entropy(30.0 * cosines, labels)
    assert loss(x, labels).item() == pytest.approx(expected.item(), rel=1e-5)


def test_arcface_adds_the_angular_margin_to_the_true_class_only():
    loss = classification_loss("arcface", 2, 2, scale=64.0, margin=0.5)
    _set_prototypes(loss, np.array([[1.0, 0.0], [0.0, 1.0]]))
    theta = 0.3
    x = torch.tensor([[math.cos(theta), math.sin(theta)]])
    # true class 0 at angle 0.3: logit 64 cos(0.8); class 1 at angle pi/2 - 0.3: 64 sin(0.3)
    logits = torch.tensor([[64 * math.cos(theta + 0.5), 64 * math.sin(theta)]])
    expected = F.cross_entropy(logits, torch.tensor([0])).item()
    assert loss(x, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-4)


def test_arcface_keeps_the_logit_decreasing_beyond_pi_minus_the_margin():
    loss = classification_loss("arcface", 2, 2, scale=1.0, margin=0.5)
    _set_prototypes(loss, np.array([[1.0, 0.0], [0.0, 1.0]]))
    theta = math.pi - 0.2  # theta + m > pi: cos(theta) - m sin(m)
    x = torch.tensor([[math.cos(theta), math.sin(theta)]])
    logits = torch.tensor([[math.cos(theta) - 0.5 * math.sin(0.5), math.sin(theta)]])
    expected = F.cross_entropy(logits, torch.tensor([0])).item()
    assert loss(x, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-4)


def test_class_weights_weigh_each_image_by_its_class():
    weights = torch.tensor([2.0, 0.5])
    weighted = classification_loss("ce", 2, 2, class_weights=weights)
    plain = classification_loss("ce", 2, 2)
    for loss in (weighted, plain):
        _set_prototypes(loss, np.array([[1.0, 0.0], [0.0, 1.0]]))
    x = torch.tensor([[1.0, 0.2], [0.3, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    per_image = F.cross_entropy(30.0 * F.normalize(x, dim=1), labels, reduction="none")
    expected = (per_image * weights[labels]).mean().item()
    assert weighted(x, labels).item() == pytest.approx(expected, rel=1e-5)
    assert plain(x, labels).item() == pytest.approx(per_image.mean().item(), rel=1e-5)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="arcface"):
        classification_loss("triplet", 2, 2)
