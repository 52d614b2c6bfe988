"""The training loop with a caller's step (``train_epochs``): resumption, model selection by
score, schedules, early stopping on the score."""

import math

import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from artrec.training.loop import build_optimizer, halfway_decay, train_epochs


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    x = torch.randn(24, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(24)
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Linear(8, 1))
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=5,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    groups = [
        {"params": list(model[0].parameters()), "name": "backbone", "scheduled": True},
        {"params": list(model[2].parameters()), "name": "head", "scheduled": False},
    ]
    optimizer = build_optimizer("adam", groups, 1e-2)
    return model, loader, optimizer, (x, y)


def _train(tmp_path, epochs=4, stop=None, score=None, config=None, drawn=None):
    model, loader, optimizer, (x, y) = _setup()

    def step(net, batch):
        inputs, targets = batch
        return nn.functional.mse_loss(net(inputs).squeeze(1), targets), len(targets)

    def validate(net, epoch):
        net.eval()
        with torch.no_grad():
            loss = nn.functional.mse_loss(net(x).squeeze(1), y).item()
        return {"val_loss": loss}

    def before_epoch(net, epoch):
        if drawn is not None:
            drawn.append(torch.rand(1).item())  # seeded per epoch: the same when resumed

    return train_epochs(
        model,
        loader,
        optimizer,
        epochs=epochs,
        step=step,
        validate=validate,
        score=score or (lambda m: -m["val_loss"]),
        config=config or {"run": 1},
        seed=3,
        checkpoint_dir=tmp_path,
        before_epoch=before_epoch,
        lr_factor=halfway_decay(epochs),
        stop_after_epoch=stop,
    ), model


def test_stopped_and_resumed_run_equals_the_uninterrupted_one(tmp_path):
    draws_whole, draws_resumed = [], []
    whole, whole_model = _train(tmp_path / "a", drawn=draws_whole)
    partial, _ = _train(tmp_path / "b", stop=2, drawn=draws_resumed)
    assert len(partial.history) == 2
    resumed, resumed_model = _train(tmp_path / "b", drawn=draws_resumed)
    timing = ["train_seconds", "val_seconds"]
    pd.testing.assert_frame_equal(
        whole.history.drop(columns=timing), resumed.history.drop(columns=timing)
    )
    assert draws_whole == draws_resumed
    for key, tensor in whole_model.state_dict().items():
        assert torch.equal(tensor, resumed_model.state_dict()[key])
    assert whole.best_epoch == resumed.best_epoch
    for key, tensor in whole.best_state_dict.items():
        assert torch.equal(tensor, resumed.best_state_dict[key])


def test_history_best_epoch_and_halfway_schedule(tmp_path):
    result, _ = _train(tmp_path)
    history = result.history
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history["lr.backbone"].tolist() == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3])
    assert history["lr.head"].tolist() == pytest.approx([1e-2] * 4)
    assert result.best_epoch == int(history["epoch"][history["val_loss"].idxmin()])
    assert [halfway_decay(5)(e) for e in range(1, 6)] == [1, 1, 0.1, 0.1, 0.1]


def test_non_finite_scores_never_count_as_best(tmp_path):
    scores = iter([0.5, math.nan, 0.7, math.inf])
    result, _ = _train(tmp_path, score=lambda m: next(scores))
    assert result.best_epoch == 3


def test_resuming_with_other_settings_is_refused(tmp_path):
    _train(tmp_path, stop=1)
    with pytest.raises(ValueError, match="other settings"):
        _train(tmp_path, config={"run": 2})
