"""Report sections for the datasets: MAMe curation (Table 1, section 3.3) and the Met (Table 1).

Every section names its data source; synthetic data carries a banner saying so, and published
numbers are printed beside ours where the paper has them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.pipeline import Node, node

from artrec.reporting.document import Section
from artrec.reporting.paper import paper_results, synthetic_banner


def mame_dataset_section(
    table1: pd.DataFrame,
    stats: dict[str, Any],
    size_plot: bytes,
    coverage: pd.DataFrame,
    tate: dict[str, Any],
    data: dict[str, Any],
) -> Section:
    source = str(data["mame"]["source"])
    section = Section("MAMe: dataset (paper section 3)").text(synthetic_banner("MAMe", source))
    section.table("Table 1: images per class, museum and split", table1)
    paper = paper_results()["mame"]["dataset_statistics"]
    rows = [
        ["images", paper["images"], stats.get("images")],
        ["train images", paper["splits"]["train"], stats.get("splits", {}).get("train")],
        ["val images", paper["splits"]["val"], stats.get("splits", {}).get("val")],
        ["test images", paper["splits"]["test"], stats.get("splits", {}).get("test")],
        ["classes", paper["classes"], stats.get("classes")],
        ["min product size (px)", paper["min_product_size_px"], stats.get("min_product_size")],
    ]
    section.table(
        "Section 3.3 figures, paper beside ours",
        pd.DataFrame(rows, columns=["statistic", "paper", "ours"]),
        note="Ours: computed from the curated dataset table by the curate stage.",
    )
    details = pd.DataFrame(
        [[k, v] for k, v in stats.items() if not isinstance(v, dict)],
        columns=["statistic", "value"],
    )
    section.table("All dataset statistics (ours)", details)
    section.figure(
        "Figure 3-style: product size and aspect ratio per class (log scales)",
        size_plot,
        "mame_size_aspect_plot.png",
    )
    unmapped = coverage[coverage["class"].isna()].head(15) if "class" in coverage else coverage
    section.table("Label map: most frequent unmapped raw medium strings", unmapped)
    if tate.get("available", True) and tate:
        section.table(
            "Label map applied to the real Tate collection metadata (69,202 records)",
            pd.DataFrame(
                [[k, v] for k, v in tate.items() if not isinstance(v, list | dict)],
                columns=["statistic", "value"],
            ),
        )
    return section


def met_dataset_section(
    table1: pd.DataFrame, class_sizes_plot: bytes, data: dict[str, Any]
) -> Section:
    source = str(data["met"]["source"])
    section = Section("The Met: dataset (paper section 2)").text(synthetic_banner("Met", source))
    paper = paper_results()["met"]["table1_splits"]
    paper_rows = pd.DataFrame(
        [
            ["train", paper["train"]["met_images"], None, None, paper["train"]["classes"]],
            [
                "val",
                paper["val"]["met"],
                paper["val"]["other_art"],
                paper["val"]["non_art"],
                paper["val"]["classes"],
            ],
            [
                "test",
                paper["test"]["met"],
                paper["test"]["other_art"],
                paper["test"]["non_art"],
                paper["test"]["classes"],
            ],
        ],
        columns=["split", "Met", "other-art", "non-art", "classes"],
    )
    section.table("Table 1 (paper)", paper_rows)
    section.table("Table 1 (ours)", table1)
    section.figure(
        "Figure 5: classes vs images per class (training and queries)",
        class_sizes_plot,
        "met_class_sizes_plot.png",
    )
    return section


def section_nodes() -> list[Node]:
    return [
        node(
            mame_dataset_section,
            inputs=[
                "mame_table1",
                "mame_dataset_metrics",
                "mame_size_aspect_plot",
                "mame_label_coverage",
                "mame_tate_coverage",
                "params:data",
            ],
            outputs="report_section_mame_dataset",
            name="report_mame_dataset",
        ),
        node(
            met_dataset_section,
            inputs=["met_table1", "met_class_sizes_plot", "params:data"],
            outputs="report_section_met_dataset",
            name="report_met_dataset",
        ),
    ]
