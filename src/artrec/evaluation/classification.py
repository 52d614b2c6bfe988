"""Classification metrics and figures of the MAMe paper (Table 3, Table 4, Figure 5).

- Table 3 reports the *mean per-class accuracy* (the mean of per-class recalls), which weighs
  every medium equally even though the test split is unbalanced (95 to 700 images per class).
- Table 4 reports per-class F1 of VGG11 under both inputs with their mean and difference.
- Figure 5 shows training curves: rows are architectures, columns the two input versions.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

INPUT_VERSIONS = ("LR&FS", "HR&VS")
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")


def _labels(y: Sequence[int] | np.ndarray, n_classes: int, what: str) -> np.ndarray:
    labels = np.asarray(y).astype(int, copy=False).ravel()
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{what} has labels outside [0, {n_classes}): {np.unique(labels)}")
    return labels


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int
) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of class ``i`` predicted as ``j`` (all classes listed)."""
    true = _labels(y_true, n_classes, "y_true")
    pred = _labels(y_pred, n_classes, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} labels but y_pred has {pred.size}")
    return sk_confusion_matrix(true, pred, labels=np.arange(n_classes))


def per_class_accuracy(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int
) -> np.ndarray:
    """Recall of every class; NaN for a class with no images in ``y_true``."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def mean_per_class_accuracy(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    n_classes: int | None = None,
) -> float:
    """Mean of per-class accuracies (recalls) over the classes present in ``y_true`` (paper
    Table 3): scikit-learn's ``balanced_accuracy_score``. ``n_classes`` checks the labels' range.
    """
    if n_classes is not None:
        y_true = _labels(y_true, n_classes, "y_true")
        y_pred = _labels(y_pred, n_classes, "y_pred")
    if len(y_true) == 0:
        raise ValueError("mean_per_class_accuracy needs at least one labelled image")
    with warnings.catch_warnings():
        # Predicting a class absent from y_true is an ordinary wrong answer, not bad input.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(y_true, y_pred))


def per_class_f1(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int
) -> np.ndarray:
    """F1 score of every class (0 where a class is neither present nor predicted)."""
    true = _labels(y_true, n_classes, "y_true")
    pred = _labels(y_pred, n_classes, "y_pred")
    return f1_score(true, pred, labels=np.arange(n_classes), average=None, zero_division=0.0)


def f1_comparison_table(
    f1_lrfs: Sequence[float] | np.ndarray,
    f1_hrvs: Sequence[float] | np.ndarray,
    class_names: Sequence[str],
) -> pd.DataFrame:
    """Per-class F1 under both inputs with their mean and HR&VS - LR&FS difference (Table 4)."""
    lrfs = np.asarray(f1_lrfs, dtype=float)
    hrvs = np.asarray(f1_hrvs, dtype=float)
    if not len(lrfs) == len(hrvs) == len(class_names):
        raise ValueError(
            f"f1_lrfs ({len(lrfs)}), f1_hrvs ({len(hrvs)}) and class_names ({len(class_names)})"
            " must have one entry per class"
        )
    return pd.DataFrame(
        {"LR&FS": lrfs, "HR&VS": hrvs, "Mean": (lrfs + hrvs) / 2, "Diff": hrvs - lrfs},
        index=pd.Index(list(class_names), name="class"),
    )


def plot_confusion_matrix(
    cm: np.ndarray, class_names: Sequence[str], normalize: bool = True, title: str | None = None
) -> Figure:
    """Heat map of a confusion matrix; rows (true classes) normalised to sum 1 by default."""
    cm = np.asarray(cm, dtype=float)
    if cm.shape != (len(class_names), len(class_names)):
        raise ValueError(f"confusion matrix {cm.shape} does not match {len(class_names)} classes")
    if normalize:
        support = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
    size = max(4.0, 0.3 * len(class_names) + 2.0)
    # Figure() rather than pyplot: no global figure registry to leak, no display backend needed.
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=class_names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, labels=class_names, fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _ordered(values: list[str], preferred: Sequence[str]) -> list[str]:
    first = [v for v in preferred if v in values]
    return first + [v for v in dict.fromkeys(values) if v not in first]


def plot_training_curves(
    histories: Mapping[tuple[str, str], pd.DataFrame],
    architectures: Sequence[str] | None = None,
    input_versions: Sequence[str] = INPUT_VERSIONS,
) -> Figure:
    """Loss and accuracy per epoch laid out like the paper's Figure 5.

    ``histories`` maps ``(architecture, input_version)`` to a frame with columns ``epoch,
    train_loss, val_loss, train_acc, val_acc``. Rows are architectures, columns input versions
    (LR&FS then HR&VS, then any other); each panel shows losses on the left axis, accuracies on
    the right one and marks the epoch with the lowest validation loss (the reported model).
    """
    if not histories:
        raise ValueError("plot_training_curves needs at least one history")
    for key, frame in histories.items():
        absent = [c for c in HISTORY_COLUMNS if c not in frame.columns]
        if absent:
            raise ValueError(f"history {key} lacks columns {absent}")
    archs = list(architectures or dict.fromkeys(arch for arch, _ in histories))
    versions = _ordered([version for _, version in histories], input_versions)
    fig = Figure(figsize=(5.5 * len(versions), 3.6 * len(archs)))
    axes = fig.subplots(len(archs), len(versions), squeeze=False)
    for row, arch in enumerate(archs):
        for col, version in enumerate(versions):
            ax = axes[row, col]
            ax.set_title(f"{arch} - {version}")
            frame = histories.get((arch, version))
            if frame is None or frame.empty:
                ax.text(0.5, 0.5, "no run", ha="center", va="center", transform=ax.transAxes)
                continue
            _plot_history(ax, frame.sort_values("epoch"))
    fig.tight_layout()
    return fig


def _plot_history(ax: Axes, frame: pd.DataFrame) -> None:
    epochs = frame["epoch"].to_numpy()
    ax.plot(epochs, frame["train_loss"], color="tab:blue", label="train loss")
    ax.plot(epochs, frame["val_loss"], color="tab:orange", label="val loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    acc_ax = ax.twinx()
    acc_ax.plot(epochs, frame["train_acc"], "--", color="tab:blue", label="train acc")
    acc_ax.plot(epochs, frame["val_acc"], "--", color="tab:orange", label="val acc")
    acc_ax.set_ylabel("accuracy")
    if frame[["train_acc", "val_acc"]].to_numpy(dtype=float).max() <= 1.0:
        acc_ax.set_ylim(0.0, 1.0)
    val_loss = frame["val_loss"].to_numpy(dtype=float)
    if np.isfinite(val_loss).any():
        best = epochs[int(np.nanargmin(val_loss))]
        ax.axvline(best, color="grey", linestyle=":", label=f"best epoch {best}")
    lines = ax.get_lines() + acc_ax.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="center right")
