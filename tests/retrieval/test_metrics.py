import numpy as np
import pytest

from artrec.retrieval.metrics import accuracy, evaluate, gap, gap_minus, ranking

D = -1  # distractor label


def _figure_3_17_example():
    """Five Met queries (three correct, two wrong) and three distractors, in the spirit of the
    thesis's Figure 3.17. Listed here in a shuffled order; by confidence the ranking is

    rank  conf  query       correct  precision at rank
      1   0.9   Met  10->10    1        1/1
      2   0.8   distractor     0        1/2
      3   0.7   Met  11->11    1        2/3
      4   0.6   Met  12->5     0        2/4
      5   0.5   distractor     0        2/5
      6   0.4   Met  13->13    1        3/6
      7   0.3   Met  14->2     0        3/7
      8   0.2   distractor     0        3/8

    GAP  = (1/M) sum p(i) r(i) = (1 + 2/3 + 3/6) / 5 = (13/6) / 5 = 13/30
    GAP- (distractors removed: ranks 10, 11, 12x, 13, 14x) = (1 + 2/2 + 3/4) / 5 = 2.75 / 5 = 0.55
    ACC  = 3 correct of M = 5 Met queries = 0.6
    """
    rows = [  # (true, pred, conf)
        (13, 13, 0.4),
        (D, 3, 0.8),
        (12, 5, 0.6),
        (D, 9, 0.2),
        (10, 10, 0.9),
        (14, 2, 0.3),
        (11, 11, 0.7),
        (D, 7, 0.5),
    ]
    true, pred, conf = (np.array(col) for col in zip(*rows, strict=True))
    return pred, conf, true


def test_worked_example_matches_hand_computation():
    pred, conf, true = _figure_3_17_example()
    assert gap(pred, conf, true) == pytest.approx(13 / 30)
    assert gap_minus(pred, conf, true) == pytest.approx(0.55)
    assert accuracy(pred, true) == pytest.approx(0.6)
    assert evaluate(pred, conf, true) == pytest.approx({"GAP": 13 / 30, "GAP-": 0.55, "ACC": 0.6})


def test_correcting_predictions_then_pushing_mistakes_down_reaches_optimum():
    pred, conf, true = _figure_3_17_example()
    # Row 3 of the figure: all Met queries correct; distractors at ranks 2, 5 and 8 remain.
    fixed = np.where(true == D, pred, true)
    # correct at ranks 1, 3, 4, 6, 7: (1 + 2/3 + 3/4 + 4/6 + 5/7) / 5
    expected = (1 + 2 / 3 + 3 / 4 + 4 / 6 + 5 / 7) / 5
    assert gap(fixed, conf, true) == pytest.approx(expected)
    # Row 4: distractors get the lowest confidences -> GAP = 1.
    pushed = np.where(true == D, conf - 1.0, conf)
    assert gap(fixed, pushed, true) == pytest.approx(1.0)
    assert gap_minus(fixed, pushed, true) == pytest.approx(1.0)


def test_all_distractors_give_zero_without_division_error():
    true = np.full(4, D)
    pred = np.array([1, 2, 3, 4])
    conf = np.array([0.9, 0.5, 0.4, 0.1])
    with np.errstate(all="raise"):
        assert gap(pred, conf, true) == 0.0
        assert gap_minus(pred, conf, true) == 0.0
        assert accuracy(pred, true) == 0.0


def test_distractor_is_never_correct_even_if_pred_is_minus_one():
    true = np.array([D, 5])
    pred = np.array([D, 5])
    conf = np.array([0.9, 0.1])
    # Rank 1 distractor (wrong), rank 2 correct with precision 1/2; M = 1.
    assert gap(pred, conf, true) == pytest.approx(0.5)
    assert accuracy(pred, true) == 1.0


def test_ties_keep_query_order_unless_a_rank_key_breaks_them():
    true = np.array([D, 7])
    pred = np.array([1, 7])
    conf = np.array([0.5, 0.5])
    # Tie -> lower index first: distractor, then the correct query at precision 1/2.
    assert gap(pred, conf, true) == pytest.approx(0.5)
    assert list(ranking(conf)) == [0, 1]
    # A secondary key (e.g. the nearest-neighbour similarity) puts the correct query first.
    key = (np.array([0.0, 0.0]), np.array([0.2, 0.3]))
    assert list(ranking(conf, key)) == [1, 0]
    assert gap(pred, conf, true, rank_key=key) == pytest.approx(1.0)


def test_rank_key_replaces_confidence_for_sorting():
    true = np.array([3, D, 4])
    pred = np.array([3, 0, 4])
    conf = np.ones(3)  # saturated confidences
    log_conf = np.array([-1e-20, -1e-30, -1e-25])
    # Order by log_conf: distractor, query 2 (correct), query 0 (correct) -> (1/2 + 2/3) / 2
    assert gap(pred, conf, true, rank_key=log_conf) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_matches_public_formula_on_random_queries():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 5, size=200)
    true[rng.random(200) < 0.6] = D
    pred = rng.integers(0, 5, size=200)
    conf = rng.random(200)
    # The public implementation (nikosips/met utils.gap), restated.
    rel = (pred == true)[np.argsort(-conf)]
    expected = (np.cumsum(rel) / np.arange(1, 201) * rel).sum() / (true != D).sum()
    assert gap(pred, conf, true) == pytest.approx(expected)
    met = true != D
    rel = (pred[met] == true[met])[np.argsort(-conf[met])]
    expected_minus = (np.cumsum(rel) / np.arange(1, met.sum() + 1) * rel).sum() / met.sum()
    assert gap_minus(pred, conf, true) == pytest.approx(expected_minus)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="shape"):
        gap(np.zeros(3), np.zeros(2), np.zeros(3))


def test_evaluate_agrees_with_the_separate_metrics_under_a_rank_key():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 4, size=300)
    true[rng.random(300) < 0.5] = D
    pred = rng.integers(0, 4, size=300)
    conf = np.round(rng.random(300), 1)  # many ties
    key = (conf, rng.random(300))
    assert evaluate(pred, conf, true, key) == {
        "GAP": gap(pred, conf, true, key),
        "GAP-": gap_minus(pred, conf, true, key),
        "ACC": accuracy(pred, true),
    }
