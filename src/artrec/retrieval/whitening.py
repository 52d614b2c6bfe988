"""PCA whitening of global descriptors, as in cnnimageretrieval-pytorch and the Met evaluation code.

Learned on the (L2-normalised) training descriptors: eigen-decompose their covariance, keep the top
``dim`` components and scale each by eigenvalue^(-shrinkage / 2). shrinkage = 1 is full whitening
(the paper's setting), 0 is a plain PCA rotation. Applying it is ``(x - mean) @ P^T`` followed by L2
renormalisation, so it can also be written as a linear layer (the FC projector's initialisation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from artrec.utils.atomic import atomic_write

if TYPE_CHECKING:
    from torch import nn

# Rows processed at a time: the Met database is 397k x 512; centring it in one go in float64
# would need 1.6 GB on top of the input.
_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class PCAWhitening:
    """A learned whitening: ``mean`` (D,), ``projection`` P (d, D), ``eigenvalues`` (d,)."""

    mean: np.ndarray
    projection: np.ndarray
    eigenvalues: np.ndarray
    shrinkage: float

    @property
    def input_dim(self) -> int:
        return int(self.projection.shape[1])

    @property
    def output_dim(self) -> int:
        return int(self.projection.shape[0])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Whiten and L2-renormalise descriptors (N, D) -> float32 (N, d)."""
        return apply_pca_whitening(x, self)


def learn_pca_whitening(
    descriptors: np.ndarray, shrinkage: float = 1.0, dim: int | None = 512
) -> PCAWhitening:
    """Learn PCA whitening on ``descriptors`` (N, D).

    ``dim`` keeps the top components (None keeps all) and is capped by min(N, D): beyond the number
    of samples the covariance has no more non-zero eigenvalues. Eigenvalues are floored at 1e-12
    times the largest so that a degenerate direction cannot produce an infinite scale. Each
    eigenvector's sign is fixed (largest-magnitude entry positive) so that the result does not
    depend on the LAPACK build.
    """
    x = as_descriptor_matrix(descriptors, "descriptors")
    n, d = x.shape
    if n < 2:
        raise ValueError(f"PCA whitening needs at least 2 descriptors, got {n}")
    if shrinkage < 0:
        raise ValueError(f"shrinkage must be >= 0, got {shrinkage}")
    keep = min(n, d) if dim is None else min(int(dim), n, d)
    if keep < 1:
        raise ValueError(f"whitening dimension must be >= 1, got {dim}")

    mean = x.mean(axis=0, dtype=np.float64)
    cov = np.zeros((d, d), dtype=np.float64)
    for start in range(0, n, _CHUNK_ROWS):
        centred = x[start : start + _CHUNK_ROWS].astype(np.float64) - mean
        cov += centred.T @ centred
    cov = (cov + cov.T) / (2.0 * n)

    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    order = np.argsort(eigenvalues)[::-1][:keep]
    eigenvalues = eigenvalues[order]
    eigenvectors = eigenvectors[:, order]
    signs = np.sign(eigenvectors[np.abs(eigenvectors).argmax(axis=0), np.arange(keep)])
    eigenvectors = eigenvectors * np.where(signs == 0, 1.0, signs)

    floor = max(float(eigenvalues[0]), np.finfo(np.float64).tiny) * 1e-12
    eigenvalues = np.maximum(eigenvalues, floor)
    projection = eigenvectors.T / np.power(eigenvalues, 0.5 * shrinkage)[:, None]
    return PCAWhitening(
        mean=mean.astype(np.float32),
        projection=projection.astype(np.float32),
        eigenvalues=eigenvalues.astype(np.float32),
        shrinkage=float(shrinkage),
    )


def apply_pca_whitening(descriptors: np.ndarray, pcaw: PCAWhitening) -> np.ndarray:
    """``(x - mean) @ P^T``, then L2-normalise each row; float32 (N, d). Zero rows stay zero."""
    x = as_descriptor_matrix(descriptors, "descriptors")
    if x.shape[1] != pcaw.input_dim:
        raise ValueError(
            f"descriptors have dimension {x.shape[1]}, the whitening expects {pcaw.input_dim}"
        )
    out = np.empty((x.shape[0], pcaw.output_dim), dtype=np.float32)
    for start in range(0, x.shape[0], _CHUNK_ROWS):
        block = (x[start : start + _CHUNK_ROWS] - pcaw.mean) @ pcaw.projection.T
        out[start : start + _CHUNK_ROWS] = l2_normalise(block)
    return out


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation; all-zero rows are left as zeros instead of becoming NaN."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def as_linear_layer(pcaw: PCAWhitening) -> nn.Linear:
    """The whitening as ``nn.Linear(D, d)``: weight P, bias -P mean (output = whitening before L2).

    This is how the FC projector of the embedder is initialised before training on the Met.
    """
    import torch  # imported here so that whitening descriptors does not need torch

    layer = torch.nn.Linear(pcaw.input_dim, pcaw.output_dim, bias=True)
    projection = pcaw.projection.astype(np.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(projection))
        layer.bias.copy_(torch.from_numpy(-(projection @ pcaw.mean.astype(np.float64))))
    return layer


def save_whitening(pcaw: PCAWhitening, path: str | os.PathLike[str]) -> None:
    """Save as an ``.npz`` (written atomically)."""
    with atomic_write(path, "wb") as handle:
        np.savez(
            handle,
            mean=pcaw.mean,
            projection=pcaw.projection,
            eigenvalues=pcaw.eigenvalues,
            shrinkage=np.float64(pcaw.shrinkage),
        )


def load_whitening(path: str | os.PathLike[str]) -> PCAWhitening:
    """Load a whitening saved by :func:`save_whitening` (no pickles are read)."""
    with np.load(path, allow_pickle=False) as data:
        missing = {"mean", "projection", "eigenvalues", "shrinkage"} - set(data.files)
        if missing:
            raise ValueError(f"{path}: not a PCA whitening file, missing {sorted(missing)}")
        pcaw = PCAWhitening(
            mean=data["mean"].astype(np.float32),
            projection=data["projection"].astype(np.float32),
            eigenvalues=data["eigenvalues"].astype(np.float32),
            shrinkage=float(data["shrinkage"]),
        )
    if pcaw.mean.shape != (pcaw.input_dim,):
        raise ValueError(f"{path}: mean shape {pcaw.mean.shape} does not match the projection")
    return pcaw


def as_descriptor_matrix(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` as a 2-D (N, D) float array (integers become float32, floats keep their precision);
    a ValueError naming ``name`` otherwise."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, D) array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x
