"""Report section for training on the Met: Table 6 (parametric and kNN classification, the
untrained starting point and every method), the long-tail study (thesis B.3) and Figure 8; and
the claims rows "kNN beats parametric" and "trained beats untrained" (used by the claims table).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.pipeline import Node, node

from artrec.evaluation.claims import Claim, decided_claim
from artrec.metric_learning.names import METHOD_NAMES
from artrec.reporting.document import Section
from artrec.reporting.paper import synthetic_banner

KNN_VS_PARAMETRIC = "dnet_arcface"  # the paper's Figure 8 reference
CLAIMS = {
    ("knn", "ACC"): Claim(
        "met_knn_beats_parametric",
        "The Met, Table 6",
        "kNN inference beats the parametric classifier (DNet)",
        "test ACC (%)",
        "DNet AF + kNN",
        "DNet AF parametric",
    ),
    ("knn", "GAP"): Claim(
        "met_knn_beats_parametric_gap",
        "The Met, Table 6",
        "kNN inference beats the parametric classifier (DNet)",
        "test GAP (%)",
        "DNet AF + kNN",
        "DNet AF parametric",
    ),
    ("trained", "ACC"): Claim(
        "met_trained_beats_untrained",
        "The Met, Table 6",
        "a backbone trained on the Met beats the untrained one",
        "test ACC (%)",
        "best trained backbone",
        "untrained backbone",
    ),
    ("trained", "GAP"): Claim(
        "met_trained_beats_untrained_gap",
        "The Met, Table 6",
        "a backbone trained on the Met beats the untrained one",
        "test GAP (%)",
        "best trained backbone",
        "untrained backbone",
    ),
}


def met_training_claims(training: dict[str, Any] | None) -> list[Claim]:
    """The claims rows from ``met_training_metrics`` (the train_met_summary stage's paired
    bootstrap over the test queries); NOT RUN rows without it."""
    if training is None:
        return list(CLAIMS.values())
    n = int(training["test_met_queries"])
    best = METHOD_NAMES[training["selected"]]
    claims = []
    for (kind, metric), template in CLAIMS.items():
        if kind == "knn":
            intervals = training["knn_minus_parametric"].get(KNN_VS_PARAMETRIC)
            if intervals is None:
                claims.append(template)
                continue
            values = training["dnet"][KNN_VS_PARAMETRIC]
            a, b = values["knn"][metric], values["parametric"][metric]
            others = {
                METHOD_NAMES[m]: v[metric]["difference"]
                for m, v in training["knn_minus_parametric"].items()
                if m != KNN_VS_PARAMETRIC
            }
            note = "bootstrap over all test queries (distractors resampled too)" + "".join(
                f"; {name}: kNN - parametric {d:+.2f}" for name, d in others.items()
            )
        else:
            intervals = training["best_minus_untrained"]
            a, b = training["best"][metric], training["untrained"][metric]
            template = Claim(**{**template.as_dict(), "system_a": f"{best} (best on validation)"})
            note = (
                f"trained backbone chosen by {training['selected_by']}; kNN, multi-scale, PCAw; "
                "bootstrap over all test queries"
            )
        interval = intervals[metric]
        claims.append(
            decided_claim(
                template,
                a,
                b,
                interval["low95"],
                interval["high95"],
                test_items=n,
                seeds=1,
                note=note,
            )
        )
    return claims


def _verdict_text(training: dict[str, Any]) -> str:
    lines = []
    for m, intervals in training["knn_minus_parametric"].items():
        acc = intervals["ACC"]
        lines.append(
            f"{METHOD_NAMES[m]}: kNN - parametric ACC {acc['difference']:+.1f} points, 95% "
            f"interval [{acc['low95']:+.1f}, {acc['high95']:+.1f}]"
        )
    best = training["best_minus_untrained"]
    lines.append(
        f"best trained backbone ({METHOD_NAMES[training['selected']]}, chosen by "
        f"{training['selected_by']}) - untrained: ACC {best['ACC']['difference']:+.1f} "
        f"[{best['ACC']['low95']:+.1f}, {best['ACC']['high95']:+.1f}], GAP "
        f"{best['GAP']['difference']:+.1f} [{best['GAP']['low95']:+.1f}, "
        f"{best['GAP']['high95']:+.1f}]"
    )
    return (
        f"Paired bootstrap over the {training['test_met_queries']} Met test queries (and the "
        "distractors): " + "; ".join(lines) + "."
    )


def met_training_section(
    table6: pd.DataFrame,
    long_tail: pd.DataFrame,
    figure8: pd.DataFrame,
    figure8_plot: bytes,
    training: dict[str, Any],
    untrained: dict[str, Any],
    inputs: dict[str, Any],
    optim: dict[str, Any],
    dnet: dict[str, Any],
    simsiam: dict[str, Any],
    contrastive: dict[str, Any],
    data: dict[str, Any],
) -> Section:
    source = str(data["met"]["source"])
    section = Section("The Met: training on the Met (paper Table 6, Figure 8; thesis B.3)")
    section.text(synthetic_banner("Met", source))
    section.text(
        f"Starting point (the baseline row): {untrained['description']}. Every method adds the FC "
        "layer initialised from PCA whitening and trains with Adam (weight decay "
        f"{optim['weight_decay']}), backbone learning rate {optim['lr_backbone']} divided by 10 "
        f"halfway, head learning rate {optim['lr_head']} (paper: 1e-7 and 1e-3 from ImageNet "
        f"weights), random crops of scale {inputs['crop_scale']} resized to "
        f"{inputs['image_size']} px (paper: 500), colour jitter {inputs['color_jitter']} with "
        f"p={inputs['color_jitter_p']}, grey-scale p={inputs['grayscale_p']}. Epochs / batch: "
        f"DNet {dnet['epochs']} / {dnet['batch_size']} (paper 25 / 256), SimSiam "
        f"{simsiam['epochs']} / {simsiam['batch_size']} images x 2 views (paper 15 / 64 x 2), "
        f"contrastive {contrastive['epochs']} / {contrastive['batch_size']} pairs (paper 10 / "
        "64). The kept epoch has the best validation accuracy of a single-scale kNN classifier "
        "without PCAw; every row is evaluated at the training size: multi-scale, PCAw, (k, tau) "
        "tuned on validation GAP; the parametric rows tune the soft-max temperature on "
        "validation GAP. The paper's rows start from R18IN."
    )
    section.table(
        "Table 6: GAP / GAP- / ACC (%) on test, paper beside ours (validation metrics: ours)",
        table6,
    )
    section.text(
        f"Backbone used by embed_met (Table 4 above when embed.met.backbone is met): "
        f"{METHOD_NAMES[training['selected']]}, chosen by {training['selected_by']}. "
        + _verdict_text(training)
    )
    section.table(
        "Thesis B.3: long-tail methods beside DNet AF (test %, paper: parametric ACC)",
        long_tail,
        note="Class weighting: each image's loss times the inverse of its class frequency "
        "(mean weight 1); class-balanced sampling: a class drawn uniformly, then an image of it; "
        "classifier retraining: DNet AF's backbone frozen, the classifier re-initialised and "
        "trained with class-balanced sampling (kept epoch: best validation parametric accuracy).",
    )
    section.table(
        "Figure 8 data: DNet AF test accuracy (%) by training images of the query's class, kNN "
        "(its embedding) vs parametric",
        figure8,
        note="The paper plots the kNN classifier's relative improvement (%) over the parametric "
        "one, largest for the classes with fewest training images.",
    )
    section.figure(
        "Figure 8-style: kNN vs parametric by class size", figure8_plot, "met_figure8.png"
    )
    return section


def section_nodes() -> list[Node]:
    return [
        node(
            met_training_section,
            inputs=[
                "met_table6",
                "met_long_tail_table",
                "met_figure8",
                "met_figure8_plot",
                "met_training_metrics",
                "met_untrained_metrics",
                "params:train.met.inputs",
                "params:train.met.optim",
                "params:train.met.dnet",
                "params:train.met.simsiam",
                "params:train.met.contrastive",
                "params:data",
            ],
            outputs="report_section_met_training",
            name="report_met_training",
        )
    ]
