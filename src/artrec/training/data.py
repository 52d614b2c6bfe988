"""Datasets and data loaders for classifier training on preprocessed (already resized) images.

Loaders are ordinary ``torch.utils.data.DataLoader`` objects; the training loop only relies on the
sampler having ``set_epoch`` (optional) and the loader's ``generator`` (optional).

Inside a process group (``artrec.distributed``) ``build_dataloader`` gives each process its share:
training loaders a ``DistributedSampler`` (or the bucket sampler sharded by rank), evaluation
loaders a ``ShardSampler`` (every image once, no padding). ``batch_size`` is per process.

Reproducibility: shuffled loaders get their own ``torch.Generator`` (reseeded every epoch by the
training loop); worker processes are seeded by PyTorch from that loader's base seed (torch,
``random`` and numpy). Workers are not persistent, so every epoch starts from freshly seeded
workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from torchvision.transforms.v2 import functional as F

from artrec import distributed
from artrec.training.sampler import AspectRatioBucketBatchSampler, ShardSampler


class ImageManifestDataset(Dataset):
    """Images listed in a manifest with columns ``path``, ``label`` and optionally ``width``,
    ``height`` (used only for aspect-ratio bucketing, so the original image's size serves as well
    as the stored one's).

    ``label`` must hold integer class indices. Relative paths are resolved against ``root``.
    Items are ``(transform(rgb_pil_image), label)``.
    """

    def __init__(
        self,
        manifest: pd.DataFrame,
        transform: Callable[[Image.Image], Any] | None = None,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        missing = {"path", "label"} - set(manifest.columns)
        if missing:
            raise ValueError(f"manifest lacks column(s) {sorted(missing)}; has {list(manifest)}")
        labels = manifest["label"]
        if not pd.api.types.is_integer_dtype(labels) or (labels < 0).any():
            raise ValueError(
                f"manifest 'label' must hold non-negative integer class indices, got dtype "
                f"{labels.dtype} (first rows: {labels.head(3).tolist()})"
            )
        base = Path(root) if root is not None else None
        self.paths = [base / p if base is not None else Path(p) for p in manifest["path"]]
        self.labels = labels.to_numpy(dtype=np.int64)
        self.transform = transform
        has_sizes = {"width", "height"} <= set(manifest.columns)
        self._widths = manifest["width"].to_numpy(dtype=np.int64) if has_sizes else None
        self._heights = manifest["height"].to_numpy(dtype=np.int64) if has_sizes else None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path = self.paths[index]
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError) as error:
            raise RuntimeError(
                f"cannot read image {path} (manifest row {index}): {error}"
            ) from error
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])

    def image_sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """(widths, heights) from the manifest, or read from the image headers when absent."""
        if self._widths is None or self._heights is None:
            sizes = []
            for index, path in enumerate(self.paths):
                try:
                    with Image.open(path) as opened:  # reads the header only
                        sizes.append(opened.size)
                except OSError as error:
                    raise RuntimeError(
                        f"cannot read image size of {path} (manifest row {index}): {error}"
                    ) from error
            self._widths = np.array([w for w, _ in sizes], dtype=np.int64)
            self._heights = np.array([h for _, h in sizes], dtype=np.int64)
        return self._widths, self._heights


class MappedTargets(Dataset):
    """``dataset``'s items with each integer label replaced by ``targets[label]``: e.g. the
    class's multi-hot row of medium tags, for the multi-label objective of the training loop."""

    def __init__(self, dataset: Dataset, targets: np.ndarray | torch.Tensor) -> None:
        self.dataset = dataset
        self.targets = torch.as_tensor(np.asarray(targets, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor]:
        image, label = self.dataset[index]
        return image, self.targets[label]


def collate_center_crop(batch: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack images of different shapes by centre-cropping each to the batch's smallest height and
    smallest width.

    Cropping (not padding) is chosen so that no invented pixels enter the batch and nothing is
    deformed. With aspect-ratio buckets the images of a batch have nearly equal shapes and the crop
    removes only the difference: HR&VS images share their shorter side, so the loss along the longer
    side is the batch's relative spread of aspect ratios. Images of equal shape pass unchanged.
    """
    images = [image for image, _ in batch]
    height = min(image.shape[-2] for image in images)
    width = min(image.shape[-1] for image in images)
    cropped = [
        image if image.shape[-2:] == (height, width) else F.center_crop(image, [height, width])
        for image in images
    ]
    labels = torch.tensor([label for _, label in batch], dtype=torch.int64)
    return torch.stack(cropped), labels


def build_dataloader(
    dataset: ImageManifestDataset,
    *,
    batch_size: int,
    train: bool,
    seed: int,
    bucketing: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
    drop_last: bool = False,
) -> DataLoader:
    """A loader that shuffles when ``train``; ``bucketing`` groups similar aspect ratios per batch.

    Without bucketing, batches are stacked as they are, which needs images of one shape (LR&FS) or
    ``batch_size=1`` (the paper's HR&VS setting). In a process group each process loads its share
    (see the module docstring); ``batch_size`` is then the batch of one process.
    """
    world, rank = distributed.world_size(), distributed.rank()
    if bucketing:
        if world > 1 and not train:
            # The bucket sampler evens out the shares by repeating batches, which would count
            # some images twice in an evaluation.
            raise ValueError("bucketed evaluation loaders are not supported across processes")
        widths, heights = dataset.image_sizes()
        batch_sampler = AspectRatioBucketBatchSampler(
            widths,
            heights,
            batch_size,
            shuffle=train,
            seed=seed,
            drop_last=drop_last,
            num_replicas=world,
            rank=rank,
        )
        return DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=collate_center_crop,
            num_workers=num_workers,
            pin_memory=pin_memory,
        )
    sampler = None
    if world > 1:
        if train:
            sampler = DistributedSampler(
                dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=drop_last
            )
        else:
            sampler = ShardSampler(len(dataset), num_replicas=world, rank=rank)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(seed),
        num_workers=num_workers,
        pin_memory=pin_memory,
    )


def labelled_manifest(
    images_dir: Path, dataset: pd.DataFrame, labels: pd.DataFrame
) -> pd.DataFrame:
    """The preprocessed images joined with their curated class index and split."""
    manifest = pd.read_csv(images_dir / "manifest.csv")
    manifest["path"] = "images/" + manifest["path"].astype(str)
    index = {name: i for i, name in enumerate(labels["name"])}
    joined = manifest.merge(
        dataset[["Image file", "Medium", "Subset"]], left_on="image_file", right_on="Image file"
    )
    joined["label"] = joined["Medium"].map(index).astype("int64")
    return joined
