"""Report sections for the Met recognition experiments: Table 4 and the appendix-B studies."""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.pipeline import Node, node

from artrec.reporting.document import Section
from artrec.reporting.paper import synthetic_banner


def _table4_verdict(table4: pd.DataFrame) -> str:
    """Is PCAw + multi-scale (row 4) at least as good as the other tuned rows, per metric?"""
    tuned = table4[table4["id"].isin([1, 2, 3, 4])].set_index("id")
    lines = []
    for metric in ("GAP", "GAP-", "ACC"):
        column = f"{metric} (ours)"
        best_other = tuned.drop(index=4)[column].max()
        row4 = tuned.loc[4, column]
        verdict = "at least as good as" if row4 >= best_other - 1e-9 else "BELOW"
        lines.append(
            f"{metric}: row 4 {row4:.1f} is {verdict} the best other row ({best_other:.1f})"
        )
    return "PCAw + multi-scale (row 4) vs rows 1-3: " + "; ".join(lines) + "."


def met_recognition_section(
    table4: pd.DataFrame,
    embed: dict[str, Any],
    pcaw: dict[str, Any],
    table_b1: pd.DataFrame,
    dims: pd.DataFrame,
    dims_plot: bytes,
    by_size: pd.DataFrame,
    by_size_plot: bytes,
    mini: dict[str, Any],
    examples: bytes,
    data: dict[str, Any],
) -> Section:
    source = str(data["met"]["source"])
    section = Section("The Met: kNN recognition with GeM descriptors (paper sections 3-4)")
    section.text(synthetic_banner("Met", source))
    section.text(
        f"Backbone of every row: {embed['backbone']}. Descriptor dimension {embed['dimension']}; "
        f"PCA whitening (shrinkage {pcaw['shrinkage']}) to {pcaw['output_dim']} dimensions "
        f"(requested {pcaw['requested_dim']}, capped by the data), learned on "
        f"{pcaw['training_descriptors']} database descriptors. Extraction: "
        f"{sum(embed['images'].values())} images at {embed['images_per_s']:.1f} images/s on "
        f"{embed['device']}. The paper's rows use R18IN (ImageNet ResNet18)."
    )
    section.table(
        "Table 4: kNN ablation, GAP / GAP- / ACC (%), paper beside ours",
        table4,
        note="(k, tau) tuned on validation GAP (distractors included, except row 6) over the "
        "paper's grid; row 5 fixes k = 1, where tau does not change the ranking. Confidences are "
        "ranked in the log domain (no ties at tau = 500; see artrec.retrieval.knn).",
    )
    section.text(_table4_verdict(table4))
    section.table(
        "Table B.1: test metrics (%) for shares of distractor queries kept in val (tuning) and "
        "test",
        table_b1,
        note="A share below 1 removes a seeded random subset of the distractors.",
    )
    section.table("Figure B.1 data: test metrics (%) vs PCAw dimension (multi-scale)", dims)
    section.figure(
        "Figure B.1-style: metrics vs PCAw dimension", dims_plot, "met_pcaw_dims_plot.png"
    )
    section.table(
        "Figure 8 data: kNN test accuracy (%) by the number of training images of the query's "
        "class (PCAw + multi-scale)",
        by_size,
    )
    section.figure(
        "Figure 8-style: accuracy by training images per class",
        by_size_plot,
        "met_accuracy_by_class_size_plot.png",
    )
    paper = mini["paper"]
    section.table(
        "Thesis B.4: the mini database (PCAw + multi-scale), paper beside ours",
        pd.DataFrame(
            [
                ["images", paper["images"], mini["images"]],
                ["classes", paper["classes"], mini["classes"]],
                ["GAP (%)", paper["GAP"], mini["GAP"]],
                ["GAP- (%)", paper["GAP-"], mini["GAP-"]],
                ["ACC (%)", paper["ACC"], mini["ACC"]],
            ],
            columns=["", "paper (R18IN)", "ours"],
        ),
    )
    section.figure("Figure 1-style examples", examples, "met_examples.png")
    return section


def section_nodes() -> list[Node]:
    return [
        node(
            met_recognition_section,
            inputs=[
                "met_table4",
                "met_embed_metrics",
                "met_pcaw_ms_metrics",
                "met_table_b1",
                "met_pcaw_dims",
                "met_pcaw_dims_plot",
                "met_accuracy_by_class_size",
                "met_accuracy_by_class_size_plot",
                "met_mini_metrics",
                "met_examples_plot",
                "params:data",
            ],
            outputs="report_section_met_recognition",
            name="report_met_recognition",
        )
    ]
