"""The claims table at the top of the report: each qualitative claim of the four papers, decided
on this run's numbers with a 95% paired-bootstrap interval (``artrec.evaluation.claims``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from kedro.pipeline import Node, node

from artrec.evaluation.claims import Claim, decided_claim
from artrec.pipelines.report.bootstrap_claims import bootstrap_claim
from artrec.pipelines.report.sections_met_training import met_training_claims
from artrec.pipelines.report.sections_transfer import transfer_claims
from artrec.reporting.document import Section

ARCH_NAMES = {"vgg11": "VGG11", "resnet18": "ResNet18"}
TABLE4_METRICS = ("GAP", "ACC")
# Pairs of MAMe classes that the synthetic data draws alike except for fine cues (artrec.synth).
FINE_CUE_PAIRS = (
    ("Engraving", "Etching"),
    ("Hand-colored engraving", "Hand-colored etching"),
    ("Woven fabric", "Silk and metal thread"),
    ("Oil on canvas", "Polychromed wood"),
    ("Iron", "Steel"),
)

# Claims whose systems are not built yet (their issues are open); they print as NOT RUN.
PENDING_CLAIMS: tuple[Claim, ...] = ()
# The Tate poster's orderings (train_tate stage): (claim, system A, system B); NOT RUN when the
# systems' predictions are not given.
TATE_CLAIMS = (
    (
        Claim(
            "tate_resnet18_beats_simple_cnn",
            "Tate media poster",
            "ResNet18 beats the simple CNN baseline",
            "test accuracy (%)",
            "ResNet18",
            "simple CNN",
        ),
        "resnet18",
        "simple_cnn",
    ),
    (
        Claim(
            "tate_augmented_beats_resnet18",
            "Tate media poster",
            "ResNet18 with augmentation and frozen layers beats plain ResNet18",
            "test accuracy (%)",
            "ResNet18 (aug, frozen)",
            "ResNet18",
        ),
        "resnet18_aug",
        "resnet18",
    ),
)


def _test_correct(predictions: pd.DataFrame) -> pd.DataFrame:
    test = predictions[predictions["split"] == "test"].set_index("image_file").sort_index()
    return pd.DataFrame({"true": test["true"], "correct": test["true"] == test["predicted"]})


def mame_claim(
    arch: str, lrfs: pd.DataFrame, hrvs: pd.DataFrame, n_resamples: int, seed: int
) -> Claim:
    """HR&VS beats LR&FS in mean per-class test accuracy, paired over the same test images."""
    a, b = _test_correct(hrvs), _test_correct(lrfs)
    if not a.index.equals(b.index):
        raise ValueError(f"MAMe {arch}: HR&VS and LR&FS were tested on different images")
    template = Claim(
        f"mame_hrvs_beats_lrfs_{arch}",
        "MAMe, Table 3",
        f"HR&VS inputs beat LR&FS inputs ({ARCH_NAMES[arch]})",
        "mean per-class test acc (%)",
        f"{ARCH_NAMES[arch]} HR&VS",
        f"{ARCH_NAMES[arch]} LR&FS",
    )
    note = "bootstrap over test images, resampled within each class"
    present = set(a["true"])
    fine = a["true"].isin([c for pair in FINE_CUE_PAIRS if set(pair) <= present for c in pair])
    if fine.any():
        # The measured reason behind the verdict: are the classes that differ only in fine
        # detail (visible at HR&VS, averaged away at LR&FS in the synthetic data) told apart?
        note += (
            f"; accuracy on the fine-cue classes ({', '.join(sorted(set(a['true'][fine])))}): "
            f"HR&VS {100 * a['correct'][fine].mean():.1f}%, "
            f"LR&FS {100 * b['correct'][fine].mean():.1f}%"
        )
    return bootstrap_claim(
        template,
        a["correct"].to_numpy(),
        b["correct"].to_numpy(),
        groups=a["true"].to_numpy(),
        n_resamples=n_resamples,
        seed=seed,
        note=note,
    )


def tate_claims(
    predictions: dict[str, pd.DataFrame | None],
    metrics: dict[str, Any] | None,
    n_resamples: int,
    seed: int,
) -> list[Claim]:
    """The Tate poster's orderings in test accuracy, paired bootstrap over the same test images
    (the poster reports plain accuracy; the curated test set is balanced per class). The note
    gives each system's kept epoch: a kept last epoch means validation loss was still falling."""
    claims = []
    for template, a_name, b_name in TATE_CLAIMS:
        a_frame, b_frame = predictions.get(a_name), predictions.get(b_name)
        if a_frame is None or b_frame is None:
            claims.append(template)
            continue
        a, b = (_tate_test(f) for f in (a_frame, b_frame))
        if not a.index.equals(b.index):
            raise ValueError(f"Tate {a_name} and {b_name} were tested on different images")
        note = "bootstrap over test images"
        if metrics:
            kept = ", ".join(f"{n} {metrics[n].get('best_epoch')}" for n in (a_name, b_name))
            epochs = metrics[a_name].get("epochs")
            note += f"; kept epoch (of {epochs}): {kept}"
            still = [n for n in (a_name, b_name) if metrics[n].get("best_epoch") == epochs]
            if still:
                note += (
                    f" ({', '.join(still)}: validation loss still falling at the last epoch, "
                    "not trained to convergence)"
                )
        claims.append(
            bootstrap_claim(
                template, a.to_numpy(), b.to_numpy(), n_resamples=n_resamples, seed=seed, note=note
            )
        )
    return claims


