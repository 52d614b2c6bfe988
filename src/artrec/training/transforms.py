"""Input transforms of the MAMe baselines (paper section 4.2), built from torchvision.transforms.v2.

The resize step (LR&FS: S x S, deforming; HR&VS: shorter side S, aspect kept) happens once during
preprocessing, so these pipelines start from the already-resized image:

    train: rotation in [-30, 30] deg -> random crop of 0.875 x (H, W) -> horizontal flip p=0.5
           -> scale to [0, 1] -> normalise with mean 0.5, std 0.5
    eval:  centre crop of 0.875 x (H, W) -> scale to [0, 1] -> normalise

The crop is proportional to the image's current size for both versions. On the square S x S input of
LR&FS it is exactly ``RandomCrop(round(0.875 * S))`` (256 -> 224); for HR&VS it is the paper's
"(0.875 x width, 0.875 x height) of the current dimensions". Rotation keeps the canvas size
(``expand=False``, corners filled with 0) as torchvision does by default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from artrec.images.preprocess import INPUT_VERSIONS

CROP_FRACTION = 0.875
ROTATION_DEGREES = 30.0
NORMALISE_MEAN = (0.5, 0.5, 0.5)
NORMALISE_STD = (0.5, 0.5, 0.5)

InputVersion = Literal["lrfs", "hrvs"]


def crop_size(height: int, width: int, fraction: float = CROP_FRACTION) -> tuple[int, int]:
    """(height, width) of the proportional crop: ``round(fraction * side)``, at least 1 pixel."""
    return max(1, round(fraction * height)), max(1, round(fraction * width))


class ProportionalCrop(v2.Transform):
    """Crop ``fraction`` of the current height and width, at a random place or at the centre.

    ``require_square`` guards the LR&FS pipeline: its input must already be resized to S x S, and a
    non-square image there means the preprocessing step was skipped or wrong.
    """

    def __init__(
        self, fraction: float = CROP_FRACTION, random: bool = True, require_square: bool = False
    ) -> None:
        super().__init__()
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"crop fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction
        self.random = random
        self.require_square = require_square

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        if self.require_square and height != width:
            raise ValueError(
                f"LR&FS input must be square (resized to S x S before training), "
                f"got height x width = {height} x {width}"
            )
        crop_height, crop_width = crop_size(height, width, self.fraction)
        if self.random:
            top = int(torch.randint(0, height - crop_height + 1, size=()))
            left = int(torch.randint(0, width - crop_width + 1, size=()))
        else:
            # Same rounding as torchvision's center_crop.
            top = round((height - crop_height) / 2.0)
            left = round((width - crop_width) / 2.0)
        return {"top": top, "left": left, "height": crop_height, "width": crop_width}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(F.crop, inpt, **params)


def build_transforms(
    input_version: InputVersion, train: bool, crop_fraction: float = CROP_FRACTION
) -> Callable[[Any], torch.Tensor]:
    """The paper's train or eval pipeline for ``'lrfs'`` or ``'hrvs'``: PIL image in, tensor out."""
    if input_version not in INPUT_VERSIONS:
        raise ValueError(f"input_version must be one of {INPUT_VERSIONS}, got {input_version!r}")
    square = input_version == "lrfs"
    steps: list[Callable[[Any], Any]] = [v2.ToImage()]
    if train:
        steps += [
            v2.RandomRotation(degrees=ROTATION_DEGREES),
            ProportionalCrop(crop_fraction, random=True, require_square=square),
            v2.RandomHorizontalFlip(p=0.5),
        ]
    else:
        steps.append(ProportionalCrop(crop_fraction, random=False, require_square=square))
    steps += [
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=NORMALISE_MEAN, std=NORMALISE_STD),
        v2.ToPureTensor(),
    ]
    return v2.Compose(steps)


# ---- square centre-cropped inputs (the Tate poster) ---------------------------------------------
# ImageNet's statistics, for networks that start from ImageNet weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Share of the image area and aspect-ratio range of the random crops of the augmented run.
AUGMENT_SCALE = (0.6, 1.0)
AUGMENT_RATIO = (3 / 4, 4 / 3)


def build_square_transforms(
    size: int,
    augment: bool = False,
    mean: tuple[float, ...] = NORMALISE_MEAN,
    std: tuple[float, ...] = NORMALISE_STD,
) -> Callable[[Any], torch.Tensor]:
    """PIL image -> normalised ``size`` x ``size`` tensor, from an image of any shape.

    Plain (the poster: "center cropped to 224x224 pixels ... and normalized"): the shorter side
    is resized to ``size`` (antialiased) and the centre square cropped. ``augment`` (training
    only): a random crop of 60-100% of the area and aspect 3:4-4:3 resized to ``size``, then a
    horizontal flip with probability 0.5 (torchvision's ``RandomResizedCrop``, the usual
    ImageNet augmentation; the poster does not say which it used).
    """
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    steps: list[Callable[[Any], Any]] = [v2.ToImage()]
    if augment:
        steps += [
            v2.RandomResizedCrop(size, scale=AUGMENT_SCALE, ratio=AUGMENT_RATIO, antialias=True),
            v2.RandomHorizontalFlip(p=0.5),
        ]
    else:
        steps += [v2.Resize(size, antialias=True), v2.CenterCrop(size)]
    steps += [
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(mean), std=list(std)),
        v2.ToPureTensor(),
    ]
    return v2.Compose(steps)
