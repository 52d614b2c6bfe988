"""Aspect-ratio bucketing: batches of variable-shape (HR&VS) images with similar aspect ratios.

The paper trains HR&VS with batch size 1 because the images differ in shape. Grouping images of
nearly equal aspect ratio lets a batch be brought to one shape (``data.collate_center_crop``) while
losing only a few pixels, and makes larger batches possible.

How a batch is formed, per epoch: sort the images by aspect ratio (ties in random order), cut the
sorted list into runs of ``batch_size`` consecutive images starting at a random offset in
``[0, batch_size)``, then shuffle the order of the batches. Consecutive images in sorted order are
the tightest possible groups, and the random offset changes which neighbours share a batch from one
epoch to the next. Everything random comes from a generator seeded with ``seed + epoch`` (as in
``torch.utils.data.DistributedSampler``), so an epoch's batches depend only on the seed and the
epoch set with ``set_epoch``. ``num_replicas``/``rank`` shard the batches for distributed training.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler


class AspectRatioBucketBatchSampler(Sampler[list[int]]):
    """Yields lists of dataset indices whose images have similar width / height ratios."""

    def __init__(
        self,
        widths: Sequence[int] | np.ndarray,
        heights: Sequence[int] | np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        widths = np.asarray(widths, dtype=np.float64)
        heights = np.asarray(heights, dtype=np.float64)
        if widths.shape != heights.shape or widths.ndim != 1:
            raise ValueError(
                f"widths and heights must be 1-D and equally long, got {widths.shape} and "
                f"{heights.shape}"
            )
        bad = np.flatnonzero((widths <= 0) | (heights <= 0) | ~np.isfinite(widths + heights))
        if bad.size:
            raise ValueError(f"image sizes must be positive; bad entries at indices {bad[:10]}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
        self.log_aspect = np.log(widths / heights)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches ``__iter__`` yields (call before each epoch)."""
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        """This replica's batches for the current epoch, in the order they are yielded."""
        n = len(self.log_aspect)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            permutation = torch.randperm(n, generator=generator).numpy()
            order = permutation[np.argsort(self.log_aspect[permutation], kind="stable")]
            offset = int(torch.randint(0, self.batch_size, size=(), generator=generator))
        else:
            order = np.argsort(self.log_aspect, kind="stable")
            offset = 0
        starts = ([0] if offset else []) + list(range(offset, n, self.batch_size))
        ends = starts[1:] + [n]
        batches = [order[start:end].tolist() for start, end in zip(starts, ends, strict=True)]
        if self.drop_last:
            batches = [batch for batch in batches if len(batch) == self.batch_size]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
        return self._shard(batches)

    def _shard(self, batches: list[list[int]]) -> list[list[int]]:
        if self.num_replicas == 1:
            return batches
        # Every replica must run the same number of steps: drop the surplus or repeat batches.
        if self.drop_last:
            batches = batches[: len(batches) - len(batches) % self.num_replicas]
        else:
            missing = -len(batches) % self.num_replicas
            batches = batches + [batches[i % len(batches)] for i in range(missing)]
        return batches[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()

    def __len__(self) -> int:
        # The random offset makes the number of batches vary by one between epochs.
        return len(self.batches())


class ShardSampler(Sampler[int]):
    """Every ``num_replicas``-th index of ``range(length)`` starting at ``rank``, in order.

    For evaluation across processes: unlike ``DistributedSampler`` it never repeats an index to
    even out the shares, so every image counts once, and ``artrec.distributed.all_gather_unshard``
    restores the sequential order of the results.
    """

    def __init__(self, length: int, num_replicas: int = 1, rank: int = 0) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
        self.length = length
        self.num_replicas = num_replicas
        self.rank = rank

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.length, self.num_replicas))

    def __len__(self) -> int:
        return len(range(self.rank, self.length, self.num_replicas))
