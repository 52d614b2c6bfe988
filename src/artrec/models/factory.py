"""One place to build every network the project uses, with its initial weights.

- ``build_classifier``: the MAMe baselines (VGG11, BN-free ResNet18), or ResNet50.
- ``build_backbone_trunk``: a convolutional trunk (everything before global pooling) and its
  output width, for descriptor extraction; torchvision ResNet18/ResNet50/VGG11 or any timm model
  name (e.g. ``"resnet50.fb_swsl_ig1b_ft_in1k"``) with weights from a local file.
"""

from __future__ import annotations

import os

import timm
from torch import nn

from artrec.models.resnet import RESNET_LAYOUTS, resnet, resnet_trunk, resnet_trunk_channels
from artrec.models.vgg import vgg11, vgg_trunk_channels
from artrec.models.weights import (
    WeightLoadReport,
    initialise_weights,
    is_scratch,
    load_state_dict_checked,
    read_checkpoint,
)

TORCHVISION_ARCHS = ("vgg11", *RESNET_LAYOUTS)
HEAD_PREFIXES = {"vgg11": ("classifier.6.",), "resnet18": ("fc.",), "resnet50": ("fc.",)}
# timm classifier heads (absent from a trunk built with num_classes=0) across model families.
TIMM_HEAD_PREFIXES = ("fc.", "head.", "classifier.", "head.fc.", "last_linear.")
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
    ``batch_norm=False``) or ``"resnet50"``. ``init``: see ``artrec.models.weights``; ImageNet
    weights load into the BN-free ResNet by folding BN into the convolutions (``bn_mode="fold"``).
    The head is re-initialised for ``num_classes`` when the checkpoint's head has another shape.
    """
    model, _ = build_classifier_with_report(
        arch, num_classes, width_mult, init, batch_norm, weights_dir, bn_mode, dropout
    )
    return model


def build_classifier_with_report(
    arch: str,
    num_classes: int,
    width_mult: float = 1.0,
    init: str | os.PathLike[str] | None = None,
    batch_norm: bool = False,
    weights_dir: str | os.PathLike[str] | None = None,
    bn_mode: str = "fold",
    dropout: float = 0.5,
) -> tuple[nn.Module, WeightLoadReport | None]:
    """``build_classifier`` that also returns what the weight load did (None for scratch)."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if arch == "vgg11":
        model: nn.Module = vgg11(num_classes, width_mult, batch_norm=batch_norm, dropout=dropout)
    elif arch in RESNET_LAYOUTS:
        model = resnet(arch, num_classes, width_mult, batch_norm=batch_norm)
    else:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {TORCHVISION_ARCHS}")
    report = initialise_weights(model, init, HEAD_PREFIXES[arch], weights_dir, bn_mode)
    return model, report


def build_backbone_trunk(
    arch: str,
    init: str | os.PathLike[str] | None = None,
    width_mult: float = 1.0,
    batch_norm: bool = True,
    weights_dir: str | os.PathLike[str] | None = None,
    bn_mode: str = "fold",
) -> tuple[nn.Module, int]:
    """Convolutional trunk (input image -> feature map) and its number of output channels.

    torchvision ``arch`` (``resnet18``, ``resnet50``, ``vgg11``) accepts every ``init`` spec; the
    trunk keeps the classifier's parameter names (``conv1.weight``, ``layer1.0...``,
    ``features.0...``). Retrieval uses standard ImageNet networks, hence ``batch_norm=True`` by
    default. Any other ``arch`` is a timm model name, built without classifier or pooling; its
    ``init`` must be ``None`` or a local weights file (timm's hub download is not used).
    """
    if arch in TORCHVISION_ARCHS:
        model = build_classifier(
            arch, IMAGENET_CLASSES, width_mult, init, batch_norm, weights_dir, bn_mode
        )
        if arch == "vgg11":
            return _vgg_trunk(model)
        return resnet_trunk(model), resnet_trunk_channels(model)
    return _timm_trunk(arch, init, width_mult, batch_norm)


def _vgg_trunk(model: nn.Module) -> tuple[nn.Module, int]:
    trunk = nn.Sequential()
    trunk.add_module("features", model.features)
    return trunk, vgg_trunk_channels(model)


def _timm_trunk(
    name: str, init: str | os.PathLike[str] | None, width_mult: float, batch_norm: bool
) -> tuple[nn.Module, int]:
    if width_mult != 1.0 or not batch_norm:
        raise ValueError(f"timm model {name!r}: width_mult and batch_norm cannot be changed")
    if not timm.is_model(name):
        raise ValueError(f"unknown architecture {name!r}: neither {TORCHVISION_ARCHS} nor timm")
    model = timm.create_model(name, pretrained=False, num_classes=0, global_pool="")
    if not is_scratch(init):
        load_state_dict_checked(model, read_checkpoint(init), TIMM_HEAD_PREFIXES, str(init))
    return model, model.num_features
