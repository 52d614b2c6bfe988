"""Report sections for the MAMe classification experiments: Tables 3-4, Figure 5, LRP."""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.pipeline import Node, node

from artrec.reporting.document import Section
from artrec.reporting.paper import synthetic_banner


def mame_classification_section(
    table3: pd.DataFrame,
    table4: pd.DataFrame,
    bucketing: pd.DataFrame,
    comparison: dict[str, Any],
    figure5: bytes,
    lrp: bytes,
    data: dict[str, Any],
    train: dict[str, Any],
) -> Section:
    source = str(data["mame"]["source"])
    section = Section("MAMe: HR&VS vs LR&FS baselines (paper section 4-5)")
    section.text(synthetic_banner("MAMe", source))
    lines = [
        f"{arch}: HR&VS {v['hrvs_test']:.3f} vs LR&FS {v['lrfs_test']:.3f} mean per-class test "
        f"accuracy ({'HR&VS better' if v['hrvs_beats_lrfs'] else 'HR&VS NOT better'}, "
        f"difference {v['hrvs_minus_lrfs']:+.3f})"
        for arch, v in comparison.items()
        if arch != "bucketing"
    ]
    section.text(
        "Headline (the paper: HR&VS beats LR&FS for both architectures). " + "; ".join(lines)
    )
    section.text(
        f"Training settings of this run: epochs {train['epochs']}, width multiplier "
        f"{train['width_mult']}, learning rates {train['lr']}, batch sizes "
        f"{ {k: v['batch_size'] for k, v in train['inputs'].items()} }, AMSGrad, "
        f"initial weights {train.get('init') or 'random (from scratch)'}."
    )
    section.table(
        "Table 3: mean per-class accuracy (%), paper beside ours",
        table3,
        note="The kept model is the epoch with the lowest validation loss.",
    )
    section.table("Table 4: per-class test F1 under both inputs (paper: VGG11 only)", table4)
    section.table(
        "Aspect-ratio bucketing vs batch size 1 for HR&VS (measured in this run)",
        bucketing,
        note="Buckets group images of similar aspect ratio and centre-crop each batch to its "
        "smallest image; same epochs and learning rate as batch 1. Images/s: training pass only, "
        f"speed-up {comparison['bucketing']['speedup_images_per_s']:.1f}x.",
    )
    section.figure(
        "Figure 5: training curves (rows: architecture; columns: LR&FS, HR&VS)",
        figure5,
        "mame_figure5.png",
    )
    section.figure(
        "Figure 6-style LRP explanations of VGG11 (red: for the class, blue: against)",
        lrp,
        "mame_lrp.png",
        note="Composite LRP: LRP-0 on dense layers, LRP-epsilon/gamma (0.25) on "
        "intermediate convolutions, z^B on the first layer. Misclassified images "
        "show E(true) - E(predicted).",
    )
    return section


def section_nodes() -> list[Node]:
    return [
        node(
            mame_classification_section,
            inputs=[
                "mame_table3",
                "mame_table4",
                "mame_bucketing",
                "mame_comparison_metrics",
                "mame_figure5",
                "mame_lrp",
                "params:data",
                "params:train.mame",
            ],
            outputs="report_section_mame_classification",
            name="report_mame_classification",
        )
    ]
