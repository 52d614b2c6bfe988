import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn
from zennit.rules import Epsilon, Gamma, ZBox

from artrec.evaluation.lrp import (
    LRP0_STABILIZER,
    explain,
    explain_difference,
    plot_lrp_grid,
    rules_composite,
    tensor_to_image,
    vgg_lrp_composite,
    vgg_lrp_rule_names,
)
from artrec.models.vgg import vgg11

N_CLASSES = 4


@pytest.fixture
def tiny_vgg() -> nn.Module:
    torch.manual_seed(0)
    model = vgg11(num_classes=N_CLASSES, width_mult=1 / 16)
    with torch.no_grad():  # larger dense weights than torchvision's N(0, 0.01): visible logits
        for layer in model.classifier:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    return model.eval()


def _image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(3, height, width, generator=generator) * 2 - 1  # normalised pixels in [-1, 1]


def test_lrp0_conserves_relevance_on_a_bias_free_vgg(tiny_vgg):
    with torch.no_grad():
        for module in tiny_vgg.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.bias.zero_()  # biases absorb relevance; without them LRP-0 is conservative
    lrp0 = rules_composite(
        {name: Epsilon(epsilon=LRP0_STABILIZER) for name in vgg_lrp_rule_names(tiny_vgg)}
    )
    image = _image(48, 80)
    with torch.no_grad():
        logits = tiny_vgg(image[None])[0]
    for target in range(N_CLASSES):
        heatmap = explain(tiny_vgg, image, target, composite=lrp0)
        assert heatmap.sum() == pytest.approx(logits[target].item(), rel=1e-3, abs=1e-5)


def test_composite_assigns_the_papers_rule_to_each_layer(tiny_vgg):
    names = vgg_lrp_rule_names(tiny_vgg)
    assert names == {
        "features.0": "LRP-zB",  # block 1: first layer
        "features.3": "LRP-gamma",  # block 2
        "features.6": "LRP-gamma",  # block 3
        "features.8": "LRP-gamma",
        "features.11": "LRP-epsilon",  # block 4
        "features.13": "LRP-epsilon",
        "features.16": "LRP-epsilon",  # block 5
        "features.18": "LRP-epsilon",
        "classifier.0": "LRP-0",  # dense layers
        "classifier.3": "LRP-0",
        "classifier.6": "LRP-0",
    }
    composite = vgg_lrp_composite(tiny_vgg)
    expected_type = {"LRP-zB": ZBox, "LRP-gamma": Gamma, "LRP-epsilon": Epsilon, "LRP-0": Epsilon}
    context: dict = {}
    assigned = {
        name: composite.module_map(context, name, module)
        for name, module in tiny_vgg.named_modules()
    }
    for name, rule in names.items():
        assert type(assigned[name]) is expected_type[rule], name
    # epsilon and LRP-0 are distinct rule instances with their own stabilisers
    assert assigned["features.18"] is not assigned["classifier.0"]
    assert isinstance(assigned["features.0"], ZBox)


def test_heatmap_has_the_input_shape_for_non_square_inputs(tiny_vgg):
    for height, width in [(40, 72), (96, 36), (32, 32)]:
        heatmap = explain(tiny_vgg, _image(height, width)[None], target_class=1)
        assert heatmap.shape == (height, width)
        assert np.isfinite(heatmap).all() and np.abs(heatmap).sum() > 0


def test_paper_composite_changes_the_backward_pass_and_depends_on_the_class(tiny_vgg):
    image = _image(40, 56)
    heatmaps = [explain(tiny_vgg, image, c) for c in range(N_CLASSES)]
    assert not np.allclose(heatmaps[0], heatmaps[1])
    # Without rules, LRP would reduce to gradient x input; gamma/z^B must make a difference.
    inputs = image[None].clone().requires_grad_(True)
    tiny_vgg(inputs)[0, 0].backward()
    gradient_times_input = (inputs.grad * inputs).detach()[0].sum(0).numpy()
    assert not np.allclose(heatmaps[0], gradient_times_input, rtol=1e-2, atol=1e-4)


