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
        _predictions(true, weak),
        _predictions(true, strong),  # VGG11: HR&VS much better
        _predictions(true, strong),
        _predictions(true, weak),  # ResNet18: LR&FS much better
        _knn_metrics(),
        {"bootstrap_resamples": 500},
        0,
        {"mame": {"source": "synthetic"}},
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


def _tate_predictions(hit: np.ndarray) -> pd.DataFrame:
    ids = [str(1000 + i) for i in range(len(hit))]
    return pd.DataFrame({"id": ids, "split": "test", "correct": hit}).iloc[::-1]


def test_tate_claims_are_measured_over_the_same_test_images():
    rng = np.random.default_rng(1)
    true, mame = rng.integers(0, 3, size=300), rng.random(300) < 0.8
    good, poor = rng.random(400) < 0.85, rng.random(400) < 0.55
    metrics = {name: {"best_epoch": 20, "epochs": 20} for name in ("simple_cnn", "resnet18")}
    metrics["resnet18_aug"] = {"best_epoch": 12, "epochs": 20}
    summary, _ = claims_table(
        _predictions(true, mame),
        _predictions(true, mame),
        _predictions(true, mame),
        _predictions(true, mame),
        _knn_metrics(),
        {"bootstrap_resamples": 500},
        0,
        {"tate": {"source": "synthetic"}},
        tate_simple_cnn=_tate_predictions(good),  # the simple CNN beats ResNet18 here
        tate_resnet18=_tate_predictions(poor),
        tate_resnet18_aug=_tate_predictions(poor),  # the same answers as ResNet18
        tate_metrics=metrics,
    )
    claims = summary["claims"]
    resnet = claims["tate_resnet18_beats_simple_cnn"]
    assert resnet["verdict"] == "DOES NOT HOLD" and resnet["test_items"] == 400
    assert resnet["a"] == round(100 * poor.mean(), 4) and resnet["b"] == round(100 * good.mean(), 4)
    assert "kept epoch (of 20): resnet18 20, simple_cnn 20" in resnet["note"]
    assert "resnet18, simple_cnn: validation loss still falling" in resnet["note"]
    augmented = claims["tate_augmented_beats_resnet18"]
    assert augmented["verdict"] == "INCONCLUSIVE" and augmented["difference"] == 0.0
    assert "resnet18_aug 12" in augmented["note"]
