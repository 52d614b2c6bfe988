"""Layer-wise relevance propagation for the VGG11 baselines (MAMe paper section 5.1, Figure 6).

The paper uses the composite LRP of Montavon et al. (2019, "Layer-wise relevance propagation: an
overview"): LRP-0 for the last (dense) layers, LRP-epsilon and LRP-gamma (both 0.25) for the
intermediate convolutions and LRP-z^B for the first layer. Figure 6 (the exact split) is not
legible in our text of the paper, so which intermediate layers get which rule follows that
overview and its reference implementation for VGG: LRP-gamma on the lower convolution blocks
(here blocks 2-3 of VGG11), LRP-epsilon on the upper ones (blocks 4-5); ``first_epsilon_block``
moves the boundary.
The reference implementation scales epsilon by the root mean square of each layer's
pre-activations (``0.25 * std``), which keeps the rule meaningful whatever the activation scale;
``relative_epsilon=False`` adds a plain 0.25 instead. The inputs are normalised with mean 0.5 and
std 0.5, so z^B's pixel box is [-1, 1].

Relevance starts as the target logit (one-hot times the output), so each pixel's relevance is its
contribution to that logit and its sign means "for" (red) or "against" (blue) the class.
All rules come from zennit; this module only says which layer gets which.
``conv_net_lrp_composite`` applies the same split to other networks: VGG-style stacks (the Tate
poster's simple CNN) and ResNets (the Tate ResNet18s, residual sums via zennit's canonizer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.composites import NameLayerMapComposite, layer_map_base
from zennit.core import Composite, Hook, Stabilizer
from zennit.rules import Epsilon, Gamma, ZBox
from zennit.torchvision import ResNetCanonizer

# LRP-0 is the epsilon rule without epsilon; a tiny stabiliser only guards against 0 / 0.
LRP0_STABILIZER = 1e-9
NORMALISED_PIXEL_LOW = -1.0  # (0 - 0.5) / 0.5
NORMALISED_PIXEL_HIGH = 1.0  # (1 - 0.5) / 0.5


LRP_0, LRP_EPSILON, LRP_GAMMA, LRP_ZB = "LRP-0", "LRP-epsilon", "LRP-gamma", "LRP-zB"


def vgg_lrp_rule_names(model: nn.Module, first_epsilon_block: int = 4) -> dict[str, str]:
    """Which rule each convolution and dense layer of a torchvision-style VGG gets, by name.

    First convolution: LRP-z^B; convolutions in blocks before ``first_epsilon_block`` (blocks are
    counted from 1 and end at each max-pool): LRP-gamma; later convolutions: LRP-epsilon; dense
    layers: LRP-0.
    """
    names: dict[str, str] = {}
    block = 1
    for name, module in model.named_modules():
        if isinstance(module, nn.MaxPool2d):
            block += 1
        elif isinstance(module, nn.Conv2d):
            if not names:
                names[name] = LRP_ZB
            else:
                names[name] = LRP_GAMMA if block < first_epsilon_block else LRP_EPSILON
        elif isinstance(module, nn.Linear):
            names[name] = LRP_0
    if not names:
        raise ValueError(f"{type(model).__name__} has no convolution or dense layer to explain")
    return names


def vgg_lrp_rules(
    model: nn.Module,
    epsilon: float = 0.25,
    gamma: float = 0.25,
    low: float | torch.Tensor = NORMALISED_PIXEL_LOW,
    high: float | torch.Tensor = NORMALISED_PIXEL_HIGH,
    first_epsilon_block: int = 4,
    relative_epsilon: bool = True,
) -> dict[str, Hook]:
    """zennit rule of every convolution and dense layer (see ``vgg_lrp_rule_names``)."""
    epsilon_stabilizer = Stabilizer(epsilon, norm_scale=True) if relative_epsilon else epsilon
    make_rule = {
        LRP_ZB: lambda: ZBox(low=low, high=high),
        LRP_GAMMA: lambda: Gamma(gamma=gamma),
        LRP_EPSILON: lambda: Epsilon(epsilon=epsilon_stabilizer),
        LRP_0: lambda: Epsilon(epsilon=LRP0_STABILIZER),
    }
    return {
        name: make_rule[rule]()
        for name, rule in vgg_lrp_rule_names(model, first_epsilon_block).items()
    }


def resnet_lrp_rule_names(model: nn.Module, first_epsilon_layer: int = 3) -> dict[str, str]:
    """The same split for a torchvision-style ResNet: the stem convolution LRP-z^B, the
    convolutions of ``layer1`` .. ``layer<first_epsilon_layer - 1>`` LRP-gamma (downsampling
    shortcuts included), later stages LRP-epsilon, the dense head LRP-0. The residual sums get
    zennit's proportional rule through ``ResNetCanonizer`` (see ``conv_net_lrp_composite``)."""
    names: dict[str, str] = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            stage = name.split(".")[0]
            if not stage.startswith("layer"):
                names[name] = LRP_ZB
            else:
                names[name] = LRP_GAMMA if int(stage[5:]) < first_epsilon_layer else LRP_EPSILON
        elif isinstance(module, nn.Linear):
            names[name] = LRP_0
    if LRP_ZB not in names.values():
        raise ValueError(f"{type(model).__name__} has no stem convolution outside layer1-4")
    return names


