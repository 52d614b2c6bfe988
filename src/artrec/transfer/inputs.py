"""Network inputs of the transfer study: every image decoded once, resized to S x S.

The paper resizes each image to its network's input size (224 or 299 px square, deforming) and
scales pixels to [0, 1], with no augmentation. Since nothing random happens to an image, it is
decoded and resized once (``artrec.images.decode.load_resized``: bounded memory, bad files
refused with the reason) into one uint8 array, and every epoch of every run reads that array.
Normalisation is the starting network's own (mean/std of its weights), applied per batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from artrec.images.decode import load_resized


def load_square_images(root: str | os.PathLike[str], paths: Sequence[str], size: int) -> np.ndarray:
    """``(N, size, size, 3)`` uint8: each image under ``root`` resized to ``size`` x ``size``."""
    if size < 8:
        raise ValueError(f"input size must be at least 8 px, got {size}")
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, relative in enumerate(paths):
        image = load_resized(
            Path(root) / relative, lambda w, h: (size, size), resample=Image.Resampling.BICUBIC
        )
        out[i] = np.asarray(image, dtype=np.uint8)
    return out


class ArrayImageDataset(Dataset):
    """Items ``(normalised float tensor 3 x S x S, label)`` from a uint8 ``(N, S, S, 3)`` array."""

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int64)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        pixels = torch.from_numpy(np.ascontiguousarray(self.images[index])).permute(2, 0, 1)
        return (pixels.float() / 255.0 - self.mean) / self.std, int(self.labels[index])
