"""The Tate poster's simple CNN baseline, built by the model factory."""

from __future__ import annotations

import torch

from artrec.models.factory import build_classifier
from artrec.models.simple_cnn import SimpleCNN


def test_any_input_size_gives_one_logit_per_class() -> None:
    model = build_classifier("simple_cnn", 7)
    assert isinstance(model, SimpleCNN)
    for size in (16, 56, 224):
        assert model(torch.zeros(2, 3, size, size)).shape == (2, 7)


def test_layers_are_conv_relu_maxpool_blocks_then_dense() -> None:
    model = SimpleCNN(3, channels=(4, 8))
    kinds = [type(m).__name__ for m in model.features]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d"] * 2
    assert [type(m).__name__ for m in model.classifier] == ["Linear", "ReLU", "Linear"]
    assert model.classifier[2].out_features == 3
