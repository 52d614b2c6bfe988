"""The Met training section (Table 6, B.3, Figure 8) and its claims rows."""

import pandas as pd

from artrec.pipelines.report.sections_claims import claims_table
from artrec.pipelines.report.sections_met_training import (
    met_training_claims,
    met_training_section,
)


def _interval(difference, low, high):
    return {"difference": difference, "low95": low, "high95": high}


def _training() -> dict:
    return {
        "test_met_queries": 120,
        "selected": "con_syn",
        "selected_by": "validation GAP",
        "untrained": {"GAP": 1.0, "GAP-": 2.0, "ACC": 8.0},
        "best": {"GAP": 4.0, "GAP-": 5.0, "ACC": 20.0},
        "best_minus_untrained": {
            "GAP": _interval(3.0, 0.5, 5.5),
            "GAP-": _interval(3.0, -1.0, 6.0),
            "ACC": _interval(12.0, 4.0, 20.0),
        },
        "knn_minus_parametric": {
            "dnet_arcface": {
                "GAP": _interval(-1.0, -2.0, -0.1),
                "GAP-": _interval(0.0, -1.0, 1.0),
                "ACC": _interval(2.0, -3.0, 7.0),
            },
            "dnet_ce": {
                "GAP": _interval(1.0, 0.1, 2.0),
                "GAP-": _interval(0.0, -1.0, 1.0),
                "ACC": _interval(4.0, 1.0, 7.0),
            },
        },
        "dnet": {
            "dnet_arcface": {
                "knn": {"GAP": 2.0, "ACC": 12.0},
                "parametric": {"GAP": 3.0, "ACC": 10.0},
            }
        },
    }


def test_claims_are_decided_from_the_bootstrap_intervals():
    claims = {c.id: c for c in met_training_claims(_training())}
    assert claims["met_trained_beats_untrained"].verdict == "HOLDS"
    assert claims["met_trained_beats_untrained"].a == 20.0
    assert claims["met_trained_beats_untrained"].b == 8.0
    assert claims["met_trained_beats_untrained"].system_a == "Con-Syn (best on validation)"
    assert claims["met_trained_beats_untrained_gap"].verdict == "HOLDS"
    assert claims["met_knn_beats_parametric"].verdict == "INCONCLUSIVE"
    assert claims["met_knn_beats_parametric_gap"].verdict == "DOES NOT HOLD"
    assert "DNet CE: kNN - parametric +4.00" in claims["met_knn_beats_parametric"].note
    assert all(c.test_items == 120 for c in claims.values())
    not_run = met_training_claims(None)
    assert {c.verdict for c in not_run} == {"NOT RUN"} and len(not_run) == 4


def test_claims_table_includes_the_measured_met_training_rows():
    import numpy as np

    from tests.pipelines.test_sections_claims import _knn_metrics, _predictions

    true = np.arange(30) % 3
    hit = np.ones(30, bool)
    summary, _ = claims_table(
        *[_predictions(true, hit)] * 4,
        _knn_metrics(),
        {"bootstrap_resamples": 50},
        0,
        met_training=_training(),
    )
    assert summary["claims"]["met_trained_beats_untrained"]["verdict"] == "HOLDS"
    pending, _ = claims_table(
        *[_predictions(true, hit)] * 4, _knn_metrics(), {"bootstrap_resamples": 50}, 0
    )
    assert pending["claims"]["met_knn_beats_parametric"]["verdict"] == "NOT RUN"


def test_section_prints_paper_beside_ours_and_labels_synthetic_data():
    table6 = pd.DataFrame(
        [
            {
                "classifier": "kNN",
                "method": "untrained (baseline)",
                "ACC (paper)": 42.3,
                "ACC (ours)": 8.0,
            }
        ]
    )
    long_tail = pd.DataFrame(
        [
            {
                "method": "class weighting",
                "ACC parametric (paper)": 35.8,
                "ACC parametric (ours)": 5.0,
            }
        ]
    )
    figure8 = pd.DataFrame(
        [
            {
                "training_images": "1",
                "queries": 3,
                "ACC kNN": 10.0,
                "ACC parametric": 5.0,
                "kNN vs parametric (%)": 100.0,
            }
        ]
    )
    settings = {"epochs": 2, "batch_size": 8}
    section = met_training_section(
        table6,
        long_tail,
        figure8,
        b"png",
        _training(),
        {"description": "MAMe ResNet18"},
        {
            "image_size": 96,
            "crop_scale": [0.7, 1.0],
            "color_jitter": [0.4, 0.4, 0.4, 0.1],
            "color_jitter_p": 0.8,
            "grayscale_p": 0.2,
        },
        {"weight_decay": 1e-6, "lr_backbone": 2e-4, "lr_head": 1e-2},
        settings,
        settings,
        settings,
        {"met": {"source": "synthetic"}},
    )
    texts = " ".join(getattr(block, "text", "") or "" for block in section.blocks)
    assert "SYNTHETIC DATA" in texts and "MAMe ResNet18" in texts
    assert "Con-Syn, chosen by validation GAP" in texts
    assert "ACC +12.0 [+4.0, +20.0]" in texts
    frames = [block.frame for block in section.blocks if getattr(block, "frame", None) is not None]
    assert frames[0]["ACC (paper)"].tolist() == [42.3]
    assert len(frames) == 3
