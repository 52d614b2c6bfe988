"""One place to build every network the project uses, with its initial weights.

- ``build_classifier``: the MAMe baselines (VGG11, BN-free ResNet18), ResNet50 or VGG19.
- ``build_backbone_trunk``: a convolutional trunk (everything before global pooling) and its
  output width, for descriptor extraction; torchvision ResNet18/ResNet50/VGG11/VGG19 or any timm
  model name (e.g. ``"resnet50.fb_swsl_ig1b_ft_in1k"``, ``"inception_v3"``,
  ``"legacy_xception"``) with weights from a local file, a torchvision weights name whose
  tensor names the timm model shares (Inception-V3), or a state dict in memory.
- ``build_transfer_classifier``: the transfer-learning paper's network, a trunk followed by 2-D
  global average pooling and a new soft-max layer (``TransferClassifier``); ``he_uniform_`` gives
  its from-scratch baseline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import timm
import torch
from torch import nn

from artrec.models.resnet import RESNET_LAYOUTS, resnet, resnet_trunk, resnet_trunk_channels
from artrec.models.simple_cnn import SimpleCNN
from artrec.models.vgg import VGG_CONFIGS, vgg, vgg_trunk_channels
from artrec.models.weights import (
    initialise_weights,
    is_scratch,
    load_state_dict_checked,
    read_checkpoint,
    resolve_state_dict,
)

TORCHVISION_ARCHS = (*VGG_CONFIGS, *RESNET_LAYOUTS)
HEAD_PREFIXES = {
    "vgg11": ("classifier.6.",),
    "vgg19": ("classifier.6.",),
    "resnet18": ("fc.",),
    "resnet50": ("fc.",),
    "simple_cnn": ("classifier.2.",),
}
# timm classifier heads (absent from a trunk built with num_classes=0) across model families;
# torchvision's Inception-V3 checkpoints also carry the auxiliary classifier.
TIMM_HEAD_PREFIXES = ("fc.", "head.", "classifier.", "head.fc.", "last_linear.", "AuxLogits.")
# The transfer-learning paper's names for networks built from timm (its Keras Xception is
# timm's "legacy_xception", ported from the same Keras weights).
TIMM_ALIASES = {"xception": "legacy_xception"}
IMAGENET_CLASSES = 1000


def build_classifier(
    arch: str,
    num_classes: int,
    width_mult: float = 1.0,
    init: str | os.PathLike[str] | None = None,
    batch_norm: bool = False,
    weights_dir: str | os.PathLike[str] | None = None,
    bn_mode: str = "fold",
    dropout: float = 0.5,
) -> nn.Module:
    """A classifier for ``num_classes`` classes with initial weights from ``init``.

    ``arch``: ``"vgg11"`` (paper: no BN, dropout 0.5), ``"resnet18"`` (paper:
    ``batch_norm=False``), ``"resnet50"`` or ``"simple_cnn"`` (the Tate poster's baseline,
    ``artrec.models.simple_cnn``; ``width_mult`` and ``batch_norm`` do not apply). ``init``: see ``artrec.models.weights``; ImageNet
    weights load into the BN-free ResNet by folding BN into the convolutions (``bn_mode="fold"``).
    The head is re-initialised for ``num_classes`` when the checkpoint's head has another shape.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if arch in VGG_CONFIGS:
        model: nn.Module = vgg(
            arch, num_classes, width_mult, batch_norm=batch_norm, dropout=dropout
        )
    elif arch in RESNET_LAYOUTS:
        model = resnet(arch, num_classes, width_mult, batch_norm=batch_norm)
    elif arch == "simple_cnn":  # the Tate poster's baseline (fixed widths, no batch norm)
        model = SimpleCNN(num_classes)
    else:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {TORCHVISION_ARCHS}")
    # What the load did (folded/dropped BN tensors, re-initialised head): ``initialise_weights``
    # returns it for a model built with ``init=None``.
    initialise_weights(model, init, HEAD_PREFIXES[arch], weights_dir, bn_mode)
    return model


def classifier_from_state(state: Mapping[str, Any], num_classes: int) -> nn.Module:
    """The classifier a training stage saved, in eval mode: ``build_classifier`` of its
    ``arch``, ``width_mult`` and ``batch_norm`` (absent: the papers' BN-free networks) with
    ``num_classes`` outputs, holding its ``state_dict``."""
    model = build_classifier(
        state["arch"],
        num_classes,
        state["width_mult"],
        batch_norm=state.get("batch_norm", False),
    )
    model.load_state_dict(state["state_dict"])
    return model.eval()


