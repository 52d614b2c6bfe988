"""ResNet18/50 on torchvision, optionally without batch normalisation (MAMe paper section 4.1).

The MAMe baselines removed batch normalisation from ResNet18 because, with the batch size of one
that high-resolution variable-shape (HR&VS) input forces, it made training unstable. Here every
BN layer becomes an ``nn.Identity`` and, since nothing re-centres the activations any more, every
convolution gets a bias (which is also where a folded ImageNet BN goes, see ``weights.py``).
torchvision's ResNet already ends in an adaptive average pool to 1 x 1, so any input of at least
32 x 32 works.

``width_mult`` scales every stage's channel count (deviation used only by the embedded 2-core CPU
profile); at ``width_mult=1.0`` with ``batch_norm=True`` names and shapes equal torchvision's.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from artrec.models.vgg import scale_channels

RESNET_LAYOUTS: dict[str, tuple[type[BasicBlock | Bottleneck], list[int]]] = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
}
STEM_CHANNELS = 64


def _no_norm(num_features: int) -> nn.Module:
    return nn.Identity()


class WidthScaledResNet(ResNet):
    """torchvision's ResNet with every stage (stem included) ``width_mult`` times as wide."""

    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        layers: list[int],
        num_classes: int,
        width_mult: float = 1.0,
        norm_layer: Callable[[int], nn.Module] | None = None,
    ) -> None:
        self._width_mult = width_mult
        super().__init__(block, layers, num_classes=num_classes, norm_layer=norm_layer)
        # After layer4, ``inplanes`` is the trunk's output width (512 * expansion at width 1).
        self.fc = nn.Linear(self.inplanes, num_classes)

    def _make_layer(
        self,
        block: type[BasicBlock | Bottleneck],
        planes: int,
        blocks: int,
        stride: int = 1,
        dilate: bool = False,
    ) -> nn.Sequential:
        if planes == STEM_CHANNELS:
            # layer1 is built right after torchvision's fixed 64-channel stem; narrow the stem too.
            self.inplanes = scale_channels(STEM_CHANNELS, self._width_mult)
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = self._norm_layer(self.inplanes)
        return super()._make_layer(
            block, scale_channels(planes, self._width_mult), blocks, stride, dilate
        )


def resnet(
    arch: str,
    num_classes: int,
    width_mult: float = 1.0,
    batch_norm: bool = False,
) -> WidthScaledResNet:
    """ResNet18 or ResNet50; ``batch_norm=False`` is the paper's BN-free variant (Fixup init)."""
    if arch not in RESNET_LAYOUTS:
        raise ValueError(f"unknown ResNet {arch!r}; expected one of {sorted(RESNET_LAYOUTS)}")
    block, layers = RESNET_LAYOUTS[arch]
    if batch_norm:
        # torchvision's own init runs after _make_layer, so it covers the rebuilt stem too.
        return WidthScaledResNet(block, layers, num_classes, width_mult)
    model = WidthScaledResNet(block, layers, num_classes, width_mult, norm_layer=_no_norm)
    _add_conv_biases(model)
    _init_without_batchnorm(model)
    return model


def _add_conv_biases(model: nn.Module) -> None:
    """Give every bias-free convolution a (zero) bias, keeping its name and weight."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d) and child.bias is None:
                biased = nn.Conv2d(
                    child.in_channels,
                    child.out_channels,
                    child.kernel_size,
                    stride=child.stride,
                    padding=child.padding,
                    dilation=child.dilation,
                    groups=child.groups,
                    bias=True,
                )
                with torch.no_grad():
                    biased.weight.copy_(child.weight)
                    biased.bias.zero_()
                setattr(parent, name, biased)


def residual_branch_convs(block: nn.Module) -> list[nn.Conv2d]:
    """The convolutions on a block's residual branch, in order (not the shortcut projection)."""
    names = ["conv1", "conv2", "conv3"] if isinstance(block, Bottleneck) else ["conv1", "conv2"]
    return [getattr(block, name) for name in names]


@torch.no_grad()
def _init_without_batchnorm(model: WidthScaledResNet) -> None:
    """Fixup initialisation (Zhang, Dauphin and Ma, ICLR 2019) for the BN-free ResNet.

    Without BN nothing rescales the residual stream, so with a plain He init each block adds a
    branch of roughly unit variance and the activations (and gradients) grow with depth. Fixup
    fixes this at initialisation: the last convolution of every residual branch and the classifier
    start at zero, so every block starts as the identity (or its shortcut projection) and the
    network output starts at zero; the other branch convolutions are He(fan-in) initialised and
    scaled by L^(-1/(2m-2)) (L blocks, m convolutions per branch) so that, once the zero layers
    move, each branch's update to the stream stays O(1/L). Gradients still reach every layer after
    the first step. We keep torchvision's architecture and let the conv biases play the role of
    Fixup's scalar biases (its scalar multipliers are left out).
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]
    for block in blocks:
        convs = residual_branch_convs(block)
        branch_scale = math.pow(len(blocks), -1.0 / (2 * len(convs) - 2))
        for conv in convs[:-1]:
            conv.weight.mul_(branch_scale)
        nn.init.zeros_(convs[-1].weight)
    nn.init.zeros_(model.fc.weight)
    nn.init.zeros_(model.fc.bias)


def resnet_trunk(model: ResNet) -> nn.Sequential:
    """The convolutional part of ``model`` (everything before global pooling), names kept."""
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    return nn.Sequential(OrderedDict((name, getattr(model, name)) for name in names))


def resnet_trunk_channels(model: ResNet) -> int:
    """Number of channels the trunk of ``model`` outputs (the classifier's input width)."""
    return model.fc.in_features
