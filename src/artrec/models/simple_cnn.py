"""The Tate poster's baseline: a simple CNN of convolution, ReLU and max-pooling blocks.

The poster shows it only as a figure ("combines convolutional, relu, and maxpooling layers"),
so the sizes here are ours: three blocks of 3 x 3 convolution + ReLU + 2 x 2 max-pool
(``channels`` wide), an adaptive average pool to ``pool`` x ``pool`` (any input of at least
8 x 8 works), then two fully connected layers with a ReLU between them. The layout follows
torchvision's VGG (``features``, ``avgpool``, ``classifier``), so the project's VGG LRP rules
(``artrec.evaluation.lrp``) apply to it unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_CHANNELS: tuple[int, ...] = (16, 32, 64)
DEFAULT_HIDDEN = 128
DEFAULT_POOL = 3


class SimpleCNN(nn.Module):
    """conv-ReLU-maxpool blocks, adaptive average pool, two dense layers."""

    def __init__(
        self,
        num_classes: int,
        channels: tuple[int, ...] = DEFAULT_CHANNELS,
        hidden: int = DEFAULT_HIDDEN,
        pool: int = DEFAULT_POOL,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for width in channels:
            layers += [
                nn.Conv2d(previous, width, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=2, stride=2),
            ]
            previous = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((pool, pool))
        self.classifier = nn.Sequential(
            nn.Linear(previous * pool * pool, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
