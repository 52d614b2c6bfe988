"""The train_met nodes on a tiny synthetic Met in the official layout: a method's training and
Table 6 evaluation, a crash after epoch 1 that the next run resumes, the long-tail study, the
untrained baseline, Table 6 / Figure 8 / the claims' bootstraps, the backbone selection, and the
embedding stage with the selected backbone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from artrec.models.factory import build_classifier
from artrec.pipelines.embed.nodes import build_met_embedder
from artrec.pipelines.train_met.nodes import (
    met_table6,
    met_untrained_baseline,
    select_backbone,
    select_met_backbone,
    train_met_backbone,
    train_met_long_tail,
)
from artrec.pipelines.train_met.start_nodes import pretrain_met_start
from artrec.synth.met import generate_met_dataset

START = {"backbone": "mame", "arch": "resnet18", "init": None, "gem_p": 3.0}
INPUTS = {
    "image_size": 32,
    "crop_scale": [0.7, 1.0],
    "color_jitter": [0.4, 0.4, 0.4, 0.1],
    "color_jitter_p": 0.8,
    "grayscale_p": 0.2,
    "freeze_batchnorm": True,
}
OPTIM = {"lr_backbone": 1e-3, "lr_head": 1e-2, "weight_decay": 1e-6}
FAMILIES = {
    "dnet": {
        "epochs": 2,
        "batch_size": 8,
        "temperature": 30.0,
        "arcface_scale": 64.0,
        "arcface_margin": 0.5,
        "prototype_init": "imprint",
    },
    "contrastive": {"epochs": 2, "batch_size": 8, "margin": 1.8, "negatives_pool": 10},
}
KS, TAUS, PCAW = [1, 3], [1.0, 30.0], {"shrinkage": 1.0, "dim": 512}


@pytest.fixture(scope="module")
def met_raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("met")
    generate_met_dataset(
        root,
        n_exhibits=14,
        seed=0,
        max_side=40,
        n_val_queries=3,
        n_test_queries=4,
        n_val_other_art=2,
        n_val_non_art=1,
        n_test_other_art=2,
        n_test_non_art=2,
    )
    return root


@pytest.fixture(scope="module")
def mame_model():
    torch.manual_seed(0)
    model = build_classifier("resnet18", 3, width_mult=0.125, batch_norm=False)
    return {
        "arch": "resnet18",
        "input_version": "hrvs",
        "num_classes": 3,
        "width_mult": 0.125,
        "classes": ["a", "b", "c"],
        "best_epoch": 1,
        "state_dict": model.state_dict(),
    }


def _train(method, family, met_raw, mame_model, checkpoints, stop=None):
    runtime = {"device": "cpu", "checkpoint_dir": str(checkpoints), "stop_after_epoch": stop}
    return train_met_backbone(
        met_raw,
        mame_model,
        None,
        START,
        INPUTS,
        OPTIM,
        FAMILIES[family],
        KS,
        TAUS,
        PCAW,
        0,
        runtime,
        method=method,
    )


@pytest.fixture(scope="module")
def trained(met_raw, mame_model, tmp_path_factory):
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    return {
        method: _train(method, family, met_raw, mame_model, checkpoints)
        for method, family in (("dnet_arcface", "dnet"), ("con_syn", "contrastive"))
    }


def test_a_method_stage_reports_table6_numbers(trained):
    state, history, metrics, predictions = trained["dnet_arcface"]
    assert history["epoch"].tolist() == [1, 2] and (history["method"] == "dnet_arcface").all()
    assert {"knn", "parametric"} <= set(metrics)
    for system in ("knn", "parametric"):
        assert 0.0 <= metrics[system]["ACC"] <= 100.0
        frame = predictions[predictions["system"] == system]
        assert len(frame) == 8  # every test query: 4 Met queries, 4 distractors
    assert state["method"] == "dnet_arcface" and "prototypes" in state
    assert "DNet AF" in state["description"]
    _, _, contrastive_metrics, _ = trained["con_syn"]
    assert "parametric" not in contrastive_metrics


def test_a_crashed_stage_resumes_to_the_same_result(met_raw, mame_model, trained, tmp_path):
    with pytest.raises(RuntimeError, match="stop_after_epoch"):
        _train("con_syn", "contrastive", met_raw, mame_model, tmp_path, stop=1)
    state, history, metrics, _ = _train("con_syn", "contrastive", met_raw, mame_model, tmp_path)
    whole_state, whole_history, whole_metrics, _ = trained["con_syn"]
    timing = ["train_seconds", "val_seconds"]
    pd.testing.assert_frame_equal(history.drop(columns=timing), whole_history.drop(columns=timing))
    for key, tensor in whole_state["state_dict"].items():
        assert torch.equal(state["state_dict"][key], tensor)
    assert metrics["knn"] == whole_metrics["knn"]


def test_long_tail_baseline_table6_and_selection(met_raw, mame_model, trained, tmp_path):
    runtime = {"device": "cpu", "checkpoint_dir": str(tmp_path), "stop_after_epoch": None}
    reference_state, _, reference_metrics, _ = trained["dnet_arcface"]
    table, histories, long_tail, _ = train_met_long_tail(
        met_raw,
        mame_model,
        None,
        reference_state,
        reference_metrics,
        START,
        INPUTS,
        OPTIM,
        FAMILIES["dnet"],
        {"retrain_epochs": 1},
        KS,
        TAUS,
        PCAW,
        0,
        runtime,
    )
    assert table["method"].tolist() == [
        "reference (DNet AF)",
        "class weighting",
        "class-balanced sampling",
        "classifier retraining",
    ]
    assert table["ACC parametric (paper)"].tolist() == [36.6, 35.8, 33.4, 35.0]
    assert set(histories["method"]) == {
        "class_weighting",
        "class_balanced",
        "classifier_retraining",
    }

    untrained, untrained_predictions = met_untrained_baseline(
        met_raw, mame_model, None, START, INPUTS, KS, TAUS, PCAW, runtime
    )
    methods = {}
    for method, (_, _, metrics, predictions) in trained.items():
        methods[f"{method}_metrics"] = metrics
        methods[f"{method}_predictions"] = predictions
    table6, figure8, _, summary = met_table6(
        untrained,
        untrained_predictions,
        long_tail,
        met_raw,
        "met",
        {"bootstrap_resamples": 50},
        0,
        **methods,
    )
    assert table6["method"].tolist() == ["DNet AF", "untrained (baseline)", "DNet AF", "Con-Syn"]
    assert table6["classifier"].tolist() == ["parametric", "kNN", "kNN", "kNN"]
    assert table6.loc[1, "ACC (paper)"] == 42.3
    expected = select_backbone({m: trained[m][2] for m in trained}, "met")
    assert summary["selected"] == expected and summary["selected_by"] == "validation GAP"
    interval = summary["best_minus_untrained"]["ACC"]
    assert interval["low95"] <= interval["difference"] <= interval["high95"]
    assert set(summary["knn_minus_parametric"]) == {"dnet_arcface"}
    assert figure8["queries"].sum() == 4

    models = {f"{m}_model": trained[m][0] for m in trained}
    chosen = select_met_backbone(summary, "met", **models)
    assert chosen["method"] == expected and "best on validation" in chosen["description"]
    _, _, named = met_table6(
        untrained,
        untrained_predictions,
        long_tail,
        met_raw,
        "met_con_syn",
        {"bootstrap_resamples": 20},
        0,
        **methods,
    )[1:]
    assert named["selected"] == "con_syn"
    with pytest.raises(ValueError, match="names no trained method"):
        select_backbone({m: trained[m][2] for m in trained}, "met_simsiam")

    # embed_met's backbone "met" is the selected one, rebuilt from its state
    embedder, description = build_met_embedder({"backbone": "met"}, mame_model, chosen)
    images = torch.rand(2, 3, 32, 32)
    rebuilt = trained[expected][0]
    assert description == chosen["description"]
    with torch.no_grad():
        out = embedder.eval()(images)
    assert out.shape == (2, rebuilt["projector_dim"])
    assert np.allclose(torch.linalg.norm(out, dim=1).numpy(), 1.0, atol=1e-5)


PRETRAIN = {
    "objects": 6,
    "photos_per_object": 2,
    "val_every": 2,
    "width_mult": 0.125,
    "epochs": 2,
    "batch_size": 4,
    "lr": 1e-3,
}


def test_the_synthetic_start_is_pretrained_then_trained_on_the_met(met_raw, tmp_path):
    runtime = {"device": "cpu", "checkpoint_dir": str(tmp_path), "stop_after_epoch": None}
    start = {**START, "backbone": "synthetic"}
    state, history, metrics = pretrain_met_start(PRETRAIN, start, INPUTS, OPTIM, 30.0, 0, runtime)
    assert history["epoch"].tolist() == [1, 2]
    assert metrics["objects"] == 6 and metrics["train_images"] == 12
    assert metrics["held_out_images"] == 3 and 0.0 <= metrics["held_out_1nn_acc"] <= 100.0
    assert state["trunk"]["batch_norm"] is True and "synthetic objects" in state["description"]
    # Its trunk (without the pretraining's FC layer) is where a Met method starts.
    embedder, description = build_met_embedder(
        {"backbone": "synthetic", "gem_p": 3.0}, None, None, state
    )
    assert embedder.projector is None and description == state["description"]
    family = {**FAMILIES["dnet"], "epochs": 1}
    trained, _, metrics, _ = train_met_backbone(
        met_raw,
        None,
        state,
        start,
        INPUTS,
        OPTIM,
        family,
        KS,
        TAUS,
        PCAW,
        0,
        runtime,
        method="dnet_ce",
    )
    assert "synthetic objects" in trained["description"] and "knn" in metrics


def test_another_start_pretrains_nothing_and_says_so(tmp_path):
    runtime = {"device": "cpu", "checkpoint_dir": str(tmp_path), "stop_after_epoch": None}
    state, history, metrics = pretrain_met_start(PRETRAIN, START, INPUTS, OPTIM, 30.0, 0, runtime)
    assert history.empty and "not pretrained" in metrics["skipped"]
    assert "'mame'" in state["description"]
