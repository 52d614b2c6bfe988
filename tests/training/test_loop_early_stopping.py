"""The training loop's early stopping and the transfer-learning paper's optimisers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from artrec.training.checkpoint import require_all_epochs
from artrec.training.loop import build_optimizer, stopped_early, train_classifier


def _loaders(seed: int = 0, noisy: bool = False) -> tuple[DataLoader, DataLoader]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(80, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    # Noisy: training labels unrelated to the validation labels, so validation loss soon rises.
    y_train = rng.integers(0, 2, 60) if noisy else y[:60]
    train = TensorDataset(torch.from_numpy(x[:60]), torch.from_numpy(y_train))
    val = TensorDataset(torch.from_numpy(x[60:]), torch.from_numpy(y[60:]))
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(train, batch_size=8, shuffle=True, generator=generator), DataLoader(val, 32)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2))


def test_stopped_early_counts_epochs_since_the_best() -> None:
    rows = [{"epoch": e} for e in range(1, 6)]
    assert stopped_early(rows, best_epoch=2, patience=3)
    assert not stopped_early(rows, best_epoch=3, patience=3)
    assert not stopped_early(rows, best_epoch=1, patience=None)
    assert not stopped_early([], best_epoch=0, patience=1)


def test_training_stops_once_validation_loss_stops_falling(tmp_path) -> None:
    train, val = _loaders(noisy=True)
    result = train_classifier(
        _model(),
        train,
        val,
        epochs=60,
        lr=0.05,
        optimizer="sgd",
        patience=3,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    last = int(result.history["epoch"].iloc[-1])
    assert last < 60 and result.stopped_early
    assert last - result.best_epoch == 3
    # A stage accepts a run that early stopping ended, and refuses one that was cut short.
    require_all_epochs(result.history, 60, "run", "stop_after_epoch", stopped_early=True)
    with pytest.raises(RuntimeError, match=f"stopped after epoch {last} of 60"):
        require_all_epochs(result.history, 60, "run", "stop_after_epoch")
    losses = result.history["val_loss"].to_numpy()
    assert losses[result.best_epoch - 1] == losses.min()
    assert (losses[result.best_epoch :] >= losses.min()).all()
    # Resuming a run that stopped early trains nothing more, even with a larger budget.
    again = train_classifier(
        _model(),
        train,
        val,
        epochs=80,
        lr=0.05,
        optimizer="sgd",
        patience=3,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    assert len(again.history) == len(result.history) and again.best_epoch == result.best_epoch


def test_a_killed_run_with_early_stopping_resumes_to_the_same_result(tmp_path) -> None:
    settings = dict(
        epochs=40,
        lr=0.05,
        optimizer="sgd",
        patience=2,
        progress=False,
        optimizer_options={"nesterov": True},
    )
    whole = train_classifier(
        _model(), *_loaders(noisy=True), checkpoint_dir=tmp_path / "a", **settings
    )
    train_classifier(
        _model(),
        *_loaders(noisy=True),
        checkpoint_dir=tmp_path / "b",
        stop_after_epoch=2,
        **settings,
    )
    resumed = train_classifier(
        _model(), *_loaders(noisy=True), checkpoint_dir=tmp_path / "b", **settings
    )
    assert resumed.best_epoch == whole.best_epoch
    assert resumed.history["val_loss"].tolist() == whole.history["val_loss"].tolist()
    for name, tensor in whole.best_state_dict.items():
        assert torch.equal(tensor, resumed.best_state_dict[name])


def test_optimizer_options_are_part_of_the_run(tmp_path) -> None:
    train, val = _loaders()
    train_classifier(
        _model(),
        train,
        val,
        epochs=1,
        lr=0.01,
        optimizer="sgd",
        checkpoint_dir=tmp_path,
        progress=False,
    )
    with pytest.raises(ValueError, match="other settings"):
        train_classifier(
            _model(),
            train,
            val,
            epochs=2,
            lr=0.01,
            optimizer="sgd",
            optimizer_options={"nesterov": True},
            checkpoint_dir=tmp_path,
            progress=False,
        )


def test_the_papers_optimisers() -> None:
    params = [nn.Parameter(torch.zeros(2))]
    rmsprop = build_optimizer("rmsprop", params, 1e-3)
    assert isinstance(rmsprop, torch.optim.RMSprop)
    assert rmsprop.defaults["alpha"] == 0.9 and rmsprop.defaults["eps"] == 1e-8  # Keras' rho, eps
    sgd = build_optimizer("sgd", params, 1e-3, options={"nesterov": True})
    assert sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9
    assert not build_optimizer("sgd", params, 1e-3).defaults["nesterov"]  # the MAMe loop's SGD
    with pytest.raises(ValueError, match="takes options"):
        build_optimizer("rmsprop", params, 1e-3, options={"nesterov": True})
    with pytest.raises(ValueError, match="optimizer must be one of"):
        build_optimizer("adagrad", params, 1e-3)
