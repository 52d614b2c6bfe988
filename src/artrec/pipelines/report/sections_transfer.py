"""Report section for transfer learning for art (Sabatelli et al. 2018): Tables 1-3, validation
curves in the style of Figures 2-3 beside the paper's, VisualBackProp (Figure 4), and the two
claims (fine tuning beats off the shelf; theta-hat beats theta), decided with a paired bootstrap
over test images.

The paper's per-epoch curves (``transfer.paper_curves``: the TSV files published with its code,
``../shared/reference/transfer_learning_curves``) are read at report time when present; the
report says so when they are not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.pipeline import Node, node
from matplotlib.figure import Figure

from artrec.evaluation.claims import Claim
from artrec.pipelines.report.bootstrap_claims import bootstrap_claim
from artrec.reporting.document import Section
from artrec.reporting.paper import paper_results, synthetic_banner

FIRST, SECOND = "rijksmuseum", "antwerp"
PAPER_NETWORKS = ("Xception", "InceptionV3", "ResNet50", "VGG19")
PAPER_COLOURS = {
    "ResNet": "tab:blue",
    "V3": "tab:purple",
    "VGG19": "tab:red",
    "Xception": "tab:brown",
}
# The paper's curve files: challenge -> (off the shelf, fine tuning) on the first collection.
PAPER_CURVE_FILES = {
    "material": (
        "rijksmuseum_material_challenge_only_softmax.tsv",
        "rijksmuseum_material_challenge_full_fine_tuning.tsv",
    ),
    "type": (
        "rijksmuseum_type_challenge_only_softmax.tsv",
        "rijksmuseum_type_challenge_full_fine_tuning.tsv",
    ),
    "artist": (
        "rijksmuseum_artist_challenge_only_softmax.tsv",
        "rijksmuseum_artist_challenge_full_fine_tuning.tsv",
    ),
}
PAPER_TRANSFER_FILES = {
    "type": "transductive_transfer_learning_antwerpen_type.tsv",
    "artist": "transductive_transfer_learning_antwerpen_artist.tsv",
}
FINE_TUNE_CLAIM = Claim(
    "transfer_finetune_beats_off_the_shelf",
    "Transfer learning, Table 2",
    "fine tuning beats off-the-shelf features",
    "test accuracy (%), mean over challenges",
    "fine tuned",
    "off the shelf",
)
THETA_HAT_CLAIM = Claim(
    "transfer_theta_hat_beats_theta",
    "Transfer learning, Table 3",
    "starting from weights fine-tuned on another art collection (theta-hat) beats ImageNet (theta)",
    "test accuracy (%), mean over challenges x modes",
    "theta-hat",
    "theta",
)


# ---- claims -------------------------------------------------------------------------------------
def _paired(
    predictions: pd.DataFrame, a: dict[str, str], b: dict[str, str], group_by: list[str]
) -> pd.DataFrame:
    """Test items scored by both systems (matched on collection, challenge, architecture, image
    and the ``group_by`` keys other than those that tell A from B): correct_a, correct_b, group."""
    test = predictions[predictions["split"] == "test"].assign(
        correct=lambda f: f["true"] == f["predicted"]
    )
    keys = ["collection", "challenge", "arch", "ImageId"]
    pick = {}
    for side, selector in (("a", a), ("b", b)):
        part = test
        for column, value in selector.items():
            part = part[part[column] == value]
        extra = [c for c in group_by if c not in selector and c not in keys]
        pick[side] = part.set_index(keys + extra)["correct"].rename(f"correct_{side}")
    joined = pd.concat([pick["a"], pick["b"]], axis=1, join="inner").reset_index()
    joined["group"] = joined[group_by].astype(str).agg("/".join, axis=1)
    return joined


def _decide(template: Claim, joined: pd.DataFrame, n_resamples: int, seed: int) -> Claim:
    if joined.empty:
        return template
    per_group = joined.groupby("group")[["correct_a", "correct_b"]].mean() * 100
    note = (
        "paired bootstrap over test images, resampled within each group; per group (A vs B): "
        + "; ".join(f"{g} {r.correct_a:.1f} vs {r.correct_b:.1f}" for g, r in per_group.iterrows())
    )
    return bootstrap_claim(
        template,
        joined["correct_a"].to_numpy(),
        joined["correct_b"].to_numpy(),
        groups=joined["group"].to_numpy(),
        n_resamples=n_resamples,
        seed=seed,
        note=note,
    )


def transfer_claims(predictions: pd.DataFrame | None, n_resamples: int, seed: int) -> list[Claim]:
    """Fine tuning vs off the shelf on the first collection (from theta, every challenge and
    architecture: groups), and theta-hat vs theta on the second collection (every challenge,
    mode and architecture); NOT RUN without the transfer stage's predictions."""
    if predictions is None or predictions.empty:
        return [FINE_TUNE_CLAIM, THETA_HAT_CLAIM]
    first = predictions[(predictions["collection"] == FIRST) & (predictions["start"] == "theta")]
    fine_tune = _paired(
        first, {"mode": "fine_tuning"}, {"mode": "off_the_shelf"}, ["challenge", "arch"]
    )
    second = predictions[predictions["collection"] == SECOND]
    theta_hat = _paired(
        second, {"start": "theta_hat"}, {"start": "theta"}, ["challenge", "mode", "arch"]
    )
    return [
        _decide(FINE_TUNE_CLAIM, fine_tune, n_resamples, seed),
        _decide(THETA_HAT_CLAIM, theta_hat, n_resamples, seed),
    ]


