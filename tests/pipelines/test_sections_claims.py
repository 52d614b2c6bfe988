import numpy as np
import pandas as pd

from artrec.pipelines.report.sections_claims import claims_table


def _predictions(true: np.ndarray, hit: np.ndarray) -> pd.DataFrame:
    names = np.array(["Etching", "Engraving", "Gold"])
    predicted = np.where(hit, true, (true + 1) % 3)
    return pd.DataFrame(
        {
            "image_file": [f"{i}.jpg" for i in range(len(true))],
            "split": "test",
            "true": names[true],
            "predicted": names[predicted],
        }
    )


def _knn_metrics() -> dict:
    rows = {f"row{i}": {"GAP": 10.0 * i, "ACC": 20.0 + i} for i in (1, 2, 3, 4)}
    interval = {"difference": 5.0, "low95": 1.0, "high95": 9.0}
    return {
        **rows,
        "row4_minus": {f"row{i}": {"GAP": interval, "ACC": interval} for i in (1, 2, 3)},
        "test_met_queries": 120,
    }


def test_claims_table_decides_mame_and_marks_missing_systems_not_run():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 3, size=600)
    strong, weak = rng.random(600) < 0.9, rng.random(600) < 0.5
    summary, section = claims_table(
        _predictions(true, weak), _predictions(true, strong),  # VGG11: HR&VS much better
        _predictions(true, strong), _predictions(true, weak),  # ResNet18: LR&FS much better
        _knn_metrics(), {"bootstrap_resamples": 500}, 0, {"mame": {"source": "synthetic"}},
    )
    claims = summary["claims"]
    assert claims["mame_hrvs_beats_lrfs_vgg11"]["verdict"] == "HOLDS"
    assert claims["mame_hrvs_beats_lrfs_resnet18"]["verdict"] == "DOES NOT HOLD"
    assert claims["mame_hrvs_beats_lrfs_vgg11"]["test_items"] == 600
    assert "fine-cue classes (Engraving, Etching)" in claims["mame_hrvs_beats_lrfs_vgg11"]["note"]
    assert claims["met_pcaw_ms_best_gap"]["b"] == 30.0  # row 3 is the best of rows 1-3
    assert claims["met_pcaw_ms_best_gap"]["verdict"] == "HOLDS"
    assert claims["tate_resnet18_beats_simple_cnn"]["verdict"] == "NOT RUN"
    assert sum(summary["counts"].values()) == len(claims)
    assert "SYNTHETIC DATA (mame)" in section.blocks[1].text
    shown = section.blocks[2].frame
    assert list(shown["verdict"][:2]) == ["HOLDS", "DOES NOT HOLD"]
