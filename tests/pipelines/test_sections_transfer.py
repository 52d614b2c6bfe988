"""The transfer report section: claims decided by a paired bootstrap over test images, Tables 1-3
with the paper's numbers beside ours, curves beside the paper's TSV curves when present."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from artrec.pipelines.report.sections_claims import claims_table
from artrec.pipelines.report.sections_transfer import (
    transfer_claims,
    transfer_curves_figure,
    transfer_section,
)


def _runs(rng: np.random.Generator, n: int = 300) -> pd.DataFrame:
    """Predictions where fine tuning and theta-hat are clearly better (90% vs 50% right)."""
    rows = []
    spec = [
        ("rijksmuseum", c, m, "theta", 0.9 if m == "fine_tuning" else 0.5)
        for c in ("material", "type", "artist")
        for m in ("off_the_shelf", "fine_tuning")
    ]
    spec += [
        ("antwerp", c, m, s, 0.9 if s == "theta_hat" else 0.5)
        for c in ("type", "artist")
        for m in ("off_the_shelf", "fine_tuning")
        for s in ("theta", "theta_hat")
    ]
    for collection, challenge, mode, start, p in spec:
        right = rng.random(n) < p
        rows.append(
            pd.DataFrame(
                {
                    "collection": collection,
                    "challenge": challenge,
                    "mode": mode,
                    "start": start,
                    "arch": "resnet18",
                    "ImageId": [f"{i:07d}" for i in range(n)],
                    "split": "test",
                    "true": "a",
                    "predicted": np.where(right, "a", "b"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_claims_hold_when_built_in_and_are_not_run_without_the_stage() -> None:
    fine, hat = transfer_claims(_runs(np.random.default_rng(0)), 500, 0)
    assert fine.verdict == "HOLDS" and fine.test_items == 900
    assert 35 < fine.difference < 45 and fine.low95 > 0
    assert hat.verdict == "HOLDS" and hat.test_items == 1200
    assert "artist/fine_tuning/resnet18" in hat.note
    assert [c.verdict for c in transfer_claims(None, 500, 0)] == ["NOT RUN", "NOT RUN"]


def test_claims_say_does_not_hold_when_reversed() -> None:
    runs = _runs(np.random.default_rng(1))
    runs["mode"] = runs["mode"].map(
        {"fine_tuning": "off_the_shelf", "off_the_shelf": "fine_tuning"}
    )
    fine, _ = transfer_claims(runs, 500, 0)
    assert fine.verdict == "DOES NOT HOLD"


def test_the_claims_table_carries_the_transfer_rows() -> None:
    rng = np.random.default_rng(0)
    names = np.array(["Etching", "Engraving", "Gold"])
    mame = pd.DataFrame(
        {
            "image_file": [f"{i}.jpg" for i in range(60)],
            "split": "test",
            "true": names[np.arange(60) % 3],
            "predicted": names[np.arange(60) % 3],
        }
    )
    interval = {"difference": 5.0, "low95": 1.0, "high95": 9.0}
    knn = {
        **{f"row{i}": {"GAP": 10.0 * i, "ACC": 20.0 + i} for i in (1, 2, 3, 4)},
        "row4_minus": {f"row{i}": {"GAP": interval, "ACC": interval} for i in (1, 2, 3)},
        "test_met_queries": 120,
    }
    summary, _ = claims_table(
        mame,
        mame,
        mame,
        mame,
        knn,
        {"bootstrap_resamples": 200},
        0,
        {"rijksmuseum": {"source": "synthetic"}},
        transfer_predictions=_runs(rng),
    )
    assert summary["claims"]["transfer_finetune_beats_off_the_shelf"]["verdict"] == "HOLDS"
    assert summary["claims"]["transfer_theta_hat_beats_theta"]["verdict"] == "HOLDS"


def _history() -> pd.DataFrame:
    rows = []
    for collection, challenge, mode, start in [
        ("rijksmuseum", "artist", "off_the_shelf", "theta"),
        ("rijksmuseum", "artist", "fine_tuning", "theta"),
        ("rijksmuseum", "artist", "scratch", "he_uniform"),
        ("antwerp", "type", "fine_tuning", "theta_hat"),
    ]:
        for epoch in (1, 2, 3):
            rows.append(
                {
                    "collection": collection,
                    "challenge": challenge,
                    "mode": mode,
                    "start": start,
                    "arch": "resnet18",
                    "epoch": epoch,
                    "val_acc": 0.2 * epoch,
                }
            )
    return pd.DataFrame(rows)


def test_curves_beside_the_papers_when_present(tmp_path: Path) -> None:
    (tmp_path / "rijksmuseum_artist_challenge_full_fine_tuning.tsv").write_text(
        "epochs\tV3\tScratchV3\n0\t0.1\t0.05\n1\t0.2\t0.08\n"
    )
    (tmp_path / "transductive_transfer_learning_antwerpen_type.tsv").write_text(
        "epochs\tImageNet_softmax\tRijksNet_softmax \n0\t0.3\t0.6\n1\t0.4\t0.6\n"
    )
    figure = transfer_curves_figure(_history(), str(tmp_path))
    ours, paper = figure.axes[0], figure.axes[1]
    assert len(ours.lines) == 3 and len(paper.lines) == 2
    assert len(figure.axes[3].lines) == 2  # the Antwerp file, its column names stripped
    missing = transfer_curves_figure(_history(), str(tmp_path / "absent"))
    assert len(missing.axes[1].lines) == 0
    assert "not available" in missing.axes[1].get_title()


def test_section_prints_paper_beside_ours_and_labels_synthetic() -> None:
    table1 = pd.DataFrame(
        [
            {
                "challenge": "material",
                "collection": "rijksmuseum",
                "images": 100,
                "classes": 5,
                "train_images": 80,
                "val_images": 10,
                "test_images": 10,
                "overlap_pct": np.nan,
            },
            {
                "challenge": "material",
                "collection": "antwerp",
                "images": 0,
                "classes": 0,
                "train_images": 0,
                "val_images": 0,
                "test_images": 0,
                "overlap_pct": np.nan,
            },
            {
                "challenge": "type",
                "collection": "antwerp",
                "images": 50,
                "classes": 7,
                "train_images": 40,
                "val_images": 5,
                "test_images": 5,
                "overlap_pct": 14.3,
            },
        ]
    )
    table2 = pd.DataFrame(
        [
            {
                "challenge": "material",
                "architecture": "resnet18",
                "off_the_shelf": 60.0,
                "fine_tuning": 80.0,
                "scratch": 75.0,
                "feature_size": 64,
                "best_epochs": "9/10/8",
            }
        ]
    )
    table3 = pd.DataFrame(
        [
            {
                "challenge": "type",
                "architecture": "resnet18",
                "theta_off_the_shelf": 50.0,
                "theta_hat_off_the_shelf": 60.0,
                "theta_fine_tuning": 70.0,
                "theta_hat_fine_tuning": 75.0,
            }
        ]
    )
    png = io.BytesIO()
    transfer_curves_figure(_history(), None).savefig(png, format="png")
    section = transfer_section(
        table1,
        table2,
        table3,
        {"theta": {"resnet18": "MAMe net"}},
        png.getvalue(),
        png.getvalue(),
        {"rijksmuseum": {"source": "synthetic"}, "antwerp": {"source": "synthetic"}},
        None,
    )
    texts = " ".join(b.text for b in section.blocks if b.kind == "text")
    assert "SYNTHETIC" in texts and "MAMe net" in texts
    tables = {b.title.split(":")[0]: b.frame for b in section.blocks if b.kind == "table"}
    first = tables["Table 1"]
    assert first.loc[first["collection"] == "antwerp", "images (N_t)"].iloc[0] == "x"
    assert 110668 in set(first["paper N_t"])
    second = tables["Table 2"]
    assert set(second["source"]) == {"ours", "paper"}
    assert second.loc[second["network"] == "VGG19", "off the shelf"].iloc[0] == 92.12
    assert (
        tables["Table 3"]
        .loc[tables["Table 3"]["network"] == "ResNet50", "theta-hat + fine tuning"]
        .iloc[0]
        == 78.15
    )
    assert sum(b.kind == "figure" for b in section.blocks) == 2
