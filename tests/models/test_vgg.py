import pytest
import torch
import torchvision
from torch import nn

from artrec.models.factory import build_classifier
from artrec.models.vgg import vgg11, vgg_trunk_channels


def _shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def test_full_width_matches_torchvision_vgg11_names_and_shapes():
    # Meta tensors: the 133M-parameter network costs no memory or time here.
    with torch.device("meta"):
        ours = vgg11(num_classes=1000)
        reference = torchvision.models.vgg11()
    assert _shapes(ours) == _shapes(reference)


def test_head_is_adaptive_pool_7x7_and_dropout_half():
    model = vgg11(num_classes=29, width_mult=1 / 16)
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d)
    assert tuple(model.avgpool.output_size) == (7, 7)
    dropouts = [m for m in model.classifier if isinstance(m, nn.Dropout)]
    assert [d.p for d in dropouts] == [0.5, 0.5]
    assert model.classifier[-1].out_features == 29


def test_configuration_a_has_eight_convolutions_and_five_pools():
    model = vgg11(num_classes=3, width_mult=1 / 16)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    pools = [m for m in model.features if isinstance(m, nn.MaxPool2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 16, 32, 32, 32, 32]
    assert len(pools) == 5
    assert vgg_trunk_channels(model) == 32
    assert model.classifier[0].in_features == 32 * 7 * 7
    assert model.classifier[0].out_features == 4096 // 16


@pytest.mark.parametrize("height,width", [(32, 32), (33, 70), (96, 40)])
def test_accepts_variable_shape_input(height, width):
    model = build_classifier("vgg11", num_classes=5, width_mult=1 / 16).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, height, width))
    assert logits.shape == (2, 5)
    assert torch.isfinite(logits).all()


def test_dropout_active_only_in_training_mode():
    torch.manual_seed(0)
    model = vgg11(num_classes=5, width_mult=1 / 16)
    for layer in model.classifier:  # make the FC output big enough to see dropout's effect
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0, 0.2)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(x), model(x))
        model.train()
        assert not torch.equal(model(x), model(x))


def test_rejects_non_positive_width():
    with pytest.raises(ValueError, match="width_mult"):
        vgg11(num_classes=5, width_mult=0)
