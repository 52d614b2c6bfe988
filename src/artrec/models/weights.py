"""Initial weights: from scratch, torchvision's ImageNet weights, or a local checkpoint.

An ``init`` spec is one of
- ``None`` or ``"scratch"``: keep the random initialisation;
- a torchvision weights name such as ``"ResNet18_Weights.IMAGENET1K_V1"``: fetched by torchvision's
  own machinery into ``weights_dir`` (default: ``$TORCH_HOME/hub/checkpoints``); a file already
  there under torchvision's file name is used without any network access;
- a path to a local checkpoint: a bare state dict, or a dict holding it under ``"model"`` or
  ``"state_dict"`` (``.safetensors`` files are read with safetensors);
- a state dict already in memory (a mapping of tensors, e.g. a network this project trained,
  loaded through the Kedro catalog).

Loading is strict: every parameter of the model must be filled and every tensor of the file used,
except for the classifier head, which is re-initialised when its shape differs (e.g. 1000 ImageNet
classes vs 29 MAMe media). Anything else is an error that names the offending keys.

BN-free models (the paper's ResNet18) receive BN checkpoints by folding each BN into the
convolution before it (``fold_batchnorm``), so the BN-free network computes exactly the function
the BN network computes in eval mode. The alternative, ``bn_mode="drop"``, discards the BN tensors
and keeps zero conv biases; it changes the function (activations are no longer normalised) and
is offered only for comparison.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights
from torchvision.models import get_weight

# Inception_V3_Weights, ViT_B_16_Weights: names may hold underscores before "_Weights".
TORCHVISION_WEIGHTS_NAME = re.compile(r"^[A-Za-z0-9_]+_Weights\.[A-Za-z0-9_]+$")
BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
BN_MODES = ("fold", "drop")
# torchvision and timm build their BatchNorm2d layers with the PyTorch default eps.
DEFAULT_BN_EPS = 1e-5


@dataclass
class WeightLoadReport:
    """What a load did: where from, how many tensors were used, what was left at its init."""

    source: str
    loaded: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)
    folded_batchnorms: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def is_scratch(init: str | os.PathLike[str] | Mapping[str, torch.Tensor] | None) -> bool:
    """True when ``init`` asks for random initialisation."""
    if isinstance(init, Mapping):
        return False
    return init is None or str(init).strip().lower() in ("", "scratch", "none", "random")


def torchvision_weights_file(weights_name: str, weights_dir: str | os.PathLike[str] | None) -> Path:
    """Where torchvision looks for (and downloads) the file of ``weights_name``."""
    url = get_weight(weights_name).url
    directory = Path(weights_dir) if weights_dir else Path(torch.hub.get_dir()) / "checkpoints"
    return directory / os.path.basename(urlparse(url).path)


def torchvision_state_dict(
    weights_name: str, weights_dir: str | os.PathLike[str] | None = None
) -> dict[str, torch.Tensor]:
    """State dict of a torchvision weights enum, read from (or downloaded into) ``weights_dir``."""
    try:
        weights = get_weight(weights_name)
    except (ValueError, KeyError) as error:
        raise ValueError(f"unknown torchvision weights {weights_name!r}: {error}") from error
    try:
        # check_hash applies to downloads: torchvision file names carry the hash prefix.
        return weights.get_state_dict(
            model_dir=str(weights_dir) if weights_dir else None,
            map_location="cpu",
            progress=False,
            check_hash=True,
            weights_only=True,
        )
    except OSError as error:
        expected = torchvision_weights_file(weights_name, weights_dir)
        raise RuntimeError(
            f"could not obtain {weights_name} from {weights.url} ({error}); without network access"
            f" place the file at {expected}"
        ) from error


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Tensors of a local checkpoint file (safely: never a plain unpickle)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: object = load_file(str(path), device="cpu")
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise ValueError(f"checkpoint {path} cannot be read as tensors: {error}") from error
    if isinstance(state, Mapping):
        for key in ("model", "state_dict"):
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not state:
        raise ValueError(f"checkpoint {path} holds no state dict")
    not_tensors = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise ValueError(f"checkpoint {path}: entries that are not tensors: {not_tensors[:10]}")
    state = dict(state)
    # Checkpoints saved from nn.DataParallel / DistributedDataParallel prefix every key.
    if all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def resolve_state_dict(
    init: str | os.PathLike[str] | Mapping[str, torch.Tensor],
    weights_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, torch.Tensor], str]:
    """State dict and a human-readable source for a non-scratch ``init`` spec."""
    if isinstance(init, Mapping):
        not_tensors = [k for k, v in init.items() if not isinstance(v, torch.Tensor)]
        if not init or not_tensors:
            raise ValueError(f"an in-memory init must map names to tensors; not: {not_tensors[:5]}")
        return dict(init), "a state dict in memory"
    spec = str(init)
    if Path(spec).is_file():
        return read_checkpoint(spec), spec
    if TORCHVISION_WEIGHTS_NAME.match(spec):
        return torchvision_state_dict(spec, weights_dir), spec
    raise ValueError(
        f"init {spec!r} is neither 'scratch', a torchvision weights name such as"
        " 'ResNet18_Weights.IMAGENET1K_V1', nor an existing checkpoint file"
    )


def batchnorm_conv_pairs(state_dict: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """Map each BN prefix in a torchvision/timm ResNet state dict to the conv prefix before it.

    ResNets name the BN after a conv by convention: ``bn<k>`` follows ``conv<k>`` in the same
    module and ``downsample.1`` follows ``downsample.0``.
    """
    pairs = {}
    for key in state_dict:
        if not key.endswith(".running_mean"):
            continue
        bn = key.removesuffix(".running_mean")
        parent, _, leaf = bn.rpartition(".")
        if re.fullmatch(r"bn\d+", leaf):
            conv_leaf = "conv" + leaf[2:]
        elif leaf == "1" and parent.endswith("downsample"):
            conv_leaf = "0"
        else:
            raise ValueError(f"cannot tell which convolution batch norm {bn!r} follows")
        conv = f"{parent}.{conv_leaf}" if parent else conv_leaf
        if f"{conv}.weight" not in state_dict:
            raise ValueError(f"batch norm {bn!r} has no convolution {conv!r} to fold into")
        pairs[bn] = conv
    return pairs


def fold_batchnorm(
    state_dict: Mapping[str, torch.Tensor], eps: float = DEFAULT_BN_EPS
) -> dict[str, torch.Tensor]:
    """Fold every BN (eval-mode affine + running statistics) into the convolution before it.

    conv(x) then BN equals a convolution with weight ``w * g / sqrt(var + eps)`` and bias
    ``(b - mean) * g / sqrt(var + eps) + beta``; the BN tensors are removed and every folded conv
    gains a ``.bias``.
    """
    folded = dict(state_dict)
    for bn, conv in batchnorm_conv_pairs(state_dict).items():
        weight, bias = fuse_conv_bn_weights(
            state_dict[f"{conv}.weight"],
            state_dict.get(f"{conv}.bias"),
            state_dict[f"{bn}.running_mean"],
            state_dict[f"{bn}.running_var"],
            eps,
            state_dict.get(f"{bn}.weight"),
            state_dict.get(f"{bn}.bias"),
        )
        folded[f"{conv}.weight"] = weight.detach()
        folded[f"{conv}.bias"] = bias.detach()
        for suffix in BN_SUFFIXES:
            folded.pop(f"{bn}.{suffix}", None)
    return folded


def _drop_batchnorm(state_dict: Mapping[str, torch.Tensor]) -> tuple[dict, list[str]]:
    pairs = batchnorm_conv_pairs(state_dict)
    dropped = [f"{bn}.{s}" for bn in pairs for s in BN_SUFFIXES if f"{bn}.{s}" in state_dict]
    dropped_set = set(dropped)
    kept = {k: v for k, v in state_dict.items() if k not in dropped_set}
    return kept, dropped


def _under(key: str, prefixes: Sequence[str]) -> bool:
    return any(key.startswith(prefix) for prefix in prefixes)


def load_state_dict_checked(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    head_prefixes: Sequence[str],
    source: str = "state dict",
    bn_mode: str = "fold",
    bn_eps: float = DEFAULT_BN_EPS,
) -> WeightLoadReport:
    """Load ``state_dict`` into ``model``; fail on any mismatch outside the classifier head.

    Head tensors (keys under ``head_prefixes``) that are missing, unexpected or of another shape
    leave the model's freshly initialised head in place and are listed in the report.
    """
    if bn_mode not in BN_MODES:
        raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
    report = WeightLoadReport(source=source)
    model_state = model.state_dict()
    has_bn_stats = any(k.endswith(".running_mean") for k in state_dict)
    model_has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    allowed_missing: set[str] = set()
    if has_bn_stats and not model_has_bn:
        pairs = batchnorm_conv_pairs(state_dict)
        if bn_mode == "fold":
            state_dict = fold_batchnorm(state_dict, eps=bn_eps)
            report.folded_batchnorms = sorted(pairs)
        else:
            state_dict, report.dropped = _drop_batchnorm(state_dict)
            # The BN-free model's conv biases have no counterpart; they keep their zero init.
            allowed_missing = {f"{conv}.bias" for conv in pairs.values()}

    missing = [k for k in model_state if k not in state_dict]
    unexpected = [k for k in state_dict if k not in model_state]
    mismatched = [
        k for k in model_state if k in state_dict and state_dict[k].shape != model_state[k].shape
    ]
    errors = []
    bad_missing = [k for k in missing if not _under(k, head_prefixes) and k not in allowed_missing]
    bad_unexpected = [k for k in unexpected if not _under(k, head_prefixes)]
    bad_shapes = [k for k in mismatched if not _under(k, head_prefixes)]
    if bad_missing:
        errors.append(f"missing from the checkpoint: {bad_missing[:10]} ({len(bad_missing)})")
    if bad_unexpected:
        errors.append(f"not in the model: {bad_unexpected[:10]} ({len(bad_unexpected)})")
    if bad_shapes:
        shapes = [
            f"{k} {tuple(state_dict[k].shape)} vs {tuple(model_state[k].shape)}" for k in bad_shapes
        ]
        errors.append(f"shape mismatch (checkpoint vs model): {shapes[:10]}")
    if errors:
        raise ValueError(f"cannot load weights from {source}: " + "; ".join(errors))

    to_load = {k: v for k, v in state_dict.items() if k in model_state and k not in mismatched}
    model.load_state_dict(to_load, strict=False)
    report.loaded = sorted(to_load)
    report.reinitialised = sorted(
        k for k in model_state if _under(k, head_prefixes) and k not in to_load
    )
    report.reinitialised += sorted(k for k in allowed_missing if k in model_state)
    return report


def initialise_weights(
    model: nn.Module,
    init: str | os.PathLike[str] | Mapping[str, torch.Tensor] | None,
    head_prefixes: Sequence[str],
    weights_dir: str | os.PathLike[str] | None = None,
    bn_mode: str = "fold",
) -> WeightLoadReport | None:
    """Apply an ``init`` spec to ``model`` in place; ``None`` when it stays random."""
    if is_scratch(init):
        return None
    state_dict, source = resolve_state_dict(init, weights_dir)
    return load_state_dict_checked(model, state_dict, head_prefixes, source, bn_mode)