def build_backbone_trunk(
    arch: str,
    init: str | os.PathLike[str] | Mapping[str, torch.Tensor] | None = None,
    width_mult: float = 1.0,
    batch_norm: bool = True,
    weights_dir: str | os.PathLike[str] | None = None,
    bn_mode: str = "fold",
) -> tuple[nn.Module, int]:
    """Convolutional trunk (input image -> feature map) and its number of output channels.

    torchvision ``arch`` (``resnet18``, ``resnet50``, ``vgg11``) accepts every ``init`` spec; the
    trunk keeps the classifier's parameter names (``conv1.weight``, ``layer1.0...``,
    ``features.0...``). Retrieval uses standard ImageNet networks, hence ``batch_norm=True`` by
    default. Any other ``arch`` is a timm model name (or an alias in ``TIMM_ALIASES``), built
    without classifier or pooling; its ``init`` is ``None``, a local weights file, a state dict in
    memory, or a torchvision weights name whose tensors carry the timm model's names (timm's hub
    download is not used).
    """
    if arch in TORCHVISION_ARCHS:
        model = build_classifier(
            arch, IMAGENET_CLASSES, width_mult, init, batch_norm, weights_dir, bn_mode
        )
        if arch in VGG_CONFIGS:
            return _vgg_trunk(model)
        return resnet_trunk(model), resnet_trunk_channels(model)
    return _timm_trunk(TIMM_ALIASES.get(arch, arch), init, width_mult, batch_norm, weights_dir)


def _vgg_trunk(model: nn.Module) -> tuple[nn.Module, int]:
    trunk = nn.Sequential()
    trunk.add_module("features", model.features)
    return trunk, vgg_trunk_channels(model)


def _timm_trunk(
    name: str,
    init: str | os.PathLike[str] | Mapping[str, torch.Tensor] | None,
    width_mult: float,
    batch_norm: bool,
    weights_dir: str | os.PathLike[str] | None = None,
) -> tuple[nn.Module, int]:
    if width_mult != 1.0 or not batch_norm:
        raise ValueError(f"timm model {name!r}: width_mult and batch_norm cannot be changed")
    if not timm.is_model(name):
        raise ValueError(f"unknown architecture {name!r}: neither {TORCHVISION_ARCHS} nor timm")
    model = timm.create_model(name, pretrained=False, num_classes=0, global_pool="")
    if not is_scratch(init):
        if isinstance(init, Mapping):
            state, source = resolve_state_dict(init, weights_dir)
        elif os.path.isfile(init):
            state, source = read_checkpoint(init), str(init)
        else:
            state, source = resolve_state_dict(init, weights_dir)  # a torchvision weights name
        load_state_dict_checked(model, state, TIMM_HEAD_PREFIXES, source)
    return model, model.num_features


class TransferClassifier(nn.Module):
    """A trunk, 2-D global average pooling and a new soft-max layer (the paper's section 2.3:
    no fully connected layer between the last convolution block and the output). The soft-max
    itself is in the cross-entropy loss; ``forward`` returns logits."""

    def __init__(self, trunk: nn.Module, channels: int, num_classes: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled feature vector X that the soft-max layer classifies."""
        return torch.flatten(self.pool(self.trunk(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def build_transfer_classifier(
    arch: str,
    num_classes: int,
    init: str | os.PathLike[str] | Mapping[str, torch.Tensor] | None = None,
    *,
    width_mult: float = 1.0,
    batch_norm: bool = True,
    weights_dir: str | os.PathLike[str] | None = None,
) -> TransferClassifier:
    """The paper's network for ``arch`` with ``num_classes`` outputs, the trunk from ``init``.

    ``init`` is any spec of ``build_backbone_trunk`` (ImageNet weights, a file, a state dict), or
    the state dict of another ``TransferClassifier`` of the same trunk (keys ``trunk.*``, e.g. the
    network fine-tuned on the first collection, theta-hat): its trunk is loaded strictly and its
    soft-max layer, made for other classes, is left out. The new soft-max layer keeps torch's
    default initialisation.
    """
    if (
        isinstance(init, Mapping)
        and init
        and all(str(k).startswith(("trunk.", "fc.")) for k in init)
    ):
        trunk, channels = build_backbone_trunk(arch, None, width_mult, batch_norm, weights_dir)
        trunk.load_state_dict(
            {k.removeprefix("trunk."): v for k, v in init.items() if k.startswith("trunk.")}
        )
    else:
        trunk, channels = build_backbone_trunk(arch, init, width_mult, batch_norm, weights_dir)
    return TransferClassifier(trunk, channels, num_classes)


@torch.no_grad()
def he_uniform_(model: nn.Module) -> nn.Module:
    """Re-initialise every convolution and linear layer He-uniform (Keras' ``he_uniform``:
    U(-sqrt(6 / fan_in), +sqrt(6 / fan_in))) with zero biases: the paper's from-scratch
    baseline. Normalisation layers keep their unit/zero initialisation."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(module.weight, a=0.0, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model
