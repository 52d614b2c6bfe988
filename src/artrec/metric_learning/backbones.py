"""The embedder a Met training starts from, and trained embedders saved and rebuilt.

Starting points (``backbone``):
- ``synthetic``: a ResNet18 with batch norm that this project pretrained on photographs of
  synthetic objects outside the Met collection (``train_met_start``,
  :func:`pretraining_embedder`), standing in for ImageNet weights in the embedded default;
- ``mame``: the project's MAMe-trained BN-free ResNet18 (the ``train_mame`` output); inputs
  normalised with mean 0.5 / std 0.5 as in its training;
- anything else: ``arch`` (torchvision or timm name) built by
  :func:`artrec.models.factory.build_backbone_trunk` with ``init`` (e.g. ``IMAGENET1K_V1``: the
  paper's R18IN), ImageNet normalisation.

A trained embedder is saved as a plain mapping (tensors and strings, read with
``torch.load(weights_only=True)``): how to rebuild its trunk (``trunk``), the embedder's state
dict, the FC projector's width, the normalisation, a description and what the caller adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from artrec.models.factory import build_backbone_trunk, build_classifier
from artrec.models.resnet import resnet_trunk, resnet_trunk_channels
from artrec.retrieval.embedder import IMAGENET_MEAN, IMAGENET_STD, MAME_MEAN, MAME_STD, Embedder


def _trunk(spec: Mapping[str, Any], weights: Any = None) -> tuple[nn.Module, int]:
    """A trunk from its recipe; ``weights`` only where the recipe loads them (see callers).

    Kind ``mame``: a ResNet classifier of this project (``artrec.models.factory``), BN-free
    unless the recipe says ``batch_norm``; otherwise a torchvision/timm trunk."""
    if spec["kind"] == "mame":
        classifier = build_classifier(
            spec["arch"],
            int(spec["num_classes"]),
            width_mult=float(spec["width_mult"]),
            batch_norm=bool(spec.get("batch_norm", False)),
        )
        if weights is not None:
            classifier.load_state_dict(weights)
        return resnet_trunk(classifier), resnet_trunk_channels(classifier)
    return build_backbone_trunk(spec["arch"], init=weights)


def pretraining_embedder(width_mult: float, gem_p: float) -> tuple[Embedder, dict[str, Any]]:
    """(randomly initialised embedder, trunk recipe) of the ``synthetic`` starting point: a
    ResNet18 with batch norm at ``width_mult`` of the paper's width (seed before calling)."""
    spec = {
        "kind": "mame",
        "arch": "resnet18",
        "num_classes": 1,
        "width_mult": float(width_mult),
        "batch_norm": True,
    }
    trunk, dim = _trunk(spec)
    return Embedder(trunk, dim, gem_p=gem_p, mean=MAME_MEAN, std=MAME_STD), spec


def start_embedder(
    backbone: str,
    arch: str,
    init: str | None,
    gem_p: float,
    mame_model: Mapping[str, Any] | None,
    pretrained_model: Mapping[str, Any] | None = None,
) -> tuple[Embedder, str, dict[str, Any]]:
    """(embedder without projector, description, trunk recipe) of a starting point.

    ``mame_model``: the ``train_mame`` output (backbone ``mame``); ``pretrained_model``: the
    ``train_met_start`` output (backbone ``synthetic``, saved by :func:`embedder_state`)."""
    if backbone == "synthetic":
        if pretrained_model is None:
            raise ValueError("the backbone is 'synthetic' but no pretrained model was given")
        pretrained = load_embedder(pretrained_model)
        # The pretraining's FC layer is dropped: every Met method starts from the trunk and
        # initialises its own FC layer from the whitening of the trunk's descriptors.
        embedder = Embedder(
            pretrained.trunk,
            pretrained.trunk_dim,
            gem_p=gem_p,
            mean=pretrained.mean,
            std=pretrained.std,
        )
        return embedder, str(pretrained_model["description"]), dict(pretrained_model["trunk"])
    if backbone == "mame":
        if mame_model is None:
            raise ValueError("the backbone is 'mame' but no MAMe model was given")
        if mame_model["arch"] != "resnet18":
            raise ValueError(f"the MAMe backbone must be a resnet18, got {mame_model['arch']}")
        spec = {
            "kind": "mame",
            "arch": "resnet18",
            "num_classes": int(mame_model["num_classes"]),
            "width_mult": float(mame_model["width_mult"]),
        }
        trunk, dim = _trunk(spec, mame_model["state_dict"])
        description = (
            f"ResNet18 (BN-free, width x{mame_model['width_mult']}) trained by this project on "
            f"MAMe {mame_model['input_version'].upper()} ({len(mame_model['classes'])} classes, "
            f"epoch {mame_model['best_epoch']}); stands in for R18IN"
        )
        return Embedder(trunk, dim, gem_p=gem_p, mean=MAME_MEAN, std=MAME_STD), description, spec
    spec = {"kind": "torchvision", "arch": arch}
    trunk, dim = _trunk(spec, init)
    description = f"{arch} ({init or 'random initialisation'})"
    embedder = Embedder(trunk, dim, gem_p=gem_p, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return embedder, description, spec


def embedder_state(
    embedder: Embedder, trunk: Mapping[str, Any], description: str, **extra: Any
) -> dict[str, Any]:
    """A trained embedder as a mapping that :func:`load_embedder` rebuilds."""
    return {
        "trunk": dict(trunk),
        "trunk_dim": embedder.trunk_dim,
        "projector_dim": embedder.projector.out_features if embedder.projector is not None else 0,
        "mean": list(embedder.mean),
        "std": list(embedder.std),
        "state_dict": {k: v.detach().cpu().clone() for k, v in embedder.state_dict().items()},
        "description": description,
        **extra,
    }


def load_embedder(state: Mapping[str, Any]) -> Embedder:
    """Rebuild an embedder saved by :func:`embedder_state` (eval mode)."""
    trunk, dim = _trunk(state["trunk"])
    if dim != int(state["trunk_dim"]):
        raise ValueError(f"saved trunk width {state['trunk_dim']} != rebuilt trunk's {dim}")
    embedder = Embedder(
        trunk,
        dim,
        projector_dim=int(state["projector_dim"]) or None,
        mean=state["mean"],
        std=state["std"],
    )
    embedder.load_state_dict(state["state_dict"])
    return embedder.eval()
