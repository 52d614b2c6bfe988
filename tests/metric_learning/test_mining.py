"""Hard negatives and the three positive rules of the contrastive methods."""

import numpy as np
import pytest

from artrec.metric_learning.mining import epoch_pairs, hard_negatives, positives


def _on_circle(angles_deg):
    angles = np.radians(np.asarray(angles_deg, float))
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def test_hard_negative_is_one_of_the_most_similar_images_of_other_classes():
    # anchor 0 (class 0); class-0 image 1 is the nearest but not a negative; other classes at
    # increasing angles: with a pool of 2 only images 2 and 3 qualify.
    descriptors = _on_circle([0, 1, 10, 20, 90, 180])
    labels = np.array([0, 0, 1, 2, 3, 4])
    seen = set()
    for seed in range(40):
        chosen = hard_negatives(descriptors, labels, np.random.default_rng(seed), pool=2)
        assert labels[chosen[0]] != 0
        seen.add(int(chosen[0]))
    assert seen == {2, 3}


def test_hard_negatives_use_what_there_is_in_a_tiny_database():
    descriptors = _on_circle([0, 5, 50])
    labels = np.array([0, 0, 1])
    chosen = hard_negatives(descriptors, labels, np.random.default_rng(0), pool=10)
    assert chosen.tolist() == [2, 2, 0] or chosen.tolist() == [2, 2, 1]
    with pytest.raises(ValueError, match="two classes"):
        hard_negatives(descriptors[:2], labels[:2], np.random.default_rng(0))


def test_syn_positive_is_the_anchor_itself():
    labels = np.array([0, 0, 1])
    assert positives(labels, "syn", np.random.default_rng(0)).tolist() == [0, 1, 2]


def test_syn_real_draws_each_class_member_with_probability_one_over_the_class_size():
    labels = np.array([0, 0, 0, 1])
    counts = np.zeros(4)
    rng = np.random.default_rng(0)
    for _ in range(3000):
        chosen = positives(labels, "syn_real", rng)
        counts[chosen[0]] += 1
        assert chosen[3] == 3  # a single-image class gets its synthetic positive
    assert np.allclose(counts[:3] / 3000, 1 / 3, atol=0.03)
    assert counts[3] == 0


def test_syn_real_closest_takes_the_anchor_or_its_most_similar_class_member_half_the_time():
    descriptors = _on_circle([0, 30, 5, 90])
    labels = np.array([0, 0, 0, 1])
    rng = np.random.default_rng(1)
    picks = np.array(
        [positives(labels, "syn_real_closest", rng, descriptors)[0] for _ in range(2000)]
    )
    assert set(picks.tolist()) == {0, 2}  # never image 1, less similar than image 2
    assert np.mean(picks == 0) == pytest.approx(0.5, abs=0.04)


def test_epoch_pairs_give_each_anchor_one_positive_and_one_negative_pair():
    descriptors = _on_circle([0, 3, 40, 80, 120])
    labels = np.array([0, 0, 1, 1, 2])
    pairs = epoch_pairs(labels, "syn_real", np.random.default_rng(0), descriptors, pool=2)
    assert pairs.shape == (10, 3)
    positive, negative = pairs[pairs[:, 2] == 1], pairs[pairs[:, 2] == 0]
    assert sorted(positive[:, 0]) == sorted(negative[:, 0]) == list(range(5))
    assert (labels[positive[:, 0]] == labels[positive[:, 1]]).all()
    assert (labels[negative[:, 0]] != labels[negative[:, 1]]).all()
    simsiam = epoch_pairs(labels, "syn", np.random.default_rng(0), negatives=False)
    assert (simsiam[:, 0] == simsiam[:, 1]).all() and (simsiam[:, 2] == 1).all()


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="syn_real_closest"):
        positives(np.array([0]), "real", np.random.default_rng(0))
