import pandas as pd
import pytest

from artrec.pipelines.evaluate.nodes import throughput_ratio, training_throughput
from artrec.pipelines.report.sections_mame import synthetic_fine_cue_note


def _history(images: list[float], seconds: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "train_seconds": seconds,
            "train_images_per_s": [i / s for i, s in zip(images, seconds, strict=True)],
        }
    )


def test_throughput_is_total_images_over_total_seconds_not_mean_of_rates():
    # One fast and one slow epoch: the mean of rates (55) overstates the real 18.2 images/s.
    history = _history([100, 100], [1.0, 10.0])
    assert training_throughput(history) == pytest.approx(200 / 11)


def test_throughput_ratio_has_an_interval_around_the_total_ratio():
    baseline = _history([100] * 6, [10, 11, 9, 10, 12, 10])
    faster = _history([100] * 6, [5, 5.5, 4.5, 5, 6, 5])
    ratio, low, high = throughput_ratio(faster, baseline)
    assert ratio == pytest.approx(2.0)
    assert low <= ratio <= high


def test_fine_cue_note_checks_the_design_against_the_input_sizes():
    sizes = {"versions": {"hrvs": {"size": 128}, "lrfs": {"size": 48}}}
    assert "WARNING" not in synthetic_fine_cue_note({"fine_cycles": 36}, sizes)
    assert "3.6 px" in synthetic_fine_cue_note({"fine_cycles": 36}, sizes)
    # The old default (48 cycles at 128 px) left 2.7 px, below the visible limit.
    assert "WARNING" in synthetic_fine_cue_note({"fine_cycles": 48}, sizes)
