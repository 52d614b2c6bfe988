"""Choosing the torch device from a parameter."""

from __future__ import annotations

import torch


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` picks CUDA when a GPU is visible, else the CPU; anything else is passed to torch."""
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
