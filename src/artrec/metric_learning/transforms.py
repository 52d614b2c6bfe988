"""The training augmentation of the Met methods (paper appendix A.1), from torchvision.

    random crop with scale in [0.7, 1.0] (aspect ratio in [0.99, 1/0.99], as the Met code's
    ``RandomResizedCrop``) resized to ``size`` x ``size`` (paper: 500)
    -> colour jitter (brightness, contrast, saturation, hue; the Met code's 0.4, 0.4, 0.4, 0.1)
       with probability 0.8 -> grey-scale with probability 0.2
    -> scale to [0, 1] -> normalise with the backbone's mean and std

Evaluation images are not augmented: :func:`eval_transform` only normalises (they are decoded
with the longer side already capped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image
from torchvision.transforms import v2

# The Met code's RandomResizedCrop ratio: square crops.
CROP_RATIO = (0.99, 1 / 0.99)


def _to_normalised(mean: Sequence[float], std: Sequence[float]) -> list[Callable]:
    return [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(mean), std=list(std)),
        v2.ToPureTensor(),
    ]


def train_transform(
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    crop_scale: Sequence[float] = (0.7, 1.0),
    color_jitter: Sequence[float] = (0.4, 0.4, 0.4, 0.1),
    color_jitter_p: float = 0.8,
    grayscale_p: float = 0.2,
) -> Callable[[Image.Image], torch.Tensor]:
    """The paper's augmentation (see the module docstring); PIL image in, tensor out."""
    brightness, contrast, saturation, hue = (float(v) for v in color_jitter)
    return v2.Compose(
        [
            v2.RandomResizedCrop(
                int(size),
                scale=tuple(float(s) for s in crop_scale),
                ratio=CROP_RATIO,
                antialias=True,
            ),
            v2.RandomApply(
                [v2.ColorJitter(brightness, contrast, saturation, hue)], p=float(color_jitter_p)
            ),
            v2.RandomGrayscale(p=float(grayscale_p)),
            *_to_normalised(mean, std),
        ]
    )


def eval_transform(
    mean: Sequence[float], std: Sequence[float]
) -> Callable[[Image.Image], torch.Tensor]:
    """Normalisation only (no resize: the images are decoded at their evaluation size)."""
    return v2.Compose(_to_normalised(mean, std))
