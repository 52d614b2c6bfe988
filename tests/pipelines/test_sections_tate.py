"""The Tate report section: SYNTHETIC label, the paper beside ours, the tables and figures."""

from __future__ import annotations

import pandas as pd

from artrec.pipelines.report.sections_tate import tate_section
from artrec.reporting.document import render_markdown


def _section(source: str):
    results = pd.DataFrame(
        {"system": ["Simple CNN"], "test (ours)": [80.0], "test (paper)": [56.5]}
    )
    classes = pd.DataFrame(
        {"name": ["Graphite on paper"], "tags": ["graphite;paper"], "images": [120]}
    )
    return tate_section(
        results,
        pd.DataFrame({"class": ["Graphite on paper"], "Simple CNN": [100.0]}),
        pd.DataFrame({"tag": ["graphite"], "Simple CNN": [99.0]}),
        {"confusion_system": "Simple CNN"},
        {"records": 12000, "images": {"train": 500, "val": 200, "test": 500}},
        classes,
        b"png-confusion",
        b"png-saliency",
        {"tate": {"source": source}},
        {
            "image_size": 56,
            "epochs": 20,
            "lr": {"simple_cnn": 0.02},
            "init": "mame",
            "freeze": ["conv1", "layer1"],
        },
    )


def test_synthetic_results_are_labelled_and_printed_beside_the_paper() -> None:
    markdown = render_markdown("report", [_section("synthetic")])
    assert "SYNTHETIC DATA: the Tate results" in markdown
    table = markdown.split("Poster table")[1]
    assert "Simple CNN" in table.splitlines()[4] and "56.5" in table.splitlines()[4]
    assert "56.5" in markdown and "MAMe-trained ResNet18" in markdown
    assert "tate_confusion.png" in markdown and "tate_saliency.png" in markdown


def test_official_data_is_named() -> None:
    section = _section("official")
    assert "official Tate data" in section.blocks[0].text
    assert not any("By design of the synthetic data" in b.text for b in section.blocks)
