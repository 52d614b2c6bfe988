"""Generalized-mean (GeM) pooling (Radenovic, Tolias and Chum, PAMI 2019).

f_i = (mean over the feature map C_i of c^p)^(1/p). p = 1 is average pooling, p -> inf max pooling;
the Met baselines use p = 3, learnable when the backbone is trained.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gem(x: torch.Tensor, p: float | torch.Tensor = 3.0, eps: float = 1e-6) -> torch.Tensor:
    """GeM-pool a (B, C, H, W) feature map to (B, C).

    Activations are clamped at ``eps`` first: a fractional power of a negative number is undefined
    and a zero activation would give an infinite gradient for p.
    """
    if x.ndim != 4:
        raise ValueError(f"gem expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    pooled = F.adaptive_avg_pool2d(x.clamp(min=eps).pow(p), 1)
    return pooled.pow(1.0 / p).flatten(1)


class GeM(nn.Module):
    """GeM pooling layer; ``learnable=True`` makes p an ``nn.Parameter`` (trained with the net)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6, learnable: bool = True) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f"GeM power p must be positive, got {p}")
        self.eps = eps
        initial = torch.tensor([float(p)])
        if learnable:
            self.p = nn.Parameter(initial)
        else:
            self.register_buffer("p", initial)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gem(x, p=self.p, eps=self.eps)

    def extra_repr(self) -> str:
        learnable = isinstance(self.p, nn.Parameter)
        return f"p={self.p.item():.4f}, eps={self.eps}, learnable={learnable}"
