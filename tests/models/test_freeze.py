"""Freezing early layers: gradients stop, weights stay, typos are refused."""

from __future__ import annotations

import pytest
import torch

from artrec.models.factory import build_classifier
from artrec.models.freeze import freeze


def test_frozen_layers_keep_their_weights_under_sgd() -> None:
    torch.manual_seed(0)
    model = build_classifier("resnet18", 3, width_mult=0.125)
    frozen = freeze(model, ["conv1", "layer1"])
    assert frozen and all(n.startswith(("conv1.", "layer1.")) for n in frozen)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = model(torch.randn(4, 3, 32, 32)).logsumexp(1).mean()
    loss.backward()
    optimizer.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert not changed & set(frozen)
    assert {"fc.weight", "fc.bias"} <= changed
    # (the BN-free ResNet zero-initialises residual branches, so not every other tensor moves)
    assert all(p.grad is None for n, p in model.named_parameters() if n in frozen)


def test_a_prefix_matching_nothing_is_an_error() -> None:
    model = build_classifier("simple_cnn", 3)
    with pytest.raises(ValueError, match="no parameters under \\['layer1'\\]"):
        freeze(model, ["features.0", "layer1"])
    assert all(p.requires_grad for p in model.parameters())
