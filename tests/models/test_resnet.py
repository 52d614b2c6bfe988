import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock

from artrec.models.factory import build_backbone_trunk, build_classifier
from artrec.models.resnet import residual_branch_convs, resnet


def _shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_batchnorm_full_width_matches_torchvision(arch):
    with torch.device("meta"):
        ours = resnet(arch, num_classes=1000, batch_norm=True)
        reference = getattr(torchvision.models, arch)()
    assert _shapes(ours) == _shapes(reference)


def test_bn_free_resnet18_has_no_batchnorm_and_biased_convs_with_torchvision_weights():
    with torch.device("meta"):
        ours = resnet("resnet18", num_classes=1000, batch_norm=False)
        reference = torchvision.models.resnet18()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in ours.modules())
    convs = [m for m in ours.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20 and all(c.bias is not None for c in convs)
    ours_shapes, reference_shapes = _shapes(ours), _shapes(reference)
    conv_and_fc = {
        k: v for k, v in reference_shapes.items() if "bn" not in k and "downsample.1" not in k
    }
    assert conv_and_fc.items() <= ours_shapes.items()
    assert set(ours_shapes) - set(reference_shapes) == {
        name.replace(".weight", ".bias")
        for name in reference_shapes
        if name.endswith(".weight") and reference_shapes[name].__len__() == 4
    }


def test_width_mult_scales_every_stage():
    model = resnet("resnet18", num_classes=7, width_mult=1 / 16)
    assert model.conv1.out_channels == 4
    assert [
        stage[-1].conv2.out_channels
        for stage in (model.layer1, model.layer2, model.layer3, model.layer4)
    ] == [4, 8, 16, 32]
    assert model.fc.in_features == 32 and model.fc.out_features == 7


@pytest.mark.parametrize("height,width", [(32, 32), (45, 77), (120, 36)])
def test_accepts_variable_shape_input(height, width):
    model = build_classifier("resnet18", num_classes=4, width_mult=1 / 16).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, height, width)).shape == (1, 4)


def test_fixup_init_zeroes_residual_branch_ends_and_classifier():
    model = resnet("resnet18", num_classes=4, width_mult=1 / 16)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8
    for block in blocks:
        first, last = residual_branch_convs(block)
        assert torch.count_nonzero(last.weight) == 0
        assert torch.count_nonzero(first.weight) > 0
    assert torch.count_nonzero(model.fc.weight) == 0
    # A block without projection starts as the identity on the (non-negative) residual stream.
    x = torch.rand(1, 4, 9, 9)
    with torch.no_grad():
        assert torch.allclose(model.layer1[0](x), x)


def test_fixup_keeps_activations_bounded_through_depth():
    torch.manual_seed(0)
    model = resnet("resnet18", num_classes=4, width_mult=1 / 4).eval()
    trunk = nn.Sequential(*list(model.children())[:-2])
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        features = trunk(x)
    assert torch.isfinite(features).all()
    assert 1e-3 < features.std().item() < 1e3


def test_bn_free_resnet_trains_with_batch_size_one_examples():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = build_classifier("resnet18", num_classes=2, width_mult=1 / 16)
    images = torch.randn(8, 3, 32, 32)
    labels = torch.tensor([0, 1] * 4)
    images[labels == 1] += 1.0  # a learnable difference between the two classes
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():
        initial = loss_fn(model(images), labels).item()
    for _ in range(4):
        for i in range(len(images)):  # batch size 1, as in the HR&VS experiments
            optimiser.zero_grad()
            loss_fn(model(images[i : i + 1]), labels[i : i + 1]).backward()
            optimiser.step()
    with torch.no_grad():
        final = loss_fn(model(images), labels).item()
    assert final < 0.5 * initial


def test_batchnorm_variant_is_available_for_comparison():
    model = build_classifier("resnet18", num_classes=3, width_mult=1 / 16, batch_norm=True)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 20


@pytest.mark.parametrize("arch,channels", [("resnet18", 32), ("vgg11", 32)])
def test_trunk_outputs_feature_map_with_reported_channels(arch, channels):
    trunk, out_channels = build_backbone_trunk(arch, width_mult=1 / 16)
    assert out_channels == channels
    with torch.no_grad():
        features = trunk.eval()(torch.randn(1, 3, 64, 96))
    assert features.shape == (1, channels, 2, 3)


def test_resnet_trunk_keeps_classifier_parameter_names():
    trunk, _ = build_backbone_trunk("resnet18", width_mult=1 / 16)
    model = build_classifier("resnet18", num_classes=10, width_mult=1 / 16, batch_norm=True)
    assert set(trunk.state_dict()) == {k for k in model.state_dict() if not k.startswith("fc.")}


def test_unknown_architecture_is_rejected():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_classifier("alexnet", num_classes=3)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_backbone_trunk("no_such_model_name")
