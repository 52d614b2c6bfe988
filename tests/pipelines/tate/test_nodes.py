"""The Tate poster's four systems on a tiny synthetic folder: training (resumable), evaluation,
the results tables, saliency; the pretrained starts (the MAMe model, a local weights file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from torchvision.models import resnet18

from artrec.curation.medium_tags import default_tagger
from artrec.curation.tate import curate_tate
from artrec.datasets.tate import read_tate_artworks
from artrec.models.factory import build_classifier
from artrec.pipelines.tate.nodes import (
    NO_CLASS,
    SYSTEMS,
    build_system_model,
    class_tag_matrix,
    evaluate_tate_model,
    tate_results,
    tate_saliency,
    train_tate_model,
)
from artrec.pipelines.tate.pipeline import create_pipeline
from artrec.synth.tate import generate_tate_dataset

FACTS = Path(__file__).resolve().parents[3] / "conf" / "base" / "tate_media.csv"
SPLIT = {"train": 3, "val": 2, "test": 2}


@pytest.fixture(scope="module")
def tate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    raw = tmp_path_factory.mktemp("tate_raw")
    generate_tate_dataset(
        raw,
        facts_path=FACTS,
        records=1200,
        n_classes=4,
        images_per_class=7,
        thumbnail_size_px=24,
        fine_cycles=6,
        seed=0,
        tagger=default_tagger(),
    )
    result = curate_tate(
        read_tate_artworks(raw / "tate_artworks.csv"), raw, default_tagger(), 4, SPLIT, seed=0
    )
    return raw, result.dataset, result.classes


@pytest.fixture(scope="module")
def mame_model() -> dict[str, Any]:
    """A stand-in for data/06_models/mame_resnet18_hrvs.pt (same layout, 10 MAMe classes)."""
    torch.manual_seed(1)
    model = build_classifier("resnet18", 10, width_mult=0.125)
    return {
        "arch": "resnet18",
        "width_mult": 0.125,
        "num_classes": 10,
        "state_dict": model.state_dict(),
    }


def _params(tmp_path: Path, **runtime: Any) -> dict[str, Any]:
    return {
        "image_size": 16,
        "epochs": 2,
        "batch_size": 4,
        "eval_batch_size": 8,
        "init": "mame",
        "width_mult": 0.125,
        "batch_norm": False,
        "normalise": {"mean": [0.5] * 3, "std": [0.5] * 3},
        "freeze": ["conv1", "layer1"],
        "lr": {name: 0.01 for name in SYSTEMS},
        "runtime": {"checkpoint_dir": str(tmp_path / "checkpoints"), "device": "cpu", **runtime},
    }


def test_class_tags_as_multi_hot_rows(tate) -> None:
    _, _, classes = tate
    tags, matrix = class_tag_matrix(classes)
    assert tags[:3] == ["graphite", "paper", "oil paint"]
    assert matrix.shape == (4, len(tags)) and matrix[0].tolist()[:3] == [1, 1, 0]


def test_four_systems_train_evaluate_and_tabulate(tate, mame_model, tmp_path) -> None:
    raw, dataset, classes = tate
    params = _params(tmp_path)
    states, predictions = {}, {}
    for name in SYSTEMS:
        states[name], history = train_tate_model(
            raw, dataset, classes, params, 0, name, mame_model=mame_model
        )
        assert history["epoch"].tolist() == [1, 2] and (history["system"] == name).all()
        predictions[name] = evaluate_tate_model(states[name], raw, dataset, classes, params)
        frame = predictions[name]
        assert len(frame) == len(dataset)
        assert set(frame["predicted"]) <= {*classes["name"], NO_CLASS}
        assert (frame["correct"] == (frame["true"] == frame["predicted"])).all()
    assert states["multi_binary"]["outputs"] == len(class_tag_matrix(classes)[0])
    # the frozen layers of the augmented system kept the MAMe weights
    for key in ("conv1.weight", "layer1.0.conv1.weight"):
        assert torch.equal(states["resnet18_aug"]["state_dict"][key], mame_model["state_dict"][key])
        assert not torch.equal(states["resnet18"]["state_dict"][key], mame_model["state_dict"][key])
    results, per_class, per_tag, figure, metrics = tate_results(
        classes, params, **predictions, **{f"{n}_model": s for n, s in states.items()}
    )
    assert results["system"].tolist() == [s.label for s in SYSTEMS.values()]
    assert results.loc[0, "test (paper)"] == 56.5  # the poster's baseline
    assert results["test (ours)"].between(0, 100).all()
    assert per_class.shape == (4, 5) and per_tag.shape[0] == len(class_tag_matrix(classes)[0])
    assert isinstance(figure, Figure)
    assert metrics["simple_cnn"]["test_images"] == 8 and metrics["resnet18"]["epochs"] == 2
    explained = {n: states[n] for n in ("simple_cnn", "resnet18", "resnet18_aug")}
    saliency = tate_saliency(
        raw,
        dataset,
        classes,
        params,
        {"images": 2, "classes": ["Oil paint on canvas", "Unknown class"]},
        **explained,
    )
    assert len(saliency.axes) == 4  # one image, three models


def test_a_killed_run_resumes_to_the_same_model(tate, mame_model, tmp_path) -> None:
    raw, dataset, classes = tate
    with pytest.raises(RuntimeError, match="stopped after epoch 1"):
        train_tate_model(
            raw,
            dataset,
            classes,
            _params(tmp_path, stop_after_epoch=1),
            0,
            "multi_binary",
            mame_model=mame_model,
        )
    resumed, history = train_tate_model(
        raw, dataset, classes, _params(tmp_path), 0, "multi_binary", mame_model=mame_model
    )
    straight, again = train_tate_model(
        raw, dataset, classes, _params(tmp_path / "fresh"), 0, "multi_binary", mame_model=mame_model
    )
    pd.testing.assert_frame_equal(
        history.drop(columns=["train_seconds", "train_images_per_s", "val_seconds"]),
        again.drop(columns=["train_seconds", "train_images_per_s", "val_seconds"]),
    )
    for key, tensor in straight["state_dict"].items():
        assert torch.equal(tensor, resumed["state_dict"][key]), key


def test_the_paper_start_loads_a_local_imagenet_weights_file(tmp_path) -> None:
    torch.manual_seed(2)
    reference = resnet18(num_classes=1000).state_dict()  # torchvision's layout, with BN
    path = tmp_path / "resnet18-f37072fd.pth"
    torch.save(reference, path)
    params = {
        "init": str(path),
        "width_mult": 1.0,
        "batch_norm": True,
        "freeze": ["conv1", "bn1", "layer1"],
    }
    model = build_system_model("resnet18_aug", 10, 11, params)
    state = model.state_dict()
    assert torch.equal(state["layer3.1.conv2.weight"], reference["layer3.1.conv2.weight"])
    assert torch.equal(state["bn1.running_var"], reference["bn1.running_var"])
    assert state["fc.weight"].shape == (10, 512)  # a new head for the Tate classes
    assert not model.conv1.weight.requires_grad and model.layer2[0].conv1.weight.requires_grad
    multi = build_system_model("multi_binary", 10, 11, params)
    assert multi.fc.out_features == 11


def test_the_mame_start_must_match_the_width(mame_model) -> None:
    with pytest.raises(ValueError, match="set train.tate.width_mult to 0.125"):
        build_system_model(
            "resnet18", 4, 5, {"init": "mame", "width_mult": 1.0}, mame_model=mame_model
        )
    model = build_system_model(
        "resnet18", 4, 5, {"init": "mame", "width_mult": 0.125}, mame_model=mame_model
    )
    trunk = model.state_dict()["layer4.1.conv1.weight"]
    assert torch.equal(trunk, mame_model["state_dict"]["layer4.1.conv1.weight"])
    assert model.fc.out_features == 4
    assert np.isfinite(model(torch.zeros(1, 3, 32, 32)).detach().numpy()).all()


def test_the_pipeline_wires_one_stage() -> None:
    pipeline = create_pipeline()
    names = {n.name for n in pipeline.nodes}
    assert {f"train_tate_{s}" for s in SYSTEMS} | {"tate_results", "tate_saliency"} <= names
    simple = next(n for n in pipeline.nodes if n.name == "train_tate_simple_cnn")
    assert "mame_resnet18_hrvs_model" not in simple.inputs
    resnet = next(n for n in pipeline.nodes if n.name == "train_tate_resnet18")
    assert "mame_resnet18_hrvs_model" in resnet.inputs
