import io

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure
from sklearn.metrics import balanced_accuracy_score

from artrec.evaluation.classification import (
    confusion_matrix,
    f1_comparison_table,
    mean_per_class_accuracy,
    per_class_accuracy,
    per_class_f1,
    plot_confusion_matrix,
    plot_training_curves,
)


def test_mean_per_class_accuracy_weighs_classes_equally():
    y_true = [0, 0, 0, 1]
    y_pred = [0, 0, 1, 1]
    # class 0: 2/3 right, class 1: 1/1 right; plain accuracy would be 3/4
    assert mean_per_class_accuracy(y_true, y_pred, n_classes=2) == pytest.approx((2 / 3 + 1) / 2)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_mean_per_class_accuracy_matches_balanced_accuracy_and_skips_absent_classes():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, size=200)  # class 5 never occurs
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 6, size=200))
    ours = mean_per_class_accuracy(y_true, y_pred, n_classes=6)
    assert ours == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert np.isnan(per_class_accuracy(y_true, y_pred, n_classes=6)[5])


def test_per_class_f1_by_hand():
    y_true = [0, 0, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 0]
    # class 0: tp 1, fp 1, fn 1 -> 0.5; class 1: tp 2, fp 1, fn 0 -> 0.8; class 2: 0; class 3: 0
    assert np.allclose(per_class_f1(y_true, y_pred, n_classes=4), [0.5, 0.8, 0.0, 0.0])


def test_confusion_matrix_lists_every_class():
    cm = confusion_matrix([0, 2, 2], [0, 2, 0], n_classes=4)
    assert cm.shape == (4, 4)
    assert cm[0, 0] == 1 and cm[2, 2] == 1 and cm[2, 0] == 1 and cm.sum() == 3


def test_labels_out_of_range_are_rejected():
    with pytest.raises(ValueError, match="outside"):
        mean_per_class_accuracy([0, 3], [0, 1], n_classes=3)


def test_f1_comparison_table_columns_like_table4():
    table = f1_comparison_table([0.5, 0.9], [0.7, 0.8], ["Bronze", "Gold"])
    assert list(table.columns) == ["LR&FS", "HR&VS", "Mean", "Diff"]
    assert list(table.index) == ["Bronze", "Gold"]
    assert table.loc["Bronze", "Mean"] == pytest.approx(0.6)
    assert table.loc["Gold", "Diff"] == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="one entry per class"):
        f1_comparison_table([0.5], [0.7, 0.8], ["Bronze", "Gold"])


def test_f1_comparison_table_reproduces_the_papers_mean_and_diff(shared_dir):
    reference = yaml.safe_load((shared_dir / "reference" / "paper_results.yaml").read_text())
    f1 = reference["mame"]["table4_vgg11_f1"]
    names = list(f1)
    table = f1_comparison_table([f1[n][0] for n in names], [f1[n][1] for n in names], names)
    # Printed in the paper's Table 4 for these two classes.
    assert table.loc["Bronze", "Mean"] == pytest.approx(0.6971, abs=1e-4)
    assert table.loc["Wood engraving", "Diff"] == pytest.approx(-0.0914, abs=1e-4)
    assert (table["Diff"] < 0).sum() == 5  # "except for few ones (5 out of 29)"


def test_plot_confusion_matrix_returns_a_savable_figure():
    fig = plot_confusion_matrix(np.array([[3, 1], [0, 2]]), ["a", "b"])
    assert isinstance(fig, Figure)
    image = fig.axes[0].get_images()[0].get_array()
    assert np.allclose(image, [[0.75, 0.25], [0.0, 1.0]])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def _history(epochs: int, offset: float) -> pd.DataFrame:
    epoch = np.arange(1, epochs + 1)
    val_loss = (epoch - 3.0) ** 2 + offset  # lowest at epoch 3
    return pd.DataFrame(
        {
            "epoch": epoch,
            "train_loss": 2.0 / epoch,
            "val_loss": val_loss,
            "train_acc": 1 - 1 / (epoch + 1),
            "val_acc": 1 - 1 / (epoch + 2),
        }
    )


def test_plot_training_curves_layout_like_figure5():
    histories = {
        ("VGG11", "HR&VS"): _history(5, 0.0),
        ("VGG11", "LR&FS"): _history(5, 0.1),
        ("ResNet18", "LR&FS"): _history(4, 0.2),
    }
    fig = plot_training_curves(histories)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "VGG11 - LR&FS",
        "VGG11 - HR&VS",
        "ResNet18 - LR&FS",
        "ResNet18 - HR&VS",
    ]
    panel = fig.axes[0]
    best_lines = [line for line in panel.get_lines() if line.get_label().startswith("best epoch")]
    assert best_lines and best_lines[0].get_xdata()[0] == 3
    missing_panel = next(ax for ax in fig.axes if ax.get_title() == "ResNet18 - HR&VS")
    assert [t.get_text() for t in missing_panel.texts] == ["no run"]


def test_plot_training_curves_names_history_with_missing_columns():
    with pytest.raises(ValueError, match="val_acc"):
        plot_training_curves({("VGG11", "LR&FS"): _history(3, 0).drop(columns="val_acc")})


def test_mean_per_class_accuracy_without_n_classes_and_empty_input():
    assert mean_per_class_accuracy(np.array([1, 1, 2]), np.array([1, 0, 0])) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="at least one"):
        mean_per_class_accuracy([], [])
