"""Long-tail remedies of the thesis (appendix B.3): class-balanced sampling and class weights.

- :class:`ClassBalancedSampler`: each draw picks a class uniformly, then an image of that class
  uniformly (Kang et al. 2020's class-balanced sampling), instead of an image uniformly;
- :func:`inverse_frequency_weights`: each image's loss weighed by the inverse of its class
  frequency, scaled so that the weights average 1 over the training images (the loss keeps its
  scale, and so does the learning rate's effect).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


class ClassBalancedSampler(Sampler[int]):
    """``num_samples`` indices per epoch (default: the number of images), drawn class-balanced
    with replacement from a generator seeded with ``seed + epoch`` (``set_epoch``), as
    ``DistributedSampler`` seeds its shuffle."""

    def __init__(self, labels: np.ndarray, num_samples: int | None = None, seed: int = 0) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError("class-balanced sampling needs a non-empty 1-D array of labels")
        self.classes = np.unique(labels)
        self.members = [np.flatnonzero(labels == c) for c in self.classes]
        self.num_samples = int(num_samples) if num_samples is not None else len(labels)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed + self.epoch)
        classes = rng.integers(len(self.classes), size=self.num_samples)
        picks = rng.random(self.num_samples)
        return np.array(
            [
                self.members[c][int(p * len(self.members[c]))]
                for c, p in zip(classes, picks, strict=True)
            ],
            dtype=np.int64,
        )

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


def inverse_frequency_weights(labels: np.ndarray, num_classes: int | None = None) -> torch.Tensor:
    """Per-class weights ``n / (classes * n_c)``: inverse class frequency, mean 1 over images."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=num_classes or 0).astype(np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return torch.from_numpy(weights).float()
