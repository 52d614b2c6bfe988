"""Report nodes: one section per study, then one assembly node that renders HTML and Markdown.

Every section that shows results names its data source; results on synthetic data carry a
banner saying so, and published numbers are printed beside ours where the paper has them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from artrec.reporting.document import Section, render_html, render_markdown
from artrec.reporting.paper import paper_results, synthetic_banner
from artrec.reporting.provenance import git_revision, latest_mlflow_runs, provenance_table


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
        [[k, v] for k, v in stats.items() if not isinstance(v, dict)], columns=["statistic", "value"]
    )
    section.table("All dataset statistics (ours)", details)
    section.figure(
        "Figure 3-style: product size and aspect ratio per class (log scales)",
        size_plot, "mame_size_aspect_plot.png",
    )
    unmapped = coverage[coverage["class"].isna()].head(15) if "class" in coverage else coverage
    section.table("Label map: most frequent unmapped raw medium strings", unmapped)
    if tate.get("available", True) and tate:
        section.table(
            "Label map applied to the real Tate collection metadata (69,202 records)",
            pd.DataFrame([[k, v] for k, v in tate.items() if not isinstance(v, list | dict)],
                         columns=["statistic", "value"]),
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
            ["val", paper["val"]["met"], paper["val"]["other_art"], paper["val"]["non_art"],
             paper["val"]["classes"]],
            ["test", paper["test"]["met"], paper["test"]["other_art"], paper["test"]["non_art"],
             paper["test"]["classes"]],
        ],
        columns=["split", "Met", "other-art", "non-art", "classes"],
    )
    section.table("Table 1 (paper)", paper_rows)
    section.table("Table 1 (ours)", table1)
    section.figure(
        "Figure 5: classes vs images per class (training and queries)",
        class_sizes_plot, "met_class_sizes_plot.png",
    )
    return section


def assemble_report(
    params: dict[str, Any], *sections: Section
) -> tuple[str, str]:
    report = params["report"]
    runs = latest_mlflow_runs(_tracking_uri(), report["mlflow_experiment"])
    sources = {name: spec["source"] for name, spec in params["data"].items() if isinstance(spec, dict)}
    head = Section("Provenance").table(
        "Run", provenance_table(params["profile"], sources, git_revision())
    )
    head.table("MLflow runs behind this report (newest per pipeline)", runs)
    all_sections = [head, *sections]
    return render_html(report["title"], all_sections), render_markdown(report["title"], all_sections)


def _tracking_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()