# ---- curves (report time) ----------------------------------------------------------------------
def _read_curves(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    if not path.is_file():
        return None
    frame = pd.read_csv(path, sep="\t")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.set_index(frame.columns[0])


def _style(mode: str, start: str) -> dict[str, Any]:
    # The paper's convention: dash-dot off the shelf, dashed fine tuning, solid from scratch.
    if mode == "scratch":
        return {"linestyle": "-", "color": "tab:orange"}
    colour = "tab:blue" if start in ("theta", "imagenet") else "tab:green"
    return {"linestyle": "-." if mode == "off_the_shelf" else "--", "color": colour}


def transfer_curves_figure(history: pd.DataFrame, paper_curves: str | None) -> Figure:
    """Validation accuracy per epoch: ours (left) beside the paper's published curves (right)
    for each challenge of the first collection (Figures 2-3) and each of the second (Table 3)."""
    folder = Path(paper_curves) if paper_curves else None
    panels = [
        (FIRST, c) for c in dict.fromkeys(history.loc[history["collection"] == FIRST, "challenge"])
    ]
    panels += [
        (SECOND, c)
        for c in dict.fromkeys(history.loc[history["collection"] == SECOND, "challenge"])
    ]
    figure = Figure(figsize=(10, 2.6 * max(1, len(panels))), layout="constrained")
    axes = figure.subplots(max(1, len(panels)), 2, squeeze=False)
    for row, (collection, challenge) in enumerate(panels):
        ours, paper = axes[row]
        part = history[(history["collection"] == collection) & (history["challenge"] == challenge)]
        for (mode, start, arch), run in part.groupby(["mode", "start", "arch"], sort=False):
            ours.plot(
                run["epoch"],
                100 * run["val_acc"],
                label=f"{start} {mode} ({arch})",
                **_style(mode, start),
            )
        ours.set_title(f"ours: {collection} {challenge}", fontsize=9)
        frames = []
        if folder is not None and collection == FIRST and challenge in PAPER_CURVE_FILES:
            for mode, name in zip(
                ("off_the_shelf", "fine_tuning"), PAPER_CURVE_FILES[challenge], strict=True
            ):
                frame = _read_curves(folder, name)
                if frame is not None:
                    frames.append((mode, frame))
        if folder is not None and collection == SECOND and challenge in PAPER_TRANSFER_FILES:
            frame = _read_curves(folder, PAPER_TRANSFER_FILES[challenge])
            if frame is not None:
                frames.append(("transfer", frame))
        for mode, frame in frames:
            for column in frame.columns:
                if mode == "transfer":
                    start = "theta_hat" if column.startswith("RijksNet") else "imagenet"
                    style = _style("off_the_shelf" if "softmax" in column else "fine_tuning", start)
                else:
                    scratch = column.startswith(("Scratch", "Random"))
                    style = _style("scratch" if scratch else mode, "imagenet")
                    if not scratch:  # one colour per network, as the paper's legend
                        style["color"] = PAPER_COLOURS.get(column, "tab:gray")
                paper.plot(frame.index, 100 * frame[column], label=column, linewidth=1, **style)
        paper.set_title(
            f"paper: {'Rijksmuseum' if collection == FIRST else 'Antwerp'} "
            f"{challenge}" + ("" if frames else " (curves not available)"),
            fontsize=9,
        )
        for ax in (ours, paper):
            ax.set_xlabel("epoch", fontsize=8)
            ax.set_ylabel("val. accuracy (%)", fontsize=8)
            ax.tick_params(labelsize=7)
            if ax.lines:
                ax.legend(fontsize=6)
    return figure


# ---- tables --------------------------------------------------------------------------------------
def _table1(ours: pd.DataFrame) -> pd.DataFrame:
    paper = paper_results()["transfer_learning"]
    rows = []
    for _, r in ours.iterrows():
        if r["collection"] == FIRST:
            published = paper["table1_rijksmuseum"].get(r["challenge"], {})
        else:
            published = paper["table1_antwerp"].get(r["challenge"]) or {}
        missing = r["images"] == 0
        rows.append(
            {
                "challenge": r["challenge"],
                "collection": r["collection"],
                "images (N_t)": "x" if missing else int(r["images"]),
                "classes (Q_t)": "x" if missing else int(r["classes"]),
                "test images": "x" if missing else int(r["test_images"]),
                "overlap with first (%)": (
                    "" if pd.isna(r["overlap_pct"]) else f"{r['overlap_pct']:.0f}"
                ),
                "paper N_t": published.get("samples", "x"),
                "paper Q_t": published.get("labels", "x"),
                "paper overlap": published.get("overlap", ""),
            }
        )
    return pd.DataFrame(rows)


def _table2(ours: pd.DataFrame) -> pd.DataFrame:
    paper = paper_results()["transfer_learning"]["table2_rijksmuseum_test_accuracy"]
    chi = paper_results()["transfer_learning"]["table2_feature_size"]
    rows = []
    for challenge in dict.fromkeys(ours["challenge"]):
        for _, r in ours[ours["challenge"] == challenge].iterrows():
            rows.append(
                {
                    "challenge": challenge,
                    "network": r["architecture"],
                    "source": "ours",
                    "off the shelf": r["off_the_shelf"],
                    "fine tuning": r["fine_tuning"],
                    "from scratch": r["scratch"],
                    "chi": int(r["feature_size"]),
                    "kept epochs (OTS/FT/scratch)": r["best_epochs"],
                }
            )
        for network in PAPER_NETWORKS:
            ots, ft = paper[challenge][network]
            rows.append(
                {
                    "challenge": challenge,
                    "network": network,
                    "source": "paper",
                    "off the shelf": ots,
                    "fine tuning": ft,
                    "from scratch": np.nan,
                    "chi": chi[network],
                    "kept epochs (OTS/FT/scratch)": "",
                }
            )
    return pd.DataFrame(rows)


def _table3(ours: pd.DataFrame) -> pd.DataFrame:
    paper = paper_results()["transfer_learning"]["table3_antwerp_transfer"]
    columns = [
        "theta + off the shelf",
        "theta-hat + off the shelf",
        "theta + fine tuning",
        "theta-hat + fine tuning",
    ]
    rows = []
    for challenge in dict.fromkeys(ours["challenge"]):
        for _, r in ours[ours["challenge"] == challenge].iterrows():
            values = [
                r["theta_off_the_shelf"],
                r["theta_hat_off_the_shelf"],
                r["theta_fine_tuning"],
                r["theta_hat_fine_tuning"],
            ]
            rows.append(
                {
                    "challenge": challenge,
                    "network": r["architecture"],
                    "source": "ours",
                    **dict(zip(columns, values, strict=True)),
                }
            )
        for network in PAPER_NETWORKS:
            rows.append(
                {
                    "challenge": challenge,
                    "network": network,
                    "source": "paper",
                    **dict(zip(columns, paper[challenge][network], strict=True)),
                }
            )
    return pd.DataFrame(rows)


def transfer_section(
    table1: pd.DataFrame,
    table2: pd.DataFrame,
    table3: pd.DataFrame,
    metrics: dict[str, Any],
    curves: bytes,
    saliency: bytes,
    data: dict[str, Any],
    paper_curves: str | None,
) -> Section:
    sources = {name: str(data[name]["source"]) for name in (FIRST, SECOND)}
    section = Section(
        "Transfer learning for art: off the shelf vs fine tuning, theta vs "
        "theta-hat (Sabatelli et al.)"
    )
    if "synthetic" in sources.values():
        section.text(synthetic_banner("Rijksmuseum and Antwerp", "synthetic"))
        section.text(
            "By design of the synthetic collections: every object is drawn by a MAMe drawer (its "
            "look gives its type and material), so a network trained on MAMe has seen this visual "
            "vocabulary; artists carry a style (mark, border, colour cast) built from one "
            "vocabulary shared by both collections, which share no artist and one type in seven. "
            "What theta-hat learnt about one collection's artists and types is thus useful on the "
            "other: the transfer measured below is built into the data."
        )
    else:
        section.text(f"Data: {sources}.")
    starting = "; ".join(f"{arch}: {text}" for arch, text in metrics.get("theta", {}).items())
    section.text(
        f"Starting networks (theta): {starting}. Off the shelf: theta frozen, its pooled features "
        "computed once, a soft-max layer trained with RMSprop (lr 1e-3, rho 0.9, eps 1e-8). Fine "
        "tuning and from scratch (He-uniform): SGD, lr 1e-3, Nesterov momentum 0.9. Batch 32, "
        "early stopping after 7 epochs without a lower validation loss, the kept epoch has the "
        "lowest validation loss. The paper's theta is ImageNet; ours is not (see above), so the "
        "paper's numbers beside ours are a reference, not a target."
    )
    section.table(
        "Table 1: images and classes per challenge, paper beside ours",
        _table1(table1),
        note="x: no metadata (the Antwerp collection has no material). Classes absent "
        "from any of the train/val/test splits are removed (the paper's rule).",
    )
    section.table(
        "Table 2: test accuracy (%) on the first collection, paper beside ours",
        _table2(table2),
        note="chi: size of the feature vector the soft-max layer reads. The claims "
        "table gives the fine tuning - off the shelf difference with its interval.",
    )
    section.table(
        "Table 3: test accuracy (%) on the second collection from theta and theta-hat",
        _table3(table3),
        note="theta-hat: the network fine-tuned on the first collection's same "
        "challenge. The claims table gives the theta-hat - theta difference.",
    )
    scratch = table2.dropna(subset=["scratch"])
    if not scratch.empty:
        pairs = "; ".join(
            f"{r.challenge} ({r.architecture}) {r.fine_tuning:.1f} vs {r.scratch:.1f}"
            for r in scratch.itertuples()
        )
        section.text(
            "The paper also finds fine tuning a pretrained network better than training it from "
            f"scratch. Ours, fine tuning vs from scratch (test accuracy %): {pairs}. No claim "
            "row decides this (point estimates only); note that the from-scratch network here is "
            "the same small network, whose He-uniform start learns the synthetic cues quickly."
        )
    present = paper_curves and Path(paper_curves).is_dir()
    section.figure(
        "Figures 2-3: validation accuracy per epoch (dash-dot: off the shelf, dashed: fine "
        "tuning, solid orange: from scratch; green: theta-hat)",
        curves,
        "transfer_curves.png",
        note=(
            f"The paper's curves are the TSV files published with its code ({paper_curves})."
            if present
            else f"The paper's curves were not found at {paper_curves}; only ours are drawn."
        ),
    )
    section.figure(
        "Figure 4: VisualBackProp saliency of theta beside theta-hat (first collection, test "
        "images the fine-tuned network classifies right and the off-the-shelf one wrong, when "
        "there are such)",
        saliency,
        "transfer_saliency.png",
    )
    return section


def section_nodes() -> list[Node]:
    return [
        node(
            transfer_curves_figure,
            inputs=["transfer_history", "params:transfer.paper_curves"],
            outputs="transfer_curves",
            name="report_transfer_curves",
        ),
        node(
            transfer_section,
            inputs=[
                "transfer_table1",
                "transfer_table2",
                "transfer_table3",
                "transfer_metrics",
                "transfer_curves",
                "transfer_saliency",
                "params:data",
                "params:transfer.paper_curves",
            ],
            outputs="report_section_transfer",
            name="report_transfer",
        ),
    ]
