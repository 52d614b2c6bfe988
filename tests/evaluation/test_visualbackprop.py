"""VisualBackProp: maps in [0, 1] of the input's size that light up where the active feature maps
come from."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from artrec.evaluation.visualbackprop import (
    _scale_up,
    default_layers,
    plot_saliency,
    visualbackprop,
)
from artrec.models.factory import build_transfer_classifier
from artrec.models.vgg import vgg


class _Blobs(nn.Module):
    """Two stride-2 stages of fixed filters that respond to bright pixels only."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.ReLU())
        with torch.no_grad():
            for conv in (self.stage1[0], self.stage2[0]):
                conv.weight.fill_(1.0 / conv.weight[0].numel())
                conv.bias.fill_(-0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage2(self.stage1(x))


def test_the_map_peaks_where_the_active_pixels_are() -> None:
    model = _Blobs()
    images = torch.zeros(2, 3, 32, 32)
    images[0, :, 2:8, 2:8] = 1.0  # top left
    images[1, :, 22:30, 20:28] = 1.0  # bottom right
    maps = visualbackprop(model, images, [model.stage1, model.stage2])
    assert maps.shape == (2, 32, 32)
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    assert maps[0, :10, :10].mean() > 5 * maps[0, 16:, 16:].mean()
    assert maps[1, 20:, 18:].mean() > 5 * maps[1, :12, :12].mean()


def test_scaling_up_a_constant_map_leaves_no_checkerboard() -> None:
    up = _scale_up(torch.ones(1, 1, 6, 6), (24, 24))
    assert up.shape == (1, 1, 24, 24)
    assert torch.allclose(up, torch.ones_like(up))


def test_default_layers_of_the_projects_networks() -> None:
    resnet = build_transfer_classifier("resnet18", 3, None, width_mult=0.125, batch_norm=False)
    layers = default_layers(resnet.trunk)
    assert layers[1] is resnet.trunk.layer1 and len(layers) == 5
    maps = visualbackprop(resnet, torch.randn(2, 3, 48, 48), layers)
    assert maps.shape == (2, 48, 48) and np.isfinite(maps).all()
    model = vgg("vgg11", 3, width_mult=1 / 16)
    assert len(default_layers(model)) == 8  # every ReLU of VGG11's features
    with pytest.raises(ValueError, match="no default VisualBackProp layers"):
        default_layers(nn.Linear(2, 2))


def test_the_figure_has_one_row_per_image() -> None:
    images = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    maps = np.random.default_rng(0).random((2, 16, 16))
    figure = plot_saliency(images, [maps, maps], ["theta", "theta-hat"], ["a", "b"])
    assert len(figure.axes) == 6
