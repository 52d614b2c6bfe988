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
