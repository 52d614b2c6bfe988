"""Class-balanced sampling and inverse-frequency class weights (thesis B.3)."""

import numpy as np
import pytest

from artrec.metric_learning.sampling import ClassBalancedSampler, inverse_frequency_weights


def test_class_balanced_sampler_draws_classes_uniformly():
    labels = np.array([0] * 90 + [1] * 9 + [2])
    sampler = ClassBalancedSampler(labels, num_samples=6000, seed=3)
    drawn = labels[np.array(list(sampler))]
    shares = np.bincount(drawn, minlength=3) / len(drawn)
    assert np.allclose(shares, 1 / 3, atol=0.03)
    assert len(sampler) == 6000


def test_class_balanced_sampler_depends_on_seed_and_epoch_only():
    labels = np.array([0, 0, 1, 2, 2, 2])
    a, b = ClassBalancedSampler(labels, seed=1), ClassBalancedSampler(labels, seed=1)
    a.set_epoch(4)
    b.set_epoch(4)
    assert list(a) == list(b)
    b.set_epoch(5)
    assert list(a) != list(b) or len(labels) < 3


def test_inverse_frequency_weights_average_one_over_the_images():
    labels = np.array([0, 0, 0, 1])
    weights = inverse_frequency_weights(labels)
    assert weights.tolist() == pytest.approx([4 / 6, 4 / 2])
    assert weights[labels].mean().item() == pytest.approx(1.0)
