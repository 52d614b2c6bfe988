"""VisualBackProp saliency maps (Bojarski et al. 2016, arXiv:1611.05418), the transfer paper's
Figure 4.

Neither zennit (relevance rules) nor captum (not a dependency here) implements VisualBackProp,
so this module does, in a few tensor operations:

1. forward the images and keep the feature maps after the ReLUs of the chosen layers (shallow to
   deep; ``default_layers`` picks them for the project's networks);
2. average each layer's maps over its channels: one map per layer;
3. from the deepest layer down: scale the map up to the size of the layer before with a
   transposed convolution whose kernel is all ones (the paper's "deconvolution"; kernel
   2s - 1 and stride s for a down-sampling by s, divided by the number of overlapping copies),
   multiply it point-wise with that layer's averaged map; finally scale up to the input size
   the same way;
4. normalise each image's map to [0, 1].

Only the forward activations are used, no gradients, so a map needs no class: it shows which
pixels drive the most active feature maps of the network's trunk, which is how the paper
compares the starting network with the fine-tuned one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn


def default_layers(trunk: nn.Module) -> list[nn.Module]:
    """Layers whose outputs VisualBackProp uses: a ResNet's stem ReLU and its four stages, a VGG's
    ReLUs, or the stages timm reports in ``feature_info``."""
    if all(hasattr(trunk, name) for name in ("relu", "layer1", "layer2", "layer3", "layer4")):
        return [trunk.relu, trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4]
    features = getattr(trunk, "features", None)
    if isinstance(features, nn.Sequential):
        relus = [m for m in features if isinstance(m, nn.ReLU)]
        if relus:
            return relus
    info = getattr(trunk, "feature_info", None)
    if info is not None:
        modules = dict(trunk.named_modules())
        return [modules[entry["module"]] for entry in info if entry["module"] in modules]
    raise ValueError(f"no default VisualBackProp layers for {type(trunk).__name__}; pass layers")


def _scale_up(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Transposed convolution with an all-ones kernel to (about) ``size``, then exact.

    Overlapping kernels (2s - 1 wide at stride s) add up to 1, 2 or 4 copies per pixel; dividing
    by the same transposed convolution of ones makes each output pixel the mean of the values
    spread onto it, so the map shows no stride-s checkerboard.
    """
    factor = max(1, math.ceil(max(s / m for s, m in zip(size, mask.shape[-2:], strict=True))))
    if factor > 1:
        kernel = torch.ones(1, 1, 2 * factor - 1, 2 * factor - 1, dtype=mask.dtype)

        def spread(x: torch.Tensor) -> torch.Tensor:
            return F.conv_transpose2d(
                x, kernel, stride=factor, padding=factor - 1, output_padding=factor - 1
            )

        mask = spread(mask) / spread(torch.ones_like(mask))
    if tuple(mask.shape[-2:]) != tuple(size):
        mask = F.interpolate(mask, size=size, mode="bilinear", align_corners=False)
    return mask


@torch.no_grad()
def visualbackprop(
    model: nn.Module, images: torch.Tensor, layers: Sequence[nn.Module]
) -> np.ndarray:
    """Saliency maps (N, H, W) in [0, 1] of ``images`` (N, 3, H, W) through ``model``."""
    if not layers:
        raise ValueError("VisualBackProp needs at least one layer")
    captured: dict[int, torch.Tensor] = {}

    def keep(index: int):
        def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
            captured[index] = output.detach()

        return hook

    handles = [layer.register_forward_hook(keep(i)) for i, layer in enumerate(layers)]
    was_training = model.training
    try:
        model.eval()
        model(images)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if len(captured) != len(layers):
        raise ValueError("some VisualBackProp layers were not run by the model's forward pass")
    # ReLU outputs are non-negative already; clamping keeps the product meaningful for layers
    # whose output is taken before an activation.
    averaged = [captured[i].clamp(min=0).mean(dim=1, keepdim=True) for i in range(len(layers))]
    mask = averaged[-1]
    for shallower in reversed(averaged[:-1]):
        mask = _scale_up(mask, tuple(shallower.shape[-2:])) * shallower
        # Rescaling by the maximum keeps the product in range; it changes no map's shape.
        mask = mask / mask.amax(dim=(2, 3), keepdim=True).clamp(min=1e-12)
    mask = _scale_up(mask, tuple(images.shape[-2:]))[:, 0]
    low = mask.amin(dim=(1, 2), keepdim=True)
    high = mask.amax(dim=(1, 2), keepdim=True)
    return ((mask - low) / (high - low).clamp(min=1e-12)).cpu().numpy()


def plot_saliency(
    images: np.ndarray,
    maps: Sequence[np.ndarray],
    map_titles: Sequence[str],
    row_titles: Sequence[str],
) -> Figure:
    """One row per image: the image, then each network's map over it (the paper's Figure 4)."""
    rows, columns = len(images), 1 + len(maps)
    figure = Figure(figsize=(2.2 * columns, 2.2 * rows + 0.3), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for r in range(rows):
        axes[r, 0].imshow(images[r])
        axes[r, 0].set_title(row_titles[r], fontsize=7)
        for c, (stack, title) in enumerate(zip(maps, map_titles, strict=True), start=1):
            axes[r, c].imshow(images[r].mean(axis=2), cmap="gray", alpha=0.5)
            axes[r, c].imshow(stack[r], cmap="inferno", alpha=0.7, vmin=0.0, vmax=1.0)
            if r == 0:
                axes[r, c].set_title(title, fontsize=8)
        for ax in axes[r]:
            ax.set_axis_off()
    return figure
