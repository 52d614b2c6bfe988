"""The Tate poster's four systems: train, evaluate, explain, tabulate (``kedro run --pipeline
tate``; one DVC stage, ``train_tate``).

Systems (``SYSTEMS``), all trained with SGD (momentum 0.9) by the project's loop
(``artrec.training.loop``), the kept epoch being the one with the lowest validation loss:

- ``simple_cnn``: the poster's baseline (``artrec.models.simple_cnn``), from scratch;
- ``resnet18``: ResNet18 from the pretrained start ``train.tate.init``, every layer trained;
- ``resnet18_aug``: the same start, random resized crops and flips, ``train.tate.freeze``
  (the stem and the first stages) frozen;
- ``multi_binary``: the same ResNet18 with one sigmoid output per medium tag of the classes
  (``artrec.curation.tate``), binary cross-entropy (the loop's ``MULTI_LABEL`` objective);
  an image is right when its predicted tag set is its class's tag set.

Pretrained start (``train.tate.init``): ``mame`` takes the project's MAMe-trained BN-free
ResNet18 (``data/06_models/mame_resnet18_hrvs.pt``; no ImageNet weights can be downloaded on the
machines this project is developed on) without its classifier; anything else is an ``init`` spec
of ``artrec.models.weights`` (the ``paper`` profile: ``ResNet18_Weights.IMAGENET1K_V1``, or a
local weights file), ``null`` for random weights.

Inputs: thumbnails resized (shorter side) and centre-cropped to ``train.tate.image_size``
(poster 224), normalised with ``train.tate.normalise`` (the pretrained start's statistics).
Checkpoints are written every epoch under ``train.tate.runtime.checkpoint_dir`` in a folder
named after the system and a fingerprint of its settings and data, so a killed run resumes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader

from artrec.curation.tate import TAG_SEPARATOR, tag_vocabulary
from artrec.evaluation.classification import confusion_matrix, plot_confusion_matrix
from artrec.evaluation.lrp import conv_net_lrp_composite, explain, plot_heatmap_rows
from artrec.models.factory import HEAD_PREFIXES, build_classifier, classifier_from_state
from artrec.models.freeze import freeze
from artrec.models.weights import load_state_dict_checked
from artrec.pipelines.train.nodes import EpochLogger, _content_digest
from artrec.reporting.paper import paper_results
from artrec.training.checkpoint import require_all_epochs
from artrec.training.data import ImageManifestDataset, MappedTargets, build_dataloader
from artrec.training.loop import (
    MULTI_LABEL,
    SINGLE_LABEL,
    Objective,
    evaluate_classifier,
    train_classifier,
)
from artrec.training.transforms import build_square_transforms
from artrec.utils.device import resolve_device

SPLITS = ("train", "val", "test")
NO_CLASS = "(no class)"


@dataclass(frozen=True)
class System:
    """How one of the poster's systems is built and trained."""

    arch: str
    label: str  # in our tables
    paper: str  # its row in paper_results.yaml (tate.results)
    augment: bool = False
    frozen: bool = False
    multi_label: bool = False

    @property
    def objective(self) -> Objective:
        return MULTI_LABEL if self.multi_label else SINGLE_LABEL


SYSTEMS: dict[str, System] = {
    "simple_cnn": System("simple_cnn", "Simple CNN", "Baseline CNN"),
    "resnet18": System("resnet18", "ResNet18", "ResNet18"),
    "resnet18_aug": System(
        "resnet18", "ResNet18 (aug, frozen)", "ResNet18 (Aug)", augment=True, frozen=True
    ),
    "multi_binary": System("resnet18", "Multi-binary ResNet18", "Multi-binary", multi_label=True),
}


