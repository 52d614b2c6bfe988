"""Backbone trunks for descriptor extraction (the Met embedder's input), built by the factory.

These were the tests of the embedder's own torchvision/timm trunk builders, which duplicated
``build_backbone_trunk`` and were removed.
"""

import pytest
import timm
import torch
from torchvision.models import resnet18

from artrec.models.factory import build_backbone_trunk
from artrec.retrieval.embedder import Embedder


def test_torchvision_trunk_loads_a_data_parallel_checkpoint_of_the_whole_network(tmp_path):
    torch.manual_seed(1)
    source = resnet18(weights=None)
    path = tmp_path / "r18.pth"
    wrapped = {"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}
    torch.save(wrapped, path)
    trunk, dim = build_backbone_trunk("resnet18", init=path)
    assert dim == 512
    torch.testing.assert_close(trunk.conv1.weight, source.conv1.weight)
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        # Everything before global pooling: the torchvision network's own feature map.
        source.eval()
        expected = torch.nn.Sequential(*list(source.children())[:-2])(x)
        torch.testing.assert_close(trunk.eval()(x), expected)
    assert expected.shape == (1, 512, 2, 2)


def test_trunk_rejects_a_foreign_checkpoint_and_an_unknown_architecture(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="conv.weight"):
        build_backbone_trunk("resnet18", init=path)
    with pytest.raises(ValueError, match="neither"):
        build_backbone_trunk("no_such_network")


def test_timm_trunk_feeds_the_embedder(tmp_path):
    source = timm.create_model("resnet10t", pretrained=False)
    path = tmp_path / "r10t.pth"
    torch.save(source.state_dict(), path)
    trunk, dim = build_backbone_trunk("resnet10t", init=path)
    assert dim == source.num_features
    torch.testing.assert_close(
        trunk.state_dict()["conv1.0.weight"], source.state_dict()["conv1.0.weight"]
    )
    embedder = Embedder(trunk, dim).eval()
    with torch.no_grad():
        assert embedder(torch.rand(1, 3, 64, 64)).shape == (1, dim)
