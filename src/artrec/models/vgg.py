"""VGG11 (configuration A) for variable-shape input, as in the MAMe baselines (paper section 4.1),
and VGG19 (configuration E), one of the transfer-learning paper's networks, built the same way.

torchvision's VGG already has what the paper added: an adaptive average pool to 7 x 7 between the
last convolution and the first fully connected layer (so any input of at least 32 x 32 works) and
dropout 0.5 on the fully connected layers. We only add ``width_mult``, which scales every
convolution and the hidden FC width; at ``width_mult=1.0`` the parameter names and shapes are
exactly torchvision's ``vgg11`` so its ImageNet weights load unchanged.

Deviation: the embedded 2-core CPU profile uses a narrow network (e.g. ``width_mult=0.25``); the
paper's network is ``width_mult=1.0``.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.vgg import VGG, cfgs, make_layers

VGG11_CONFIG = cfgs["A"]
# torchvision's layer configurations by architecture name.
VGG_CONFIGS: dict[str, list] = {"vgg11": VGG11_CONFIG, "vgg19": cfgs["E"]}
VGG_HIDDEN_FEATURES = 4096
VGG_POOL_SIZE = 7


def scale_channels(channels: int, width_mult: float) -> int:
    """Channel count ``channels * width_mult``, rounded, at least 1."""
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult}")
    return max(1, round(channels * width_mult))


def vgg11(
    num_classes: int,
    width_mult: float = 1.0,
    batch_norm: bool = False,
    dropout: float = 0.5,
) -> VGG:
    """torchvision VGG11 (configuration A) with conv and FC widths scaled by ``width_mult``.

    ``batch_norm=True`` gives VGG11-BN; the paper's baseline has no batch normalisation.
    """
    return vgg("vgg11", num_classes, width_mult, batch_norm, dropout)


def vgg(
    arch: str,
    num_classes: int,
    width_mult: float = 1.0,
    batch_norm: bool = False,
    dropout: float = 0.5,
) -> VGG:
    """torchvision VGG ``arch`` (a key of ``VGG_CONFIGS``) with widths scaled by ``width_mult``;
    at ``width_mult=1.0`` names and shapes are torchvision's, so its ImageNet weights load."""
    if arch not in VGG_CONFIGS:
        raise ValueError(f"unknown VGG {arch!r}; expected one of {sorted(VGG_CONFIGS)}")
    config = [v if v == "M" else scale_channels(v, width_mult) for v in VGG_CONFIGS[arch]]
    features = make_layers(config, batch_norm=batch_norm)
    # torchvision hard-codes a 512 * 7 * 7 -> 4096 -> 4096 head. Build it on the meta device (no
    # memory, no init time) and replace it by one of the same layout, hence the same parameter
    # names, with the scaled widths and torchvision's initialisation; the features stay real.
    with torch.device("meta"):
        model = VGG(features, num_classes=num_classes, dropout=dropout)
    hidden = scale_channels(VGG_HIDDEN_FEATURES, width_mult)
    model.classifier = nn.Sequential(
        nn.Linear(config[-2] * VGG_POOL_SIZE * VGG_POOL_SIZE, hidden),
        nn.ReLU(True),
        nn.Dropout(p=dropout),
        nn.Linear(hidden, hidden),
        nn.ReLU(True),
        nn.Dropout(p=dropout),
        nn.Linear(hidden, num_classes),
    )
    for layer in model.classifier:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0, 0.01)
            nn.init.constant_(layer.bias, 0)
    return model


def vgg_trunk_channels(model: VGG) -> int:
    """Number of channels the convolutional part of ``model`` outputs."""
    return [m for m in model.features if isinstance(m, nn.Conv2d)][-1].out_channels
