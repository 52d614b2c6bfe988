"""Report section for the Tate media study (the Tate poster): the dataset, the poster's results
table with the paper beside ours, per-class and per-tag accuracy, the confusion matrix and the
LRP saliency maps."""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.pipeline import Node, node

from artrec.reporting.document import Section
from artrec.reporting.paper import synthetic_banner


def tate_section(
    results: pd.DataFrame,
    per_class: pd.DataFrame,
    per_tag: pd.DataFrame,
    metrics: dict[str, Any],
    dataset_metrics: dict[str, Any],
    classes: pd.DataFrame,
    confusion: bytes,
    saliency: bytes,
    data: dict[str, Any],
    train: dict[str, Any],
) -> Section:
    source = str(data["tate"]["source"])
    section = Section("Tate: medium recognition (the Tate media poster)")
    section.text(synthetic_banner("Tate", source))
    if source == "synthetic":
        section.text(
            "By design of the synthetic data: the metadata follows the real description "
            "frequencies (conf/base/tate_media.csv), and each thumbnail is drawn from its "
            "description's medium tags with the MAMe drawers (graphite, ink, prints, oil on "
            "canvas; watercolour as a wash over them). Etching, engraving and 'intaglio print' "
            "(drawn as either) differ only in their line work, so they are the hard classes."
        )
    images = dataset_metrics.get("images", {})
    section.text(
        f"Classes: the {len(classes)} most frequent medium descriptions among records with a "
        f"thumbnail ({dataset_metrics.get('records')} records); images per split "
        f"{images}. Inputs: shorter side resized and centre-cropped to {train['image_size']} px "
        f"(poster: 224), normalised. SGD (momentum 0.9), {train['epochs']} epochs, the kept "
        f"epoch has the lowest validation loss; learning rates {train['lr']}. ResNet18 start: "
        f"{_init_text(train.get('init'))}; the augmented system freezes {train['freeze']}."
    )
    section.table(
        "Classes and their medium tags (multi-binary targets)",
        classes[["name", "tags", "images"]],
    )
    section.table(
        "Poster table: accuracy (%) per split, paper beside ours",
        results,
        note="Multi-binary: an image counts as right when its whole predicted tag set equals "
        "its class's tag set (the poster's overall accuracy). The claims table at the top "
        "gives the differences between systems with 95% intervals.",
    )
    section.table("Figure 3-style: test accuracy (%) per class", per_class)
    section.table(
        "Figure 5-style: test accuracy (%) per medium tag (tag present or absent predicted "
        "right; single-label systems: the tags of the predicted class)",
        per_tag,
        note="The poster: individual tags are recognised well, whole tag sets much less often.",
    )
    best = metrics.get("confusion_system", "")
    section.figure(
        f"Figure 7-style: test confusion matrix ({best}, best validation accuracy)",
        confusion,
        "tate_confusion.png",
    )
    section.figure(
        "Figure 6-style: LRP saliency of the true class (red: for, blue: against)",
        saliency,
        "tate_saliency.png",
        note="The project's composite LRP (zennit; artrec.evaluation.lrp): z^B on the first "
        "convolution, gamma on the early and epsilon on the late layers, LRP-0 on dense layers; "
        "ResNet residual sums split proportionally.",
    )
    return section


def _init_text(init: object) -> str:
    if init == "mame":
        return "the project's MAMe-trained ResNet18 (no ImageNet weights here)"
    return str(init) if init else "random weights"


def section_nodes() -> list[Node]:
    return [
        node(
            tate_section,
            inputs=[
                "tate_results",
                "tate_per_class",
                "tate_per_tag",
                "tate_metrics",
                "tate_dataset_metrics",
                "tate_classes",
                "tate_confusion",
                "tate_saliency",
                "params:data",
                "params:train.tate",
            ],
            outputs="report_section_tate",
            name="report_tate",
        )
    ]
