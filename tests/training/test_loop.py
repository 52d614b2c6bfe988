import random

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from artrec.training.checkpoint import (
    CHECKPOINT_NAME,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
)
from artrec.training.data import ImageManifestDataset, build_dataloader
from artrec.training.loop import evaluate_classifier, train_classifier
from artrec.training.transforms import build_transforms

TIMING_COLUMNS = ["train_seconds", "train_images_per_s", "val_seconds"]


class TinyNet(nn.Module):
    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2)
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(32, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _texture(label: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    period = rng.integers(3, 6)
    pattern = {0: (y // period) % 2, 1: (x // period) % 2, 2: rng.integers(0, 2, (height, width))}
    grey = pattern[label] * 200 + rng.integers(0, 40, (height, width))
    return np.repeat(grey[..., None], 3, axis=2).astype(np.uint8)


@pytest.fixture(scope="module")
def texture_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("textures")
    rng = np.random.default_rng(0)
    rows = []
    for version in ("lrfs", "hrvs"):
        for i in range(30):
            label = i % 3
            if version == "lrfs":
                width = height = 16
            else:
                aspect = float(np.exp(rng.uniform(-0.7, 0.7)))
                width, height = (round(16 * aspect), 16) if aspect > 1 else (16, round(16 / aspect))
            name = f"{version}_{i}.png"
            Image.fromarray(_texture(label, width, height, rng)).save(folder / name)
            split = "val" if i >= 21 else "train"
            rows.append(
                dict(
                    version=version, split=split, path=name, label=label, width=width, height=height
                )
            )
    return folder, pd.DataFrame(rows)


def _loaders(texture_folder, version, bucketing, num_workers):
    folder, manifest = texture_folder
    loaders = []
    for split in ("train", "val"):
        rows = manifest[(manifest.version == version) & (manifest.split == split)]
        train = split == "train"
        dataset = ImageManifestDataset(
            rows.reset_index(drop=True), build_transforms(version, train=train), root=folder
        )
        batch_size = 4 if (bucketing or version == "lrfs") else 1
        loaders.append(
            build_dataloader(
                dataset,
                batch_size=batch_size,
                train=train,
                seed=3,
                bucketing=bucketing,
                num_workers=num_workers,
            )
        )
    return loaders


def _train(
    texture_folder, checkpoint_dir, version, bucketing, num_workers, model_seed=0, epochs=4, **kw
):
    torch.manual_seed(model_seed)
    model = TinyNet()
    train_loader, val_loader = _loaders(texture_folder, version, bucketing, num_workers)
    result = train_classifier(
        model,
        train_loader,
        val_loader,
        epochs=epochs,
        lr=1e-2,
        device="cpu",
        checkpoint_dir=checkpoint_dir,
        seed=11,
        progress=False,
        **kw,
    )
    return model, result


class SimulatedKillError(Exception):
    pass


def _raise_after_epoch_2(epoch, metrics):
    if epoch == 2:
        raise SimulatedKillError


@pytest.mark.parametrize(
    ("version", "bucketing", "num_workers", "interruption"),
    [("lrfs", False, 0, "stop"), ("hrvs", True, 0, "raise"), ("hrvs", False, 2, "stop")],
)
def test_interrupted_and_resumed_run_equals_uninterrupted_run(
    texture_folder, tmp_path, version, bucketing, num_workers, interruption
):
    torch.set_num_threads(1)
    args = (texture_folder, version, bucketing, num_workers)
    model_a, result_a = _train(texture_folder, tmp_path / "a", *args[1:])

    if interruption == "stop":
        _, partial = _train(texture_folder, tmp_path / "b", *args[1:], stop_after_epoch=2)
        assert list(partial.history.epoch) == [1, 2]
    else:
        with pytest.raises(SimulatedKillError):
            _train(texture_folder, tmp_path / "b", *args[1:], log_fn=_raise_after_epoch_2)
    assert load_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)["epoch"] == 2
    # A different initialisation proves the resumed weights come from the checkpoint.
    model_b, result_b = _train(texture_folder, tmp_path / "b", *args[1:], model_seed=99)

    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    pd.testing.assert_frame_equal(
        result_a.history.drop(columns=TIMING_COLUMNS), result_b.history.drop(columns=TIMING_COLUMNS)
    )
    assert result_a.best_epoch == result_b.best_epoch
    assert all(
        torch.equal(result_a.best_state_dict[k], result_b.best_state_dict[k]) for k in state_a
    )


def test_history_best_epoch_and_learning(texture_folder, tmp_path):
    logged = []
    model, result = _train(
        texture_folder,
        tmp_path,
        "lrfs",
        False,
        0,
        epochs=12,
        log_fn=lambda e, m: logged.append((e, m)),
    )
    history = result.history
    assert list(history.epoch) == list(range(1, 13))
    assert [epoch for epoch, _ in logged] == list(range(1, 13))
    assert logged[-1][1]["val_loss"] == history.val_loss.iloc[-1]
    assert result.best_epoch == int(history.epoch[history.val_loss.idxmin()])
    assert history.train_loss.iloc[-1] < history.train_loss.iloc[0]
    print(history[["train_loss", "val_loss", "val_acc"]])
    assert ((history.val_acc >= 0) & (history.val_acc <= 1)).all()
    assert (history.train_images_per_s > 0).all()

    # best_state_dict reproduces the best epoch's validation loss.
    _, val_loader = _loaders(texture_folder, "lrfs", False, 0)
    model.load_state_dict(result.best_state_dict)
    _, _, best_loss = evaluate_classifier(model, val_loader, "cpu")
    assert best_loss == pytest.approx(history.val_loss.min(), rel=1e-6)

    # The checkpoint loads with weights_only=True and holds the whole history.
    checkpoint = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert checkpoint["history"]["val_loss"] == list(history.val_loss)


def test_evaluate_classifier_matches_cross_entropy(texture_folder):
    torch.manual_seed(0)
    model = TinyNet().eval()
    _, val_loader = _loaders(texture_folder, "lrfs", False, 0)
    y_true, y_pred, loss = evaluate_classifier(model, val_loader, "cpu")
    images = torch.cat([x for x, _ in val_loader])
    labels = torch.cat([y for _, y in val_loader])
    with torch.no_grad():
        logits = model(images)
    assert np.array_equal(y_true, labels.numpy())
    assert np.array_equal(y_pred, logits.argmax(1).numpy())
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, labels).item(), rel=1e-5)


def test_resuming_with_other_settings_is_refused(texture_folder, tmp_path):
    _train(texture_folder, tmp_path, "lrfs", False, 0, stop_after_epoch=1)
    torch.manual_seed(0)
    train_loader, val_loader = _loaders(texture_folder, "lrfs", False, 0)
    with pytest.raises(ValueError, match="lr"):
        train_classifier(
            TinyNet(),
            train_loader,
            val_loader,
            epochs=2,
            lr=1e-3,
            checkpoint_dir=tmp_path,
            seed=11,
            progress=False,
        )


def test_rng_state_round_trip():
    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    restore_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


# ---- the multi-label objective (the Tate poster's multi-binary system) ---------------------------
def _multi_label_loaders(texture_folder):
    from artrec.training.data import MappedTargets

    folder, manifest = texture_folder
    # class -> tag rows, as Tate classes map to their medium tags (class 2 carries both tags)
    tags = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    loaders = []
    for split in ("train", "val"):
        rows = manifest[(manifest.version == "lrfs") & (manifest.split == split)]
        dataset = ImageManifestDataset(
            rows.reset_index(drop=True), build_transforms("lrfs", split == "train"), root=folder
        )
        loaders.append(
            build_dataloader(
                MappedTargets(dataset, tags), batch_size=4, train=split == "train", seed=0
            )
        )
    return loaders


def test_multi_label_objective_trains_and_resumes_identically(texture_folder, tmp_path):
    from artrec.training.loop import MULTI_LABEL

    def run(stop_after_epoch=None):
        torch.manual_seed(0)
        train_loader, val_loader = _multi_label_loaders(texture_folder)
        return train_classifier(
            TinyNet(num_classes=2),
            train_loader,
            val_loader,
            epochs=3,
            lr=0.05,
            optimizer="sgd",
            checkpoint_dir=tmp_path / "multi",
            seed=1,
            progress=False,
            stop_after_epoch=stop_after_epoch,
            objective=MULTI_LABEL,
        )

    run(stop_after_epoch=1)
    resumed = run()
    for path in tmp_path.glob("multi/*"):
        path.unlink()
    straight = run()
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns=TIMING_COLUMNS), straight.history.drop(columns=TIMING_COLUMNS)
    )
    for key, tensor in straight.best_state_dict.items():
        assert torch.equal(tensor, resumed.best_state_dict[key]), key
    history = straight.history
    assert (history["train_loss"] < 0.8).all() and history["val_acc"].between(0, 1).all()

    model = TinyNet(num_classes=2)
    model.load_state_dict(straight.best_state_dict)
    y_true, y_pred, loss = evaluate_classifier(
        model, _multi_label_loaders(texture_folder)[1], "cpu", objective=MULTI_LABEL
    )
    assert y_true.shape == y_pred.shape == (9, 2) and set(np.unique(y_pred)) <= {0, 1}
    assert np.isfinite(loss)


def test_multi_label_accuracy_needs_the_whole_row():
    from artrec.training.loop import accuracy_of, mean_class_accuracy_of

    y_true = np.array([[1, 0], [1, 0], [0, 1], [1, 1]])
    y_pred = np.array([[1, 0], [1, 1], [0, 1], [1, 0]])
    assert accuracy_of(y_true, y_pred) == 0.5
    # groups (true rows): [1,0] 1/2 right, [0,1] 1/1, [1,1] 0/1
    assert mean_class_accuracy_of(y_true, y_pred) == pytest.approx((0.5 + 1 + 0) / 3)
    assert accuracy_of(np.array([0, 1, 2]), np.array([0, 1, 1])) == pytest.approx(2 / 3)
