import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from artrec.evaluation.claims import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    Claim,
    decided_claim,
    paired_bootstrap,
    verdict,
)


def test_verdict_needs_the_whole_interval_on_one_side_of_zero():
    assert verdict(0.01, 0.2) == HOLDS
    assert verdict(-0.2, -0.01) == DOES_NOT_HOLD
    assert verdict(-0.01, 0.2) == INCONCLUSIVE
    assert verdict(0.0, 0.2) == INCONCLUSIVE


def test_group_balanced_score_is_mean_per_class_accuracy():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 4, size=200)
    pred_a = np.where(rng.random(200) < 0.7, true, (true + 1) % 4)
    pred_b = np.where(rng.random(200) < 0.5, true, (true + 1) % 4)
    a, b, diff, low, high = paired_bootstrap(pred_a == true, pred_b == true, groups=true)
    assert a == pytest.approx(balanced_accuracy_score(true, pred_a))
    assert b == pytest.approx(balanced_accuracy_score(true, pred_b))
    assert diff == pytest.approx(a - b)
    assert low < diff < high


def test_clear_difference_is_decided_both_ways_and_identical_systems_are_not():
    rng = np.random.default_rng(2)
    good = rng.random(500) < 0.8
    bad = rng.random(500) < 0.4
    assert verdict(*paired_bootstrap(good, bad)[3:]) == HOLDS
    assert verdict(*paired_bootstrap(bad, good)[3:]) == DOES_NOT_HOLD
    assert verdict(*paired_bootstrap(good, good)[3:]) == INCONCLUSIVE


def test_small_difference_on_few_items_is_inconclusive():
    a = np.array([1, 1, 0, 1, 0, 1, 0, 1, 1, 0], dtype=bool)
    b = np.array([1, 0, 0, 1, 0, 1, 0, 1, 1, 0], dtype=bool)
    assert verdict(*paired_bootstrap(a, b)[3:]) == INCONCLUSIVE


def test_seeds_are_averaged_and_widen_the_interval():
    rng = np.random.default_rng(3)
    truth_hits = rng.random(300)
    a_seeds = [truth_hits < p for p in (0.6, 0.75)]
    b_seeds = [truth_hits < p for p in (0.5, 0.5)]
    a, b, diff, low, high = paired_bootstrap(a_seeds, b_seeds)
    assert a == pytest.approx(np.mean([x.mean() for x in a_seeds]))
    _, _, _, low1, high1 = paired_bootstrap(a_seeds[0], b_seeds[0])
    assert high - low > high1 - low1  # seed-to-seed spread counts


def test_bootstrap_is_reproducible_and_refuses_unpaired_inputs():
    x = np.arange(50) % 3 == 0
    y = np.arange(50) % 2 == 0
    assert paired_bootstrap(x, y, seed=5) == paired_bootstrap(x, y, seed=5)
    with pytest.raises(ValueError, match="same items"):
        paired_bootstrap(x, y[:40])


def test_decided_claim_fills_numbers_and_verdict():
    template = Claim("id", "paper", "A beats B", "acc", "A", "B")
    claim = decided_claim(template, 70.0, 60.0, 2.0, 18.0, test_items=100, seeds=1)
    assert claim.difference == pytest.approx(10.0)
    assert claim.verdict == HOLDS
    assert template.verdict == "NOT RUN"
