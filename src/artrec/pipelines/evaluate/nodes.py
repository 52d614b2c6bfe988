"""Compare the four MAMe baselines: Table 3 (mean per-class accuracy), Table 4 (per-class F1 under
both inputs), Figure 5 (training curves) and LRP explanations of VGG11 (Figure 6 rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from PIL import Image

from artrec.evaluation.classification import f1_comparison_table, plot_training_curves
from artrec.evaluation.lrp import explain, plot_lrp_grid
from artrec.models.factory import classifier_from_state
from artrec.reporting.paper import paper_results
from artrec.training.data import labelled_manifest
from artrec.training.transforms import build_transforms

VERSION_NAMES = {"lrfs": "LR&FS", "hrvs": "HR&VS"}
ARCH_NAMES = {"vgg11": "VGG11", "resnet18": "ResNet18"}


def table3(metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Mean per-class accuracy (%) per split and the kept epoch, paper beside ours."""
    paper = paper_results()["mame"]["table3_mean_per_class_accuracy"]
    rows = []
    for variant, values in metrics.items():
        arch, version = variant.split("_")
        published = paper[VERSION_NAMES[version]][ARCH_NAMES[arch]]
        row = {"input": VERSION_NAMES[version], "architecture": ARCH_NAMES[arch]}
        for split in ("train", "val", "test"):
            row[f"{split} (paper)"] = published[split]
            row[f"{split} (ours)"] = round(100 * values[f"{split}_mean_class_acc"], 2)
        row["epoch (paper)"] = published["epoch"]
        row["epoch (ours)"] = values["best_epoch"]
        rows.append(row)
    return pd.DataFrame(rows)


