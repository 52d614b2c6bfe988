"""The embedded default's starting point for the Met training (``train_met_start``): a ResNet18
pretrained on photos of synthetic objects outside the collection, standing in for ImageNet
weights. A module of its own so that only this stage depends on the synthetic-data code.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pandas as pd
import torch

from artrec.metric_learning.backbones import embedder_state, pretraining_embedder
from artrec.metric_learning.methods import MetImages
from artrec.pipelines.train_met.nodes import log_params, run_met_training
from artrec.synth.met_pretraining import object_photos
from artrec.utils.device import resolve_device


def pretrain_met_start(
    pretrain: dict[str, Any],
    start: dict[str, Any],
    inputs: dict[str, Any],
    optim: dict[str, Any],
    temperature: float,
    seed: int,
    runtime: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """The ``synthetic`` starting point (the embedded default's stand-in for ImageNet weights):
    a ResNet18 with batch norm trained from random weights to tell apart objects outside the
    collection in studio and visitor photos (:mod:`artrec.synth.met_pretraining`), with DNet's
    cross-entropy on cosine logits and the Met augmentation; the epoch is chosen by the
    1-nearest-neighbour accuracy on held-out visitor photos. Returns the embedder (as
    :func:`artrec.metric_learning.backbones.embedder_state`), the history and the metrics; with
    another starting point, nothing is trained and the three say so."""
    if start["backbone"] != "synthetic":
        reason = f"not pretrained: train.met.start.backbone is {start['backbone']!r}"
        return {"description": reason}, pd.DataFrame(columns=["epoch"]), {"skipped": reason}
    device = resolve_device(runtime.get("device", "auto"))
    image_size = int(inputs["image_size"])
    photos = object_photos(
        int(pretrain["objects"]),
        int(pretrain["photos_per_object"]),
        image_size,
        seed=seed,
        val_every=int(pretrain["val_every"]),
    )
    held_out = {"images": photos.val_images, "labels": photos.val_labels}
    data = MetImages(
        {"train": photos.train_images, "val": held_out["images"], "test": held_out["images"]},
        {"train": photos.train_labels, "val": held_out["labels"], "test": held_out["labels"]},
        photos.n_objects,
    )
    settings = {
        **inputs,
        **optim,
        # DNet's cross-entropy (``temperature``); ArcFace's settings are not used by it.
        "temperature": float(temperature),
        "arcface_scale": 0.0,
        "arcface_margin": 0.0,
        "epochs": int(pretrain["epochs"]),
        "batch_size": int(pretrain["batch_size"]),
        "lr_backbone": float(pretrain["lr"]),
        # From random weights: the batch-norm statistics are learnt, not kept.
        "freeze_batchnorm": False,
        "prototype_init": "imprint",
    }
    torch.manual_seed(seed)
    embedder, trunk = pretraining_embedder(float(pretrain["width_mult"]), float(start["gem_p"]))
    digest = hashlib.sha256(
        json.dumps(
            {"settings": settings, "pretrain": pretrain, "seed": seed}, sort_keys=True, default=str
        ).encode()
    ).hexdigest()[:12]
    log_params({"method": "pretrain", "objects": pretrain["objects"]})
    started = time.perf_counter()
    trained = run_met_training(
        "dnet_ce",
        embedder,
        data,
        settings,
        run=f"met_start-{digest}",
        seed=seed,
        device=device,
        runtime=runtime,
    )
    best = trained.history[trained.history["epoch"] == trained.best_epoch].iloc[0]
    description = (
        f"ResNet18 (batch norm, width x{float(pretrain['width_mult'])}) pretrained by this "
        f"project on {len(photos.train_images)} photos of {photos.n_objects} synthetic objects "
        f"outside the collection (epoch {trained.best_epoch}); stands in for R18IN"
    )
    state = embedder_state(trained.embedder, trunk, description, best_epoch=trained.best_epoch)
    metrics = {
        "objects": photos.n_objects,
        "train_images": len(photos.train_images),
        "held_out_images": len(photos.val_images),
        "best_epoch": int(trained.best_epoch),
        "held_out_1nn_acc": 100.0 * float(best["val_acc"]),
        "train_seconds": time.perf_counter() - started,
    }
    return state, trained.history.assign(method="pretrain"), metrics
