"""Global image descriptors for instance-level recognition (the Met paper, section 3).

f(x) = L2(FC(L2(GeM(trunk(x))))), the FC projector being optional; the multi-scale descriptor is
v(x) = L2(sum over r in R of f(x_r)), with x_r the image downsampled by the factor r,
R = {1, 2^-0.5, 2^-1} (multi-scale) or {1} (single-scale).

The embedder takes already-normalised tensors; :func:`inference_transform` builds the PIL -> tensor
step (longer side capped at 500 px, per-channel normalisation). The normalisation must match the
trunk's training: ImageNet statistics for ImageNet weights, 0.5 / 0.5 for the project's
MAMe-trained backbone. Trunks come from :func:`artrec.models.factory.build_backbone_trunk`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from artrec.retrieval.gem import GeM
from artrec.retrieval.whitening import PCAWhitening, as_linear_layer

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The MAMe protocol scales to [0, 1] and normalises with mean 0.5, std 0.5 per channel.
MAME_MEAN = (0.5, 0.5, 0.5)
MAME_STD = (0.5, 0.5, 0.5)

SINGLE_SCALE = (1.0,)
MULTI_SCALE = (1.0, 2**-0.5, 0.5)


class Embedder(nn.Module):
    """trunk -> GeM -> L2 -> [FC projector -> L2].

    ``trunk`` is any module mapping (B, 3, H, W) to a (B, trunk_dim, h, w) feature map.
    ``projector_dim`` adds the FC layer (None: no projector); initialise it from a PCA whitening
    with :meth:`init_projector`. ``mean``/``std`` are metadata for building the input transform.
    """

    def __init__(
        self,
        trunk: nn.Module,
        trunk_dim: int,
        *,
        gem_p: float = 3.0,
        learn_p: bool = True,
        projector_dim: int | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.trunk_dim = int(trunk_dim)
        self.pool = GeM(p=gem_p, learnable=learn_p)
        self.projector = nn.Linear(self.trunk_dim, projector_dim) if projector_dim else None
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    @property
    def output_dim(self) -> int:
        return self.projector.out_features if self.projector is not None else self.trunk_dim

    def init_projector(self, pcaw: PCAWhitening) -> None:
        """Replace the FC projector by the whitening expressed as a linear layer."""
        if pcaw.input_dim != self.trunk_dim:
            raise ValueError(
                f"whitening input dimension {pcaw.input_dim} != trunk dimension {self.trunk_dim}"
            )
        device = next(self.parameters()).device
        self.projector = as_linear_layer(pcaw).to(device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Single-scale descriptors f(x): (B, 3, H, W) -> L2-normalised (B, output_dim)."""
        features = self.trunk(images)
        if features.ndim != 4 or features.shape[1] != self.trunk_dim:
            raise ValueError(
                f"trunk must return (B, {self.trunk_dim}, h, w), got {tuple(features.shape)}"
            )
        x = F.normalize(self.pool(features), dim=-1)
        if self.projector is not None:
            x = F.normalize(self.projector(x), dim=-1)
        return x

    def multiscale(
        self, images: torch.Tensor, scales: Sequence[float] = MULTI_SCALE
    ) -> torch.Tensor:
        """v(x) = L2(sum_r f(x_r)); downsampling is antialiased bilinear (r < 1 only)."""
        total = None
        for r in scales:
            if r == 1:
                scaled = images
            elif min(int(side * r) for side in images.shape[-2:]) >= 1:
                scaled = F.interpolate(
                    images, scale_factor=r, mode="bilinear", align_corners=False, antialias=True
                )
            else:
                # A side of a few pixels (a long scroll) would shrink to nothing: keep 1 px.
                size = [max(1, int(side * r)) for side in images.shape[-2:]]
                scaled = F.interpolate(
                    images, size=size, mode="bilinear", align_corners=False, antialias=True
                )
            descriptor = self(scaled)
            total = descriptor if total is None else total + descriptor
        if total is None:
            raise ValueError("scales must not be empty")
        return F.normalize(total, dim=-1)


def longer_side_capped(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) with the longer side shrunk to ``max_side`` (aspect kept); never enlarged.

    Shared by :class:`ResizeLongerSide` and the draft decoding of
    :class:`artrec.retrieval.extract.ImageListDataset`, so that an image decoded at this size
    passes the transform unchanged.
    """
    longer = max(width, height)
    if longer <= max_side:
        return width, height
    scale = max_side / longer
    return max(1, round(width * scale)), max(1, round(height * scale))


class ResizeLongerSide:
    """Shrink a PIL image so that its longer side is at most ``max_side`` (aspect kept).

    Images already small enough are returned unchanged: the Met images are at most 500 x 500 and
    upsampling them would change the descriptors.
    """

    def __init__(self, max_side: int = 500) -> None:
        if max_side < 1:
            raise ValueError(f"max_side must be >= 1, got {max_side}")
        self.max_side = int(max_side)

    def __call__(self, image: Image.Image) -> Image.Image:
        size = longer_side_capped(*image.size, self.max_side)
        if size == image.size:
            return image
        return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_side={self.max_side})"


def inference_transform(
    max_side: int = 500,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Callable[[Image.Image], torch.Tensor]:
    """PIL image -> normalised float tensor (3, H, W), longer side at most ``max_side``."""
    from torchvision.transforms import v2  # imported here: torchvision takes seconds to import

    return v2.Compose(
        [
            ResizeLongerSide(max_side),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(mean), std=list(std)),
            v2.ToPureTensor(),
        ]
    )