def test_difference_explanation_is_real_minus_predicted(tiny_vgg):
    image = _image(36, 60, seed=1)
    real, predicted = explain(tiny_vgg, image, 0), explain(tiny_vgg, image, 2)
    assert np.allclose(explain_difference(tiny_vgg, image, 0, 2), real - predicted)
    assert np.allclose(explain_difference(tiny_vgg, image, 3, 3), 0.0)


def test_explain_restores_training_mode_and_checks_arguments(tiny_vgg):
    tiny_vgg.train()
    explain(tiny_vgg, _image(32, 32), 0)
    assert tiny_vgg.training
    with pytest.raises(ValueError, match="target_class"):
        explain(tiny_vgg, _image(32, 32), N_CLASSES)
    with pytest.raises(ValueError, match="one image"):
        explain(tiny_vgg, torch.zeros(2, 3, 32, 32), 0)


def test_plot_lrp_grid_side_by_side_with_symmetric_bwr_limits():
    rng = np.random.default_rng(0)
    images = [tensor_to_image(_image(40, 60)), tensor_to_image(_image(30, 30))]
    hrvs = [rng.normal(size=(35, 52)), rng.normal(size=(26, 26))]
    lrfs = [rng.normal(size=(28, 28)), None]
    fig = plot_lrp_grid(images, lrfs, hrvs, ["Bronze", "Gold"])
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 6
    assert [axes[1].get_title(), axes[2].get_title()] == ["HR&VS", "LR&FS"]
    heat = axes[1].get_images()[0]
    assert heat.get_cmap().name == "bwr"
    low, high = heat.get_clim()
    assert low == pytest.approx(-high) and high == pytest.approx(np.abs(hrvs[0]).max())
    assert [t.get_text() for t in axes[5].texts] == ["n/a"]
    with pytest.raises(ValueError, match="equal lengths"):
        plot_lrp_grid(images, lrfs[:1], hrvs, ["a", "b"])


# ---- other networks: the Tate poster's simple CNN and ResNet18 -----------------------------------
def test_resnet_rules_by_stage():
    from artrec.evaluation.lrp import LRP_0, LRP_EPSILON, LRP_GAMMA, LRP_ZB, resnet_lrp_rule_names
    from artrec.models.factory import build_classifier

    names = resnet_lrp_rule_names(build_classifier("resnet18", 4, width_mult=0.125))
    assert names["conv1"] == LRP_ZB and names["fc"] == LRP_0
    assert names["layer1.0.conv1"] == names["layer2.0.downsample.0"] == LRP_GAMMA
    assert names["layer3.0.conv2"] == names["layer4.1.conv1"] == LRP_EPSILON


@pytest.mark.parametrize("arch", ["resnet18", "simple_cnn"])
def test_conv_net_composite_explains_resnets_and_simple_cnns(arch):
    from artrec.evaluation.lrp import conv_net_lrp_composite, plot_heatmap_rows
    from artrec.models.factory import build_classifier

    torch.manual_seed(0)
    model = build_classifier(arch, 4, width_mult=0.125).eval()
    heat = explain(model, torch.zeros(3, 40, 40), 1, conv_net_lrp_composite(model))
    assert np.isfinite(heat).all()  # Fixup's zero layers (output 0 everywhere) give 0, not NaN
    with torch.no_grad():  # as after training: no layer left at zero
        for parameter in model.parameters():
            if parameter.ndim > 1 and not parameter.any():
                parameter.normal_(0.0, 0.05)
    image = torch.rand(3, 40, 40) * 2 - 1
    with torch.no_grad():
        logits = model(image[None])
    heat = explain(model, image, 2, conv_net_lrp_composite(model))
    assert heat.shape == (40, 40) and np.isfinite(heat).all() and np.abs(heat).sum() > 0
    # the canonizers are removed afterwards: the model computes what it computed before
    with torch.no_grad():
        assert torch.allclose(model(image[None]), logits)
    figure = plot_heatmap_rows([np.zeros((40, 40, 3))], {"model": [heat]}, ["class"])
    assert len(figure.axes) == 2
