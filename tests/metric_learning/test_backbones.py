"""Starting points and trained embedders saved and rebuilt."""

import pytest
import torch

from artrec.metric_learning.backbones import embedder_state, load_embedder, start_embedder
from artrec.retrieval.embedder import MAME_MEAN
from artrec.retrieval.whitening import learn_pca_whitening


def test_mame_start_has_the_mame_trunk_and_normalisation(fake_mame_model):
    embedder, description, spec = start_embedder("mame", "resnet18", None, 3.0, fake_mame_model)
    assert embedder.mean == MAME_MEAN
    assert spec == {"kind": "mame", "arch": "resnet18", "num_classes": 3, "width_mult": 0.125}
    assert "MAMe" in description
    conv = fake_mame_model["state_dict"]["conv1.weight"]
    assert torch.equal(embedder.trunk.conv1.weight, conv)
    with pytest.raises(ValueError, match="no MAMe model"):
        start_embedder("mame", "resnet18", None, 3.0, None)


def test_trained_embedder_round_trips(fake_mame_model):
    embedder, description, spec = start_embedder("mame", "resnet18", None, 3.0, fake_mame_model)
    embedder.eval()
    images = torch.rand(6, 3, 40, 40)
    with torch.no_grad():
        start = embedder(images).numpy()
    embedder.init_projector(learn_pca_whitening(start, dim=4))
    with torch.no_grad():
        embedder.pool.p.fill_(2.5)
        expected = embedder(images)
    state = embedder_state(embedder, spec, "trained", method="con_syn")
    rebuilt = load_embedder(state)
    with torch.no_grad():
        assert torch.allclose(rebuilt(images), expected, atol=1e-6)
    assert state["method"] == "con_syn" and state["projector_dim"] == 4


def test_the_synthetic_start_is_the_pretrained_trunk_without_its_fc_layer():
    from artrec.metric_learning.backbones import pretraining_embedder

    torch.manual_seed(0)
    pretrained, spec = pretraining_embedder(0.125, 3.0)
    pretrained.init_projector(learn_pca_whitening(torch.rand(12, pretrained.trunk_dim).numpy()))
    state = embedder_state(pretrained.eval(), spec, "pretrained on objects")
    embedder, description, rebuilt_spec = start_embedder(
        "synthetic", "resnet18", None, 3.0, None, state
    )
    assert description == "pretrained on objects" and rebuilt_spec["batch_norm"] is True
    assert embedder.projector is None and embedder.output_dim == pretrained.trunk_dim
    images = torch.rand(2, 3, 40, 40)
    with torch.no_grad():
        assert torch.allclose(embedder.eval().trunk(images), pretrained.trunk(images))
    with pytest.raises(ValueError, match="no pretrained model"):
        start_embedder("synthetic", "resnet18", None, 3.0, None, None)