def _tate_test(predictions: pd.DataFrame) -> pd.Series:
    test = predictions[predictions["split"] == "test"]
    return test.set_index(test["id"].astype(str)).sort_index()["correct"].astype(bool)


def met_table4_claims(knn: dict[str, Any]) -> list[Claim]:
    """PCAw + multi-scale (row 4) beats the best of rows 1-3, per metric, with the knn stage's
    paired bootstrap over test queries (GAP is not a per-item mean, so it is resampled there)."""
    claims = []
    for metric in TABLE4_METRICS:
        best_other = max((1, 2, 3), key=lambda row: knn[f"row{row}"][metric])
        interval = knn["row4_minus"][f"row{best_other}"][metric]
        template = Claim(
            f"met_pcaw_ms_best_{metric.lower()}",
            "The Met, Table 4",
            "PCA whitening + multi-scale (row 4) is the best of rows 1-4",
            f"test {metric} (%)",
            "row 4 (PCAw + MS)",
            f"row {best_other} (best of rows 1-3)",
        )
        claims.append(
            decided_claim(
                template,
                knn["row4"][metric],
                knn[f"row{best_other}"][metric],
                interval["low95"],
                interval["high95"],
                test_items=int(knn["test_met_queries"]),
                seeds=1,
                note="bootstrap over all test queries; test items = Met queries "
                "(distractors are resampled too)",
            )
        )
    return claims


def claims_table(
    vgg11_lrfs: pd.DataFrame,
    vgg11_hrvs: pd.DataFrame,
    resnet18_lrfs: pd.DataFrame,
    resnet18_hrvs: pd.DataFrame,
    met_knn: dict[str, Any],
    params: dict[str, Any],
    seed: int,
    data: dict[str, Any] | None = None,
    tate_simple_cnn: pd.DataFrame | None = None,
    tate_resnet18: pd.DataFrame | None = None,
    tate_resnet18_aug: pd.DataFrame | None = None,
    tate_metrics: dict[str, Any] | None = None,
    transfer_predictions: pd.DataFrame | None = None,
    met_training: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Section]:
    """Every claim as a row (``claims.json``, a DVC metrics file) and the report's first section."""
    n_resamples = int(params["bootstrap_resamples"])
    claims = [
        mame_claim("vgg11", vgg11_lrfs, vgg11_hrvs, n_resamples, seed),
        mame_claim("resnet18", resnet18_lrfs, resnet18_hrvs, n_resamples, seed),
        *met_table4_claims(met_knn),
        *met_training_claims(met_training),
        *PENDING_CLAIMS,
        *transfer_claims(transfer_predictions, n_resamples, seed),
        *tate_claims(
            {
                "simple_cnn": tate_simple_cnn,
                "resnet18": tate_resnet18,
                "resnet18_aug": tate_resnet18_aug,
            },
            tate_metrics,
            n_resamples,
            seed,
        ),
    ]
    rows = [c.as_dict() for c in claims]
    frame = pd.DataFrame(rows)
    shown = frame[
        [
            "paper",
            "claim",
            "metric",
            "system_a",
            "a",
            "system_b",
            "b",
            "difference",
            "low95",
            "high95",
            "verdict",
            "test_items",
            "note",
        ]
    ].copy()
    shown.columns = [
        "paper",
        "claim",
        "metric",
        "A",
        "A value",
        "B",
        "B value",
        "A - B",
        "95% low",
        "95% high",
        "verdict",
        "test items",
        "note",
    ]
    for column in ("A value", "B value", "A - B", "95% low", "95% high"):
        shown[column] = shown[column].astype(float).round(2)
    section = Section("Claims: do the papers' qualitative findings hold in this run?")
    section.text(
        "Each row compares two systems of this run on the same test items. The interval is a "
        f"95% paired bootstrap ({n_resamples} resamples, seed {seed}) over test items: HOLDS "
        "when it lies above zero, DOES NOT HOLD when below, INCONCLUSIVE when it contains zero "
        "(the test set cannot tell), NOT RUN when a system is not built yet. Another seed "
        "(`dvc exp run --set-param seed=N`) gives another sample of every number."
    )
    synthetic = sorted(
        name
        for name, spec in (data or {}).items()
        if isinstance(spec, dict) and spec.get("source") == "synthetic"
    )
    if synthetic:
        section.text(
            f"SYNTHETIC DATA ({', '.join(synthetic)}): these verdicts test whether the pipeline "
            "finds the effects built into the embedded synthetic data; they say nothing about "
            "the papers' claims on the official data."
        )
    section.table("Claims table", shown)
    summary = {
        "claims": {row["id"]: _json_row(row) for row in rows},
        "counts": {
            verdict: int(np.sum(frame["verdict"] == verdict))
            for verdict in ("HOLDS", "DOES NOT HOLD", "INCONCLUSIVE", "NOT RUN")
        },
    }
    return summary, section


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """Numbers rounded for a readable metrics file; None stays (dvc metrics shows '-')."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def section_nodes() -> list[Node]:
    return [
        node(
            claims_table,
            inputs=[
                "mame_vgg11_lrfs_predictions",
                "mame_vgg11_hrvs_predictions",
                "mame_resnet18_lrfs_predictions",
                "mame_resnet18_hrvs_predictions",
                "met_knn_metrics",
                "params:claims",
                "params:seed",
                "params:data",
                "tate_simple_cnn_predictions",
                "tate_resnet18_predictions",
                "tate_resnet18_aug_predictions",
                "tate_metrics",
                "transfer_predictions",
                "met_training_metrics",
            ],
            outputs=["claims", "report_section_claims"],
            name="report_claims",
        )
    ]
