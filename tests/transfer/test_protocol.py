"""The paper's protocol read from the parameters, run fingerprints, cached features."""

from __future__ import annotations

import numpy as np
import torch

from artrec.models.factory import build_transfer_classifier
from artrec.transfer.protocol import Protocol, extract_features, fingerprint


def test_protocols_from_params() -> None:
    training = {"batch_size": 32, "max_epochs": 20, "patience": 7}
    ots = Protocol.from_params(
        {"optimizer": "rmsprop", "lr": 1e-3, "rho": 0.9, "eps": 1e-8}, training
    )
    assert ots.options == {"alpha": 0.9, "eps": 1e-8} and ots.patience == 7
    ft = Protocol.from_params(
        {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9, "nesterov": True}, training
    )
    assert ft.options == {"momentum": 0.9, "nesterov": True} and ft.batch_size == 32


def test_fingerprint_sees_array_contents_and_nested_values() -> None:
    a = np.zeros((50, 4), dtype=np.uint8)
    b = a.copy()
    b[49, 3] = 1  # beyond what a printed array would show
    assert fingerprint({"x": a}) != fingerprint({"x": b})
    assert fingerprint({"x": a}, [1, 2]) == fingerprint({"x": a.copy()}, [1, 2])
    assert fingerprint({"w": torch.zeros(3)}) != fingerprint({"w": torch.ones(3)})


def test_features_are_the_pooled_trunk_output() -> None:
    torch.manual_seed(0)
    model = build_transfer_classifier("resnet18", 2, None, width_mult=0.125, batch_norm=False)
    images = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)
    features = extract_features(model, images, [0.5] * 3, [0.5] * 3)
    assert features.shape == (5, 64) and features.dtype == np.float32
    x = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 - 0.5) / 0.5
    with torch.no_grad():
        expected = model.eval().features(x).numpy()
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
