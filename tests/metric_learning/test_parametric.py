"""The DNet classifier's inference: soft-max of T x cosines, T tuned on validation GAP."""

import numpy as np
import pytest
from scipy.special import softmax

from artrec.metric_learning.parametric import parametric_predict, tune_temperature


def test_prediction_is_the_arg_max_and_confidence_the_soft_max_maximum():
    cosines = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.8]])
    prediction = parametric_predict(cosines, 10.0)
    assert prediction.labels.tolist() == [0, 2]
    expected = softmax(10.0 * cosines, axis=1).max(axis=1)
    assert prediction.confidence == pytest.approx(expected)
    assert prediction.log_confidence == pytest.approx(np.log(expected))


def test_temperature_is_tuned_on_gap_with_distractors():
    # query 0 correct, query 1 a distractor with a close runner-up: a low temperature ranks by
    # the distance to the mean score (the distractor first, GAP 1/2), a high one by the margin
    # to the runner-up (the correct query first, GAP 1).
    cosines = np.array([[0.9, 0.3, 0.3], [0.8, 0.75, -0.9]])
    labels = np.array([0, -1])
    tau, grid = tune_temperature(cosines, labels, [0.01, 10.0])
    assert tau == 10.0
    assert grid.set_index("tau").loc[10.0, "GAP"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        parametric_predict(cosines, 0.0)
