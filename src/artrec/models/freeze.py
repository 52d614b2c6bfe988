"""Freezing the early layers of a network (the Tate poster's "frozen gradients")."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def freeze(model: nn.Module, prefixes: Sequence[str]) -> list[str]:
    """Stop the gradient of every parameter whose name starts with one of ``prefixes``
    (``["conv1", "layer1"]``: a ResNet's stem and first stage); returns the frozen names.

    A prefix matching no parameter is an error (a typo would silently train everything).
    The optimizer skips parameters without a gradient, so frozen weights keep their initial
    values; the layers still run in the model's train/eval mode.
    """
    names = [name for name, _ in model.named_parameters()]
    unmatched = [p for p in prefixes if not any(n == p or n.startswith(p + ".") for n in names)]
    if unmatched:
        roots = sorted({n.split(".")[0] for n in names})
        raise ValueError(f"no parameters under {unmatched}; the model's top layers are {roots}")
    frozen = []
    for name, parameter in model.named_parameters():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            parameter.requires_grad_(False)
            frozen.append(name)
    return frozen
