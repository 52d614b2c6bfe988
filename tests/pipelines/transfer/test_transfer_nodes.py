"""The transfer stage's nodes end to end on tiny synthetic collections (no Kedro): curation,
theta from a MAMe-style state, off the shelf / fine tuning / scratch, theta vs theta-hat,
tables, saliency; and a killed stage that resumes to the result of an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from artrec.models.factory import build_classifier
from artrec.pipelines.transfer.nodes import (
    curate_collections,
    prepare_inputs,
    saliency_figure,
    starting_networks,
    theta_features,
    train_first_collection,
    train_second_collection,
    transfer_results,
)
from artrec.synth.rijksmuseum import write_collection

NETWORKS = {
    "resnet18": {
        "theta": "mame",
        "width_mult": 0.125,
        "batch_norm": False,
        "input_size": 32,
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
    }
}
OTS = {"optimizer": "rmsprop", "lr": 1e-3, "rho": 0.9, "eps": 1e-8}
FT = {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9, "nesterov": True}
TRAINING = {"batch_size": 32, "max_epochs": 2, "patience": 7}
CURATE = {
    "split": {"train": 0.8, "val": 0.1},
    "challenges": {"rijksmuseum": ["material", "type", "artist"], "antwerp": ["type", "artist"]},
}


def _mame_model() -> dict:
    torch.manual_seed(0)
    model = build_classifier("resnet18", 4, width_mult=0.125, batch_norm=False)
    return {
        "arch": "resnet18",
        "width_mult": 0.125,
        "input_version": "lrfs",
        "classes": ["a", "b", "c", "d"],
        "state_dict": model.state_dict(),
    }


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("transfer")
    raw = {
        name: write_collection(
            root / name,
            name,
            objects=n,
            artists=3,
            seed=0,
            artist_zipf=0.5,
            min_side=32,
            max_side=36,
            workers=1,
        )
        for name, n in (("rijksmuseum", 90), ("antwerp", 80))
    }
    metadata, challenges, table1 = curate_collections(
        raw["rijksmuseum"], raw["antwerp"], CURATE, seed=0
    )
    return raw, metadata, challenges, table1


def _first(curated, runtime, inputs=None):
    raw, _, challenges, _ = curated
    inputs = inputs or prepare_inputs(
        raw["rijksmuseum"], raw["antwerp"], challenges, ["resnet18"], ["resnet18"], NETWORKS
    )
    theta = starting_networks(_mame_model(), ["resnet18"], ["resnet18"], NETWORKS)
    features = theta_features(inputs, theta, ["resnet18"], runtime)
    return (
        inputs,
        theta,
        features,
        train_first_collection(
            inputs,
            challenges,
            theta,
            features,
            ["resnet18"],
            ["resnet18"],
            OTS,
            FT,
            TRAINING,
            runtime,
            0,
        ),
    )


def test_curation_gives_table1_and_the_papers_metadata(curated) -> None:
    _, metadata, challenges, table1 = curated
    assert {"ImageId", "dc_creator", "dc_materiaal", "dc_type", "collection"} <= set(metadata)
    material = table1[table1["challenge"] == "material"].set_index("collection")["images"]
    assert material["rijksmuseum"] > 0 and material["antwerp"] == 0  # no Antwerp material
    assert set(challenges["split"]) == {"train", "val", "test"}


def test_the_stage_end_to_end(curated, tmp_path: Path) -> None:
    runtime = {"device": "cpu", "checkpoint_dir": str(tmp_path)}
    inputs, theta, features, (p1, h1, theta_hat) = _first(curated, runtime)
    assert set(theta_hat["networks"]) == {"material", "type", "artist"}
    assert set(p1["mode"]) == {"off_the_shelf", "fine_tuning", "scratch"}
    p2, h2 = train_second_collection(
        inputs, curated[2], theta, features, theta_hat, ["resnet18"], OTS, FT, TRAINING, runtime, 0
    )
    assert set(zip(p2["mode"], p2["start"], strict=True)) == {
        ("off_the_shelf", "theta"),
        ("off_the_shelf", "theta_hat"),
        ("fine_tuning", "theta"),
        ("fine_tuning", "theta_hat"),
    }
    predictions, history, table2, table3, metrics = transfer_results(p1, h1, p2, h2, theta)
    assert len(table2) == 3 and len(table3) == 2
    assert table2["feature_size"].eq(64).all()
    assert table3.filter(like="theta").notna().all().all()
    assert metrics["test_acc"] and "MAMe LR&FS" in metrics["theta"]["resnet18"]
    assert history.groupby(["collection", "challenge", "mode", "start"]).size().eq(2).all()
    figure = saliency_figure(
        inputs,
        curated[2],
        theta,
        theta_hat,
        predictions,
        ["resnet18"],
        {"images": {"artist": 2, "type": 1}},
        runtime,
    )
    assert len(figure.axes) == 3 * 3


def test_a_killed_stage_resumes_to_the_uninterrupted_result(curated, tmp_path: Path) -> None:
    whole = _first(curated, {"device": "cpu", "checkpoint_dir": str(tmp_path / "a")})[3]
    killed = {"device": "cpu", "checkpoint_dir": str(tmp_path / "b"), "stop_after_epoch": 1}
    with pytest.raises(RuntimeError, match="stop_after_epoch"):
        _first(curated, killed)
    resumed = _first(curated, {"device": "cpu", "checkpoint_dir": str(tmp_path / "b")})[3]
    pd.testing.assert_frame_equal(resumed[0], whole[0])
    for column in ("val_loss", "val_acc", "train_loss"):
        assert resumed[1][column].tolist() == whole[1][column].tolist()


def test_theta_mame_must_match_the_architecture() -> None:
    with pytest.raises(ValueError, match="MAMe model is a"):
        starting_networks({**_mame_model(), "arch": "vgg11"}, ["resnet18"], [], NETWORKS)
