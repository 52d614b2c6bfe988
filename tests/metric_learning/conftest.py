"""Tiny Met-like data for the metric-learning tests: coloured squares, a few per class."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artrec.metric_learning.methods import MetImages
from artrec.models.factory import build_classifier


def _image(colour: np.ndarray, rng: np.random.Generator, size: int = 24) -> Image.Image:
    pixels = np.clip(colour + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture(scope="module")
def tiny_met() -> MetImages:
    """6 classes with 1-3 training images each; val and test queries of the classes plus
    distractors (label -1)."""
    rng = np.random.default_rng(0)
    colours = rng.uniform(30, 225, (6, 3))
    sizes = [1, 1, 2, 3, 1, 2]
    train = [c for c, n in enumerate(sizes) for _ in range(n)]
    val = [0, 2, 4, -1, -1]
    test = [1, 3, 5, 2, -1, -1]

    def images(labels):
        return [_image(colours[c] if c >= 0 else rng.uniform(0, 255, 3), rng) for c in labels]

    return MetImages(
        {"train": images(train), "val": images(val), "test": images(test)},
        {"train": np.array(train), "val": np.array(val), "test": np.array(test)},
        n_classes=6,
    )


@pytest.fixture(scope="module")
def fake_mame_model() -> dict:
    """A MAMe model state in the layout of the train_mame stage (random 1/8-width ResNet18)."""
    torch.manual_seed(0)
    model = build_classifier("resnet18", 3, width_mult=0.125, batch_norm=False)
    return {
        "arch": "resnet18",
        "input_version": "hrvs",
        "num_classes": 3,
        "width_mult": 0.125,
        "classes": ["a", "b", "c"],
        "best_epoch": 1,
        "state_dict": model.state_dict(),
    }
