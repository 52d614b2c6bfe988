"""DNet's cosine classifier (imprinted from the PCAw-initialised embedder), SimSiam's heads."""

import numpy as np
import pytest
import torch
from torch import nn

from artrec.metric_learning.losses import classification_loss
from artrec.metric_learning.models import DNet, SimSiam, freeze_batchnorm
from artrec.retrieval.embedder import Embedder
from artrec.retrieval.whitening import learn_pca_whitening


def _embedder() -> Embedder:
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
    return Embedder(trunk, 6)


def test_fc_starts_as_the_pca_whitening_and_prototypes_as_whitened_class_means():
    embedder = _embedder().eval()
    images = torch.rand(10, 3, 8, 8)
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    with torch.no_grad():
        start = embedder(images).numpy()
    pcaw = learn_pca_whitening(start, shrinkage=1.0, dim=None)
    embedder.init_projector(pcaw)
    with torch.no_grad():
        whitened = embedder(images).numpy()
    assert whitened == pytest.approx(pcaw.apply(start), abs=1e-5)

    dnet = DNet(embedder, classification_loss("arcface", 4, embedder.output_dim))
    dnet.imprint(whitened, labels)
    for c in range(4):
        mean = whitened[labels == c].mean(axis=0)
        assert dnet.prototypes()[c].numpy() == pytest.approx(mean / np.linalg.norm(mean), abs=1e-6)
    cosines = dnet.cosines(torch.from_numpy(whitened))
    assert cosines.shape == (10, 4)
    assert cosines.abs().max() <= 1 + 1e-6


def test_imprinting_needs_every_class():
    embedder = _embedder()
    dnet = DNet(embedder, classification_loss("ce", 3, embedder.output_dim))
    with pytest.raises(ValueError, match="no training descriptor"):
        dnet.imprint(np.ones((2, 6), np.float32), np.array([0, 1]))
    with pytest.raises(ValueError, match="dimension"):
        DNet(embedder, classification_loss("ce", 3, 5))


def test_simsiam_heads_map_two_views_to_predictions_and_projections():
    embedder = _embedder()
    model = SimSiam(embedder, projector_dim=16, predictor_dim=4)
    p1, p2, z1, z2 = model(torch.rand(5, 3, 8, 8), torch.rand(5, 3, 8, 8))
    assert p1.shape == p2.shape == z1.shape == z2.shape == (5, 16)


def test_freeze_batchnorm_keeps_running_statistics():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model.train()
    freeze_batchnorm(model)
    before = model[1].running_mean.clone()
    model(torch.rand(4, 3, 8, 8) * 10)
    assert torch.equal(model[1].running_mean, before)
