"""One run: challenge data as positions into the input arrays, the off-the-shelf and the network
runs, their predictions on val and test, resumption from the checkpoint folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from artrec.models.factory import build_transfer_classifier
from artrec.transfer.protocol import Protocol
from artrec.transfer.runs import ChallengeData, RunSettings, run_network, run_off_the_shelf

NAME = {"collection": "c", "challenge": "type", "mode": "m", "start": "s", "arch": "resnet18"}


def _table(n: int = 90) -> tuple[pd.DataFrame, np.ndarray]:
    ids = np.array([f"{i:07d}_X" for i in range(n)])
    split = np.array(["train"] * 60 + ["val"] * 15 + ["test"] * 15)
    labels = np.array(["a", "b", "c"])[np.arange(n) % 3]
    table = pd.DataFrame(
        {
            "collection": "c",
            "challenge": "type",
            "ImageId": ids,
            "image": "",
            "label": labels,
            "split": split,
        }
    )
    return table.sample(frac=1.0, random_state=0), ids[::-1].copy()


def test_challenge_data_maps_objects_to_array_rows() -> None:
    table, order = _table()
    data = ChallengeData.from_table(table, "c", "type", order)
    assert data.classes == ("a", "b", "c")
    for split in ("train", "val", "test"):
        rows = order[data.positions[split]]
        assert list(rows) == list(data.image_ids[split])
    with pytest.raises(ValueError, match="no objects"):
        ChallengeData.from_table(table, "c", "artist", order)


def test_off_the_shelf_on_separable_features_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    table, order = _table()
    data = ChallengeData.from_table(table, "c", "type", order)
    pairs = zip(table["ImageId"], table["label"], strict=True)
    label_of = {i: ["a", "b", "c"].index(lab) for i, lab in pairs}
    features = np.eye(3, dtype=np.float32)[[label_of[i] for i in order]] * 3
    protocol = Protocol("rmsprop", 1e-2, 16, 15, 3, {"alpha": 0.9, "eps": 1e-8})
    settings = RunSettings(seed=0, checkpoint_root=tmp_path)
    result = run_off_the_shelf(features, data, protocol, NAME, settings)
    assert result.test_accuracy() == 1.0
    assert set(result.predictions["split"]) == {"val", "test"} and len(result.predictions) == 30
    assert (result.history["mode"] == "m").all()
    again = run_off_the_shelf(features, data, protocol, NAME, settings)
    assert again.history["val_loss"].tolist() == result.history["val_loss"].tolist()
    assert len(list(tmp_path.iterdir())) == 1  # one checkpoint folder: the run was resumed


def test_a_network_run_trains_the_whole_network() -> None:
    table, order = _table()
    data = ChallengeData.from_table(table, "c", "type", order)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (90, 32, 32, 3), dtype=np.uint8)
    protocol = Protocol("sgd", 1e-3, 32, 2, 7, {"momentum": 0.9, "nesterov": True})

    def build():
        return build_transfer_classifier("resnet18", 3, None, width_mult=0.125, batch_norm=False)

    start = build().state_dict()
    result = run_network(
        build, images, [0.5] * 3, [0.5] * 3, data, protocol, NAME, RunSettings(seed=0)
    )
    assert len(result.history) == 2 and result.best_epoch in (1, 2)
    changed = [k for k, v in result.best_state.items() if not np.array_equal(v, start[k])]
    assert any(k.startswith("trunk.") for k in changed)  # fine tuning moves the trunk too
