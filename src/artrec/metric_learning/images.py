"""Met images decoded once and kept in memory, and the datasets the training methods read.

The Met images are small (at most 500 px a side) and every method passes over the training set
several times per epoch (training batches, validation, mining), so each image is decoded once,
by the embedding stage's decoder (:meth:`artrec.retrieval.extract.ImageListDataset.load`: the
project's safe decoder, JPEG draft mode, longer side capped at ``max_side``), and augmented from
memory. A file that cannot be decoded stops the run with a one-line error naming it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from artrec.retrieval.extract import ImageListDataset


def decode_images(
    paths: Sequence[str], root: str | os.PathLike[str], max_side: int
) -> list[Image.Image]:
    """Every image of ``paths`` (relative to ``root``) as RGB, longer side at most ``max_side``."""
    reader = ImageListDataset(paths, transform=lambda image: image, root=root, max_side=max_side)
    return [reader.load(i) for i in range(len(paths))]


class LabelledImages(Dataset):
    """Items ``(transform(image), label)`` of in-memory images."""

    def __init__(
        self,
        images: Sequence[Image.Image],
        labels: np.ndarray,
        transform: Callable[[Image.Image], torch.Tensor],
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = list(images)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), int(self.labels[index])


class ImagePairs(Dataset):
    """Items ``((transform(a), transform(b)), is_positive)`` for rows ``[a, b, is_positive]`` of
    ``pairs``; each image of a pair gets its own random augmentation (a pair ``[i, i, 1]`` is an
    image and its synthetic positive). ``pairs`` may be replaced between epochs (mining)."""

    def __init__(
        self,
        images: Sequence[Image.Image],
        transform: Callable[[Image.Image], torch.Tensor],
        pairs: np.ndarray | None = None,
    ) -> None:
        self.images = list(images)
        self.transform = transform
        self.pairs = np.zeros((0, 3), np.int64) if pairs is None else np.asarray(pairs, np.int64)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[tuple[torch.Tensor, torch.Tensor], int]:
        first, second, positive = (int(v) for v in self.pairs[index])
        return (self.transform(self.images[first]), self.transform(self.images[second])), positive


class TensorItems(Dataset):
    """Items ``(tensor, position)``: in-memory inputs in the form
    :func:`artrec.retrieval.extract.extract_descriptors` reads."""

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        self.tensors = list(tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        return self.tensors[index], index
