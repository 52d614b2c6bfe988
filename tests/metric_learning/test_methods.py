"""Every Met training method runs through the epoch loop on tiny data, keeps the best epoch by
validation kNN accuracy, and a run killed after epoch 1 resumes to the identical result."""

import numpy as np
import pandas as pd
import pytest
import torch

from artrec.metric_learning.backbones import start_embedder
from artrec.metric_learning.methods import METHODS, retrain_classifier, train_method
from artrec.metric_learning.models import DNet
from artrec.metric_learning.protocol import knn_system, parametric_system
from artrec.training.checkpoint import CHECKPOINT_NAME

SETTINGS = {
    "image_size": 32,
    "crop_scale": [0.7, 1.0],
    "color_jitter": [0.4, 0.4, 0.4, 0.1],
    "color_jitter_p": 0.8,
    "grayscale_p": 0.2,
    "freeze_batchnorm": True,
    "lr_backbone": 1e-3,
    "lr_head": 1e-2,
    "weight_decay": 1e-6,
    "epochs": 2,
    "batch_size": 4,
    "temperature": 30.0,
    "arcface_scale": 64.0,
    "arcface_margin": 0.5,
    "prototype_init": "imprint",
    "projector_dim": 8,
    "predictor_dim": 4,
    "margin": 1.8,
    "negatives_pool": 10,
    "retrain_epochs": 2,
}
TIMING = ["train_seconds", "val_seconds"]


def _run(method, mame, data, **kwargs):
    embedder, _, _ = start_embedder("mame", "resnet18", None, 3.0, mame)
    return train_method(method, embedder, data, SETTINGS, seed=1, **kwargs)


@pytest.mark.parametrize("method", ["dnet_arcface", "simsiam", "con_syn_real_closest"])
def test_killed_run_resumes_to_the_uninterrupted_result(
    method, tiny_met, fake_mame_model, tmp_path
):
    whole = _run(method, fake_mame_model, tiny_met, checkpoint_dir=tmp_path / "whole")
    with pytest.raises(Exception):  # noqa: B017 - nothing is returned before the end
        # stop after epoch 1 as a crash would: the result is incomplete, the checkpoint exists
        partial = _run(
            method, fake_mame_model, tiny_met, checkpoint_dir=tmp_path / "part", stop_after_epoch=1
        )
        assert len(partial.history) == 1
        raise RuntimeError("stopped")
    assert (tmp_path / "part" / CHECKPOINT_NAME).is_file()
    resumed = _run(method, fake_mame_model, tiny_met, checkpoint_dir=tmp_path / "part")
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns=TIMING), whole.history.drop(columns=TIMING)
    )
    assert resumed.best_epoch == whole.best_epoch
    for key, tensor in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], tensor), key


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_method_trains_and_reports_epochs(method, tiny_met, fake_mame_model):
    result = _run(method, fake_mame_model, tiny_met)
    history = result.history
    assert history["epoch"].tolist() == [1, 2]
    assert np.isfinite(history["train_loss"]).all()
    assert {"val_acc", "val_gap", "lr.backbone"} <= set(history.columns)
    # the backbone's rate is divided by 10 halfway; the head's (if any) is not
    assert history["lr.backbone"].tolist() == pytest.approx([1e-3, 1e-4])
    if "lr.head" in history:
        assert history["lr.head"].tolist() == pytest.approx([1e-2, 1e-2])
    score = history["val_acc"] + history["val_gap"] / (int((tiny_met.labels["val"] >= 0).sum()) + 1)
    assert result.best_epoch == int(history["epoch"][score.idxmax()])
    assert result.embedder.projector is not None
    assert isinstance(result.model, DNet) == method.startswith("dnet")


def test_long_tail_variants_and_classifier_retraining(tiny_met, fake_mame_model):
    for flags in ({"class_weighting": True}, {"class_balanced": True}):
        result = _run("dnet_arcface", fake_mame_model, tiny_met, **flags)
        assert np.isfinite(result.history["train_loss"]).all()
    with pytest.raises(ValueError, match="DNet only"):
        _run("simsiam", fake_mame_model, tiny_met, class_balanced=True)
    reference = _run("dnet_arcface", fake_mame_model, tiny_met)
    backbone = {k: v.clone() for k, v in reference.embedder.state_dict().items()}
    retrained = retrain_classifier(reference.model, tiny_met, SETTINGS, seed=1)
    for key, tensor in retrained.embedder.state_dict().items():
        assert torch.equal(tensor, backbone[key]), f"{key} changed: the backbone must be frozen"
    assert not torch.equal(retrained.model.loss.W, reference.model.loss.W)
    assert "val_parametric_acc" in retrained.history


def test_protocol_evaluates_knn_and_parametric_classifiers(tiny_met, fake_mame_model):
    result = _run("dnet_ce", fake_mame_model, tiny_met)
    knn = knn_system(
        result.embedder, tiny_met, pcaw_dim=512, shrinkage=1.0, ks=[1, 3], taus=[1.0, 30.0]
    )
    parametric = parametric_system(result.model, tiny_met, taus=[1.0, 30.0])
    for system in (knn, parametric):
        assert set(system.metrics) == {"GAP", "GAP-", "ACC"}
        assert len(system.predictions) == len(tiny_met.labels["test"])
        evaluation = system.as_evaluation()
        assert evaluation.test_predictions.tolist() == system.predictions["label"].tolist()
    assert knn.settings["k"] in (1, 3) and parametric.settings["tau"] in (1.0, 30.0)