def is_resnet(model: nn.Module) -> bool:
    """A torchvision-style ResNet (stages ``layer1`` .. ``layer4``)."""
    return all(hasattr(model, f"layer{i}") for i in range(1, 5))


def conv_net_lrp_composite(
    model: nn.Module,
    low: float | torch.Tensor = NORMALISED_PIXEL_LOW,
    high: float | torch.Tensor = NORMALISED_PIXEL_HIGH,
    epsilon: float = 0.25,
    gamma: float = 0.25,
) -> Composite:
    """The paper's composite for a VGG-style network (plain convolution/pool blocks, e.g. the Tate
    poster's simple CNN: gamma on all but the last block) or a ResNet (``resnet_lrp_rule_names``,
    residual additions canonised by zennit's ``ResNetCanonizer``). ``low``/``high``: the pixel
    box of z^B in the normalised input (tensors of shape (1, 3, 1, 1) per channel)."""
    relative = Stabilizer(epsilon, norm_scale=True)
    floor = Stabilizer(LRP0_STABILIZER)

    def stabilizer(value: torch.Tensor) -> torch.Tensor:
        # A layer whose outputs are all zero (e.g. a zero-initialised residual branch of the
        # BN-free ResNet) has zero RMS: the tiny LRP-0 floor keeps 0 / 0 out.
        return floor(relative(value))

    make_rule = {
        LRP_ZB: lambda: ZBox(low=low, high=high),
        LRP_GAMMA: lambda: Gamma(gamma=gamma),
        LRP_EPSILON: lambda: Epsilon(epsilon=stabilizer),
        LRP_0: lambda: Epsilon(epsilon=LRP0_STABILIZER),
    }
    if is_resnet(model):
        names, canonizers = resnet_lrp_rule_names(model), [ResNetCanonizer()]
    else:
        blocks = 1 + sum(isinstance(m, nn.MaxPool2d) for m in model.modules())
        names = vgg_lrp_rule_names(model, first_epsilon_block=max(2, blocks - 1))
        canonizers = None
    return rules_composite({name: make_rule[rule]() for name, rule in names.items()}, canonizers)


def rules_composite(rules: dict[str, Hook], canonizers: list | None = None) -> Composite:
    """zennit composite: the given rule per named layer, zennit's defaults for the rest.

    Those defaults pass relevance through activations unchanged, share it proportionally in
    (adaptive) average pools and, via a canonizer, fold any batch norm into the convolution before
    it; max-pools and flattening keep the plain gradient, which routes relevance to the winners.
    """
    return NameLayerMapComposite(
        name_map=[((name,), rule) for name, rule in rules.items()],
        layer_map=layer_map_base(),
        canonizers=canonizers if canonizers is not None else [SequentialMergeBatchNorm()],
    )


def vgg_lrp_composite(model: nn.Module, **rule_options: float | bool) -> Composite:
    """The paper's composite LRP for ``model`` (options as in ``vgg_lrp_rules``)."""
    return rules_composite(vgg_lrp_rules(model, **rule_options))


def explain(
    model: nn.Module,
    image_tensor: torch.Tensor,
    target_class: int,
    composite: Composite | None = None,
) -> np.ndarray:
    """Relevance heat map ``(H, W)`` of ``target_class`` for one normalised image ``(3, H, W)``.

    Works for any input shape the model accepts. The channels' relevances are summed per pixel.
    ``composite`` defaults to the paper's VGG composite.
    """
    if image_tensor.ndim == 3:
        image_tensor = image_tensor.unsqueeze(0)
    if image_tensor.ndim != 4 or image_tensor.shape[0] != 1:
        raise ValueError(f"explain expects one image (3, H, W), got {tuple(image_tensor.shape)}")
    composite = composite if composite is not None else vgg_lrp_composite(model)
    device = next(model.parameters()).device
    inputs = image_tensor.detach().to(device).clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with Gradient(model=model, composite=composite) as attributor:
            output, relevance = attributor(inputs, _target_logit(target_class))
    finally:
        model.train(was_training)
    if not 0 <= target_class < output.shape[1]:
        raise ValueError(f"target_class {target_class} outside the {output.shape[1]} classes")
    return relevance[0].sum(dim=0).detach().cpu().numpy()