def table4(metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per-class test F1 under LR&FS and HR&VS with mean and difference, for each architecture;
    the paper's VGG11 values beside ours."""
    paper = paper_results()["mame"]["table4_vgg11_f1"]
    frames = []
    for arch in ARCH_NAMES:
        lrfs, hrvs = metrics[f"{arch}_lrfs"]["test_f1"], metrics[f"{arch}_hrvs"]["test_f1"]
        names = list(lrfs)
        table = f1_comparison_table(
            [lrfs[n] for n in names], [hrvs[n] for n in names], names
        ).reset_index()
        table.insert(0, "architecture", ARCH_NAMES[arch])
        if arch == "vgg11":
            table["LR&FS (paper)"] = [paper.get(n, [None, None])[0] for n in table["class"]]
            table["HR&VS (paper)"] = [paper.get(n, [None, None])[1] for n in table["class"]]
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def comparison_metrics(metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The headline: HR&VS minus LR&FS in mean per-class test accuracy, per architecture."""
    out: dict[str, Any] = {}
    for arch in ARCH_NAMES:
        lrfs = metrics[f"{arch}_lrfs"]["test_mean_class_acc"]
        hrvs = metrics[f"{arch}_hrvs"]["test_mean_class_acc"]
        out[arch] = {
            "lrfs_test": lrfs,
            "hrvs_test": hrvs,
            "hrvs_minus_lrfs": hrvs - lrfs,
            "hrvs_beats_lrfs": bool(hrvs > lrfs),
        }
    return out


def bucketing_table(runs: dict[str, tuple[dict[str, Any], pd.DataFrame]]) -> pd.DataFrame:
    """HR&VS with the paper's batch size 1 beside aspect-ratio bucketing: accuracy and speed.

    Images per second are total training images over total training seconds (the training pass
    alone, no validation), not a mean of per-epoch rates, which would overweight fast epochs.
    """
    rows = []
    for name, (metrics, history) in runs.items():
        rows.append(
            {
                "run": name,
                "batch size": metrics["batch_size"],
                "bucketing": metrics["bucketing"],
                "test mean per-class acc (%)": round(100 * metrics["test_mean_class_acc"], 2),
                "val mean per-class acc (%)": round(100 * metrics["val_mean_class_acc"], 2),
                "kept epoch": metrics["best_epoch"],
                "train images/s": round(training_throughput(history), 2),
                "train s/epoch": round(float(history["train_seconds"].mean()), 2),
            }
        )
    return pd.DataFrame(rows)


def training_throughput(history: pd.DataFrame) -> float:
    """Total training images over total training seconds of a run."""
    images = history["train_images_per_s"] * history["train_seconds"]
    return float(images.sum() / history["train_seconds"].sum())


def throughput_ratio(
    faster: pd.DataFrame, baseline: pd.DataFrame, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Throughput of ``faster`` over ``baseline`` (totals), with a 95% bootstrap interval over
    each run's epochs (resampled independently: the runs do not share epochs)."""
    rng = np.random.default_rng(seed)

    def resampled(history: pd.DataFrame) -> np.ndarray:
        seconds = history["train_seconds"].to_numpy()
        images = history["train_images_per_s"].to_numpy() * seconds
        picks = rng.integers(0, len(seconds), size=(n_resamples, len(seconds)))
        return images[picks].sum(axis=1) / seconds[picks].sum(axis=1)

    ratios = resampled(faster) / resampled(baseline)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return training_throughput(faster) / training_throughput(baseline), float(low), float(high)


def compare_variants(
    vgg11_lrfs: dict,
    vgg11_hrvs: dict,
    resnet18_lrfs: dict,
    resnet18_hrvs: dict,
    resnet18_hrvs_bucketed: dict,
    h_vgg11_lrfs: pd.DataFrame,
    h_vgg11_hrvs: pd.DataFrame,
    h_resnet18_lrfs: pd.DataFrame,
    h_resnet18_hrvs: pd.DataFrame,
    h_resnet18_hrvs_bucketed: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure, dict[str, Any]]:
    metrics = {
        "vgg11_lrfs": vgg11_lrfs,
        "vgg11_hrvs": vgg11_hrvs,
        "resnet18_lrfs": resnet18_lrfs,
        "resnet18_hrvs": resnet18_hrvs,
    }
    histories = {
        ("VGG11", "LR&FS"): h_vgg11_lrfs,
        ("VGG11", "HR&VS"): h_vgg11_hrvs,
        ("ResNet18", "LR&FS"): h_resnet18_lrfs,
        ("ResNet18", "HR&VS"): h_resnet18_hrvs,
    }
    bucketing = bucketing_table(
        {
            "ResNet18 HR&VS, batch 1 (paper)": (resnet18_hrvs, h_resnet18_hrvs),
            "ResNet18 HR&VS, aspect-ratio buckets": (
                resnet18_hrvs_bucketed,
                h_resnet18_hrvs_bucketed,
            ),
        }
    )
    comparison = comparison_metrics(metrics)
    speedup, low, high = throughput_ratio(h_resnet18_hrvs_bucketed, h_resnet18_hrvs)
    comparison["bucketing"] = {
        "batch1_test": resnet18_hrvs["test_mean_class_acc"],
        "bucketed_test": resnet18_hrvs_bucketed["test_mean_class_acc"],
        "speedup_images_per_s": speedup,
        "speedup_low95": low,
        "speedup_high95": high,
    }
    return (
        table3(metrics),
        table4(metrics),
        bucketing,
        plot_training_curves(histories),
        comparison,
    )


def lrp_figure(
    state_lrfs: dict[str, Any],
    state_hrvs: dict[str, Any],
    lrfs_dir: Path,
    hrvs_dir: Path,
    dataset: pd.DataFrame,
    labels: pd.DataFrame,
    params: dict[str, Any],
) -> Figure:
    """LRP heatmaps of VGG11 for a few test images per class, HR&VS and LR&FS side by side.

    Correct predictions explain the predicted class; wrong ones show E_r - E_p (paper eq. 1).
    """
    per_class = int(params["images_per_class"])
    models = {
        "lrfs": classifier_from_state(state_lrfs, state_lrfs["num_classes"]),
        "hrvs": classifier_from_state(state_hrvs, state_hrvs["num_classes"]),
    }
    manifests = {
        "lrfs": labelled_manifest(lrfs_dir, dataset, labels),
        "hrvs": labelled_manifest(hrvs_dir, dataset, labels),
    }
    test = manifests["hrvs"][manifests["hrvs"]["Subset"] == "test"]
    chosen = test.groupby("label", sort=True).head(per_class)
    images, maps, titles = [], {"lrfs": [], "hrvs": []}, []
    for _, row in chosen.iterrows():
        for version, folder in (("lrfs", lrfs_dir), ("hrvs", hrvs_dir)):
            entry = manifests[version].set_index("image_file").loc[row["image_file"]]
            picture = Image.open(folder / entry["path"]).convert("RGB")
            tensor = build_transforms(version, train=False)(picture).unsqueeze(0)
            with torch.inference_mode():
                predicted = int(models[version](tensor).argmax(1))
            true = int(entry["label"])
            heat = explain(models[version], tensor, true)
            if predicted != true:
                heat = heat - explain(models[version], tensor, predicted)
            maps[version].append(heat)
            if version == "hrvs":
                images.append(np.asarray(picture))
        titles.append(f"{row['Medium']}")
    return plot_lrp_grid(images, maps["lrfs"], maps["hrvs"], titles)