def class_tag_matrix(classes: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The run's tags and each class's multi-hot row (classes x tags, float32)."""
    tags = tag_vocabulary(classes)
    rows = [str(joined).split(TAG_SEPARATOR) for joined in classes["tags"]]
    matrix = np.array([[tag in row for tag in tags] for row in rows], dtype=np.float32)
    return tags, matrix


def _manifest(dataset: pd.DataFrame, split: str) -> pd.DataFrame:
    frame = dataset[dataset["split"] == split]
    return pd.DataFrame(
        {"path": frame["image"].to_numpy(), "label": frame["label"].astype("int64")}
    )


def _loader(
    raw_dir: Path,
    dataset: pd.DataFrame,
    split: str,
    params: dict[str, Any],
    system: System,
    classes: pd.DataFrame,
    train: bool,
    seed: int,
) -> DataLoader:
    normalise = params["normalise"]
    transform = build_square_transforms(
        int(params["image_size"]),
        augment=train and system.augment,
        mean=tuple(normalise["mean"]),
        std=tuple(normalise["std"]),
    )
    images: torch.utils.data.Dataset = ImageManifestDataset(
        _manifest(dataset, split), transform, root=raw_dir
    )
    if system.multi_label:
        images = MappedTargets(images, class_tag_matrix(classes)[1])
    batch = int(params["batch_size"] if train else params["eval_batch_size"])
    workers = int(params.get("runtime", {}).get("num_workers", 0))
    return build_dataloader(images, batch_size=batch, train=train, seed=seed, num_workers=workers)


def build_system_model(
    name: str,
    n_classes: int,
    n_tags: int,
    params: dict[str, Any],
    mame_model: dict[str, Any] | None = None,
) -> nn.Module:
    """The network of system ``name`` with its initial weights (see the module docstring)."""
    system = SYSTEMS[name]
    outputs = n_tags if system.multi_label else n_classes
    if system.arch == "simple_cnn":
        return build_classifier("simple_cnn", outputs)
    init = params.get("init")
    if init == "mame":
        mame_model = mame_model or {}
        if mame_model.get("arch") != "resnet18" or float(mame_model["width_mult"]) != float(
            params["width_mult"]
        ):
            raise ValueError(
                f"train.tate.init 'mame' needs the MAMe ResNet18 at width "
                f"{params['width_mult']}, got {mame_model.get('arch')} at width "
                f"{mame_model.get('width_mult')}; set train.tate.width_mult to "
                f"{mame_model.get('width_mult')}"
            )
        model = build_classifier("resnet18", outputs, float(params["width_mult"]), batch_norm=False)
        head = HEAD_PREFIXES["resnet18"]
        # The MAMe head classifies MAMe media: left out, the Tate head keeps its fresh weights.
        trunk = {k: v for k, v in mame_model["state_dict"].items() if not k.startswith(head)}
        load_state_dict_checked(model, trunk, head, "the MAMe ResNet18 (mame_resnet18_hrvs.pt)")
    else:
        model = build_classifier(
            "resnet18",
            outputs,
            float(params["width_mult"]),
            init=init,
            batch_norm=bool(params["batch_norm"]),
        )
    if system.frozen:
        freeze(model, list(params["freeze"]))
    return model


def _fingerprint(settings: dict[str, Any], seed: int, raw_dir: Path, dataset: pd.DataFrame) -> str:
    learned = dataset[dataset["split"].isin(["train", "val"])].rename(columns={"image": "path"})
    payload = json.dumps(
        [settings, seed, dataset[["id", "label", "split"]].values.tolist()], default=str
    )
    digest = hashlib.sha256(payload.encode())
    digest.update(_content_digest(raw_dir, learned).encode())
    return digest.hexdigest()[:12]


def train_tate_model(
    raw_dir: Path,
    dataset: pd.DataFrame,
    classes: pd.DataFrame,
    params: dict[str, Any],
    seed: int,
    name: str,
    mame_model: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train system ``name``; returns the kept model's state and the per-epoch history."""
    system = SYSTEMS[name]
    tags, _ = class_tag_matrix(classes)
    runtime = params.get("runtime", {})
    settings = {
        "system": name,
        "init": params.get("init") if system.arch == "resnet18" else None,
        **{k: v for k, v in params.items() if k not in ("runtime", "lr", "init")},
        "lr": float(params["lr"][name]),
    }
    torch.manual_seed(seed)  # the initial weights are part of the run's identity
    model = build_system_model(name, len(classes), len(tags), params, mame_model)
    checkpoint = Path(runtime.get("checkpoint_dir", "data/06_models/checkpoints"))
    result = train_classifier(
        model,
        _loader(raw_dir, dataset, "train", params, system, classes, True, seed),
        _loader(raw_dir, dataset, "val", params, system, classes, False, seed),
        epochs=int(params["epochs"]),
        lr=float(params["lr"][name]),
        optimizer="sgd",
        device=resolve_device(runtime.get("device", "auto")),
        checkpoint_dir=checkpoint / f"tate_{name}-{_fingerprint(settings, seed, raw_dir, dataset)}",
        seed=seed,
        log_fn=EpochLogger.for_active_run(name),
        progress=False,
        stop_after_epoch=runtime.get("stop_after_epoch"),
        objective=system.objective,
    )
    require_all_epochs(
        result.history, params["epochs"], f"tate {name}", "train.tate.runtime.stop_after_epoch"
    )
    state = {
        "system": name,
        "arch": system.arch,
        "outputs": len(tags) if system.multi_label else len(classes),
        "width_mult": float(params["width_mult"]),
        "batch_norm": bool(params["batch_norm"]) and params.get("init") != "mame",
        "classes": classes["name"].tolist(),
        "tags": tags,
        "best_epoch": int(result.best_epoch),
        "state_dict": result.best_state_dict,
    }
    return state, result.history.assign(system=name)


def load_system_model(state: dict[str, Any]) -> nn.Module:
    """The kept network of a ``train_tate_model`` state, in eval mode."""
    return classifier_from_state(state, state["outputs"])


def evaluate_tate_model(
    state: dict[str, Any],
    raw_dir: Path,
    dataset: pd.DataFrame,
    classes: pd.DataFrame,
    params: dict[str, Any],
) -> pd.DataFrame:
    """Every image's true and predicted class and tags (all splits). A multi-binary prediction
    is the class whose tag set equals the predicted tags, else ``(no class)``."""
    system = SYSTEMS[state["system"]]
    model = load_system_model(state)
    device = resolve_device(params.get("runtime", {}).get("device", "auto"))
    names = classes["name"].tolist()
    tags, matrix = class_tag_matrix(classes)
    class_of_row = {tuple(row.astype(int)): i for i, row in enumerate(matrix)}
    parts = []
    for split in SPLITS:
        frame = dataset[dataset["split"] == split]
        loader = _loader(raw_dir, dataset, split, params, system, classes, False, 0)
        _, y_pred, _ = evaluate_classifier(
            model.to(device), loader, device, False, system.objective
        )
        labels = frame["label"].to_numpy()
        if system.multi_label:
            predicted = [class_of_row.get(tuple(row), -1) for row in y_pred]
            predicted_tags = [[t for t, on in zip(tags, row, strict=True) if on] for row in y_pred]
        else:
            predicted = list(y_pred)
            predicted_tags = [
                [t for t, on in zip(tags, matrix[p], strict=True) if on] for p in y_pred
            ]
        parts.append(
            pd.DataFrame(
                {
                    "id": frame["id"].to_numpy(),
                    "split": split,
                    "true": [names[i] for i in labels],
                    "predicted": [names[i] if i >= 0 else NO_CLASS for i in predicted],
                    "correct": np.asarray(predicted) == labels,
                    "true_tags": [frame_tags for frame_tags in frame["tags"]],
                    "predicted_tags": [TAG_SEPARATOR.join(t) for t in predicted_tags],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def per_tag_accuracy(predictions: pd.DataFrame, tags: list[str]) -> dict[str, float]:
    """Per tag, the share of test images whose presence/absence of the tag was predicted right."""
    test = predictions[predictions["split"] == "test"]
    true = test["true_tags"].astype(str).str.split(TAG_SEPARATOR)
    predicted = test["predicted_tags"].fillna("").astype(str).str.split(TAG_SEPARATOR)
    return {
        tag: float(
            np.mean([(tag in t) == (tag in p) for t, p in zip(true, predicted, strict=True)])
        )
        for tag in tags
    }


def tate_results(
    classes: pd.DataFrame, params: dict[str, Any], **inputs: Any
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure, dict[str, Any]]:
    """The poster's table (accuracy per split, paper beside ours, %), per-class and per-tag test
    accuracy per system, the confusion matrix of the single-label system with the best
    validation accuracy, and the metrics (``tate_metrics.json``). ``inputs``: each system's
    predictions under its name and its model state under ``<name>_model`` (for its kept epoch)."""
    predictions = {name: inputs[name] for name in SYSTEMS if name in inputs}
    best_epochs = {name: inputs[f"{name}_model"]["best_epoch"] for name in predictions}
    epochs = params["epochs"]
    paper = paper_results()["tate"]["results"]
    tags, _ = class_tag_matrix(classes)
    names = classes["name"].tolist()
    rows, per_class, per_tag, metrics = [], {}, {}, {}
    for name, frame in predictions.items():
        system = SYSTEMS[name]
        acc = {s: float(frame.loc[frame["split"] == s, "correct"].mean()) for s in SPLITS}
        test = frame[frame["split"] == "test"]
        by_class = test.groupby("true")["correct"].mean()
        per_class[system.label] = [float(by_class.get(c, np.nan)) for c in names]
        per_tag[system.label] = per_tag_accuracy(frame, tags)
        reference = paper.get(system.paper, {})
        rows.append(
            {
                "system": system.label,
                **{f"{s} (ours)": round(100 * acc[s], 2) for s in SPLITS},
                **{f"{s} (paper)": round(100 * float(reference[s]), 2) for s in SPLITS},
            }
        )
        metrics[name] = {
            **{f"{s}_acc": acc[s] for s in SPLITS},
            "test_mean_class_acc": float(np.nanmean(per_class[system.label])),
            "test_images": len(test),
            "test_tag_acc": float(np.mean(list(per_tag[system.label].values()))),
            "best_epoch": int(best_epochs[name]),
            "epochs": int(epochs),
        }
    single = [n for n in predictions if not SYSTEMS[n].multi_label]
    best = max(single, key=lambda n: (metrics[n]["val_acc"], -single.index(n)))
    test = predictions[best][predictions[best]["split"] == "test"]
    index = {c: i for i, c in enumerate(names)}
    figure = plot_confusion_matrix(
        confusion_matrix(test["true"].map(index), test["predicted"].map(index), len(names)),
        names,
        title=f"{SYSTEMS[best].label} (best validation accuracy): test confusion",
    )
    metrics["confusion_system"] = SYSTEMS[best].label
    per_class_table = pd.DataFrame(
        {"class": names, **{k: np.round(100 * np.asarray(v), 2) for k, v in per_class.items()}}
    )
    per_tag_table = pd.DataFrame(
        {"tag": tags, **{k: [round(100 * v[t], 2) for t in tags] for k, v in per_tag.items()}}
    )
    return pd.DataFrame(rows), per_class_table, per_tag_table, figure, metrics


def tate_saliency(
    raw_dir: Path,
    dataset: pd.DataFrame,
    classes: pd.DataFrame,
    params: dict[str, Any],
    explain_params: dict[str, Any],
    **states: dict[str, Any],
) -> Figure:
    """LRP heat maps (``artrec.evaluation.lrp``, zennit) of the single-label systems for one test
    image of each class named in ``explain.tate.classes`` (present ones; else the first classes),
    explaining the true class; red for, blue against."""
    names = classes["name"].tolist()
    wanted = [c for c in explain_params["classes"] if c in names] or names
    wanted = wanted[: int(explain_params["images"])]
    normalise = params["normalise"]
    mean = torch.tensor(normalise["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(normalise["std"], dtype=torch.float32).view(1, 3, 1, 1)
    low, high = (0.0 - mean) / std, (1.0 - mean) / std
    transform = build_square_transforms(
        int(params["image_size"]), mean=tuple(normalise["mean"]), std=tuple(normalise["std"])
    )
    models = {SYSTEMS[n].label: load_system_model(s) for n, s in states.items()}
    composites = {label: conv_net_lrp_composite(m, low, high) for label, m in models.items()}
    test = dataset[dataset["split"] == "test"]
    images, heatmaps, titles = [], {label: [] for label in models}, []
    for description in wanted:
        row = test[test["label"] == names.index(description)].iloc[0]
        picture = Image.open(raw_dir / row["image"]).convert("RGB")
        tensor = transform(picture)
        images.append(
            np.clip(
                tensor.permute(1, 2, 0).numpy() * std.view(3).numpy() + mean.view(3).numpy(), 0, 1
            )
        )
        for label, model in models.items():
            heatmaps[label].append(explain(model, tensor, int(row["label"]), composites[label]))
        titles.append(description)
    return plot_heatmap_rows(images, heatmaps, titles)