def _target_logit(target_class: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def initial_relevance(output: torch.Tensor) -> torch.Tensor:
        one_hot = torch.zeros_like(output)
        if 0 <= target_class < output.shape[1]:
            one_hot[:, target_class] = 1.0
        return output * one_hot

    return initial_relevance


def explain_difference(
    model: nn.Module,
    image_tensor: torch.Tensor,
    real_class: int,
    predicted_class: int,
    composite: Composite | None = None,
) -> np.ndarray:
    """E_{I,r,p} = E_{I,r} - E_{I,p} for a misclassified image (paper eq. 1).

    Red: patterns of the real class that are not patterns of the predicted one.
    """
    real = explain(model, image_tensor, real_class, composite)
    predicted = explain(model, image_tensor, predicted_class, composite)
    return real - predicted


def tensor_to_image(image_tensor: torch.Tensor, mean: float = 0.5, std: float = 0.5) -> np.ndarray:
    """Undo the mean/std normalisation: ``(3, H, W)`` tensor -> ``(H, W, 3)`` array in [0, 1]."""
    image = image_tensor.detach().cpu().float() * std + mean
    return image.clamp(0.0, 1.0).permute(1, 2, 0).numpy()


def plot_lrp_grid(
    images: Sequence[np.ndarray | None],
    heatmaps_lrfs: Sequence[np.ndarray | None],
    heatmaps_hrvs: Sequence[np.ndarray | None],
    titles: Sequence[str],
) -> Figure:
    """One row per image: the image, its HR&VS heat map and its LR&FS heat map.

    Red is positive relevance, blue negative (``bwr``), with limits symmetric around zero per
    heat map. The LR&FS heat map (computed on the deformed square input) is shown stretched back
    to the image's aspect ratio so both maps can be compared region by region.
    """
    if not len(images) == len(heatmaps_lrfs) == len(heatmaps_hrvs) == len(titles):
        raise ValueError("images, heatmaps_lrfs, heatmaps_hrvs and titles must have equal lengths")
    if not images:
        raise ValueError("plot_lrp_grid needs at least one image")
    fig = Figure(figsize=(9.0, 3.0 * len(images)))
    axes = fig.subplots(len(images), 3, squeeze=False)
    for row, (image, lrfs, hrvs, title) in enumerate(
        zip(images, heatmaps_lrfs, heatmaps_hrvs, titles, strict=True)
    ):
        image_aspect = _height_over_width(image if image is not None else hrvs)
        axes[row, 0].set_ylabel(title, fontsize=8)
        if image is not None:
            axes[row, 0].imshow(np.asarray(image))
        _show_heatmap(axes[row, 1], hrvs, "HR&VS", image_aspect)
        _show_heatmap(axes[row, 2], lrfs, "LR&FS", image_aspect)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_heatmap_rows(
    images: Sequence[np.ndarray],
    heatmaps: dict[str, Sequence[np.ndarray]],
    titles: Sequence[str],
) -> Figure:
    """One row per image: the image, then one heat map per model (column titles: the keys of
    ``heatmaps``); red for, blue against, limits symmetric around zero per map."""
    if not images or any(len(maps) != len(images) for maps in heatmaps.values()):
        raise ValueError("plot_heatmap_rows needs images and one heat map per image and model")
    columns = 1 + len(heatmaps)
    fig = Figure(figsize=(2.2 * columns, 2.2 * len(images)))
    axes = fig.subplots(len(images), columns, squeeze=False)
    for row, (image, title) in enumerate(zip(images, titles, strict=True)):
        axes[row, 0].imshow(np.asarray(image))
        axes[row, 0].set_ylabel(title, fontsize=7)
        for column, (name, maps) in enumerate(heatmaps.items(), start=1):
            _show_heatmap(axes[row, column], maps[row], name, None)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def _height_over_width(array: np.ndarray | None) -> float | None:
    if array is None:
        return None
    shape = np.shape(array)
    return shape[0] / shape[1]


def _show_heatmap(ax, heatmap: np.ndarray | None, label: str, image_aspect: float | None) -> None:
    ax.set_title(label, fontsize=9)
    if heatmap is None:
        ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes)
        return
    heatmap = np.asarray(heatmap, dtype=float)
    limit = float(np.abs(heatmap).max()) or 1.0
    # imshow's aspect is a pixel's height/width; this one makes the map as tall/wide as the image.
    aspect = "equal" if image_aspect is None else image_aspect * heatmap.shape[1] / heatmap.shape[0]
    ax.imshow(heatmap, cmap="bwr", vmin=-limit, vmax=limit, aspect=aspect)
