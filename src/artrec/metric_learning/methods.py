"""The Met training methods (Table 6, thesis B.3), each a call of the project's training loop
(:func:`artrec.training.loop.train_epochs`).

Common to every method (paper section 3, appendix A.1): the FC projector is added to the
starting embedder and initialised from the PCA whitening of the starting descriptors of the
training images; Adam with weight decay; the backbone's learning rate (trunk, GeM, FC) is
divided by 10 halfway, the head's (classifier prototypes, SimSiam MLPs) is not; the paper's
augmentation; the best epoch has the highest validation accuracy of a single-scale kNN
classifier without PCAw (:func:`artrec.metric_learning.evaluation.validation_knn`).

Methods (``METHODS``): DNet with cosine soft-max (``dnet_ce``) or ArcFace (``dnet_arcface``);
SimSiam (``simsiam``, no labels); contrastive loss with hard negatives and synthetic, synthetic +
real, or synthetic + closest real positives (``con_syn``, ``con_syn_real``,
``con_syn_real_closest``). The long-tail variants of DNet ArcFace are ``class_weighting`` and
``class_balanced`` (flags of :func:`train_method`) and :func:`retrain_classifier`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Sampler

from artrec.datasets.met import MetGroundTruth
from artrec.metric_learning.evaluation import describe, selection_score, validation_knn
from artrec.metric_learning.images import ImagePairs, LabelledImages, decode_images
from artrec.metric_learning.losses import classification_loss, contrastive_loss, simsiam_loss
from artrec.metric_learning.mining import epoch_pairs
from artrec.metric_learning.models import DNet, SimSiam, freeze_batchnorm
from artrec.metric_learning.sampling import ClassBalancedSampler, inverse_frequency_weights
from artrec.metric_learning.transforms import eval_transform, train_transform
from artrec.retrieval.embedder import Embedder
from artrec.retrieval.whitening import learn_pca_whitening
from artrec.training.loop import LogFn, build_optimizer, epoch_seed, halfway_decay, train_epochs

# method -> (family, what distinguishes it within the family)
METHODS: dict[str, tuple[str, dict[str, str]]] = {
    "dnet_ce": ("dnet", {"loss": "ce"}),
    "dnet_arcface": ("dnet", {"loss": "arcface"}),
    "simsiam": ("simsiam", {}),
    "con_syn": ("contrastive", {"positives": "syn"}),
    "con_syn_real": ("contrastive", {"positives": "syn_real"}),
    "con_syn_real_closest": ("contrastive", {"positives": "syn_real_closest"}),
}
LONG_TAIL_METHODS = ("class_weighting", "class_balanced", "classifier_retraining")
SPLITS = ("train", "val", "test")


@dataclass
class MetImages:
    """The Met images decoded at the training size, with class labels (-1: distractor)."""

    images: dict[str, list[Image.Image]]
    labels: dict[str, np.ndarray]
    n_classes: int

    @classmethod
    def load(cls, truth: MetGroundTruth, max_side: int) -> MetImages:
        paths = {"train": truth.train_paths, "val": truth.val_paths, "test": truth.test_paths}
        labels = {"train": truth.train_labels, "val": truth.val_labels, "test": truth.test_labels}
        return cls(
            {split: decode_images(paths[split], truth.images_dir, max_side) for split in SPLITS},
            {split: np.asarray(labels[split]) for split in SPLITS},
            truth.n_classes,
        )

    def n_met(self, split: str) -> int:
        return int((self.labels[split] >= 0).sum())


@dataclass
class TrainedMethod:
    """The trained network at its best epoch (``model``; ``embedder`` is its backbone), the
    per-epoch history and the validation metrics of the starting point (epoch 0)."""

    model: nn.Module
    embedder: Embedder
    history: pd.DataFrame
    best_epoch: int
    start_metrics: dict[str, float]


def eval_tensors(embedder: Embedder, data: MetImages, splits=SPLITS) -> dict[str, list]:
    transform = eval_transform(embedder.mean, embedder.std)
    return {split: [transform(image) for image in data.images[split]] for split in splits}


def _augmentation(embedder: Embedder, settings: Mapping[str, Any]):
    return train_transform(
        int(settings["image_size"]),
        embedder.mean,
        embedder.std,
        crop_scale=settings["crop_scale"],
        color_jitter=settings["color_jitter"],
        color_jitter_p=float(settings["color_jitter_p"]),
        grayscale_p=float(settings["grayscale_p"]),
    )


def _loader(dataset, batch_size: int, seed: int, sampler: Sampler | None = None, drop_last=False):
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(seed),
    )


def _groups(backbone: nn.Module, head: nn.Module | None, settings: Mapping[str, Any]) -> list:
    groups = [
        {
            "params": list(backbone.parameters()),
            "lr": float(settings["lr_backbone"]),
            "name": "backbone",
            "scheduled": True,
        }
    ]
    if head is not None:
        groups.append(
            {
                "params": list(head.parameters()),
                "lr": float(settings["lr_head"]),
                "name": "head",
                "scheduled": False,
            }
        )
    return groups


def _parametric_accuracy(dnet: DNet, descriptors: torch.Tensor, labels: np.ndarray) -> float:
    """Accuracy of ``dnet``'s classifier (nearest prototype) on the Met queries among
    ``descriptors`` (distractors, label -1, are left out); 0 without Met queries."""
    predicted = dnet.cosines(descriptors).argmax(dim=1).cpu().numpy()
    met = labels >= 0
    return float((predicted[met] == labels[met]).mean()) if met.any() else 0.0


def _plain(value: Any) -> Any:
    """Settings as plain Python values (they are stored in the checkpoint and compared)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def train_method(
    method: str,
    embedder: Embedder,
    data: MetImages,
    settings: Mapping[str, Any],
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    checkpoint_dir: str | Path | None = None,
    log_fn: LogFn | None = None,
    stop_after_epoch: int | None = None,
    class_weighting: bool = False,
    class_balanced: bool = False,
) -> TrainedMethod:
    """Train ``method`` (a key of ``METHODS``) from ``embedder`` (a starting point without
    projector; modified in place) on ``data``.

    ``settings``: image_size, crop_scale, color_jitter, color_jitter_p, grayscale_p,
    lr_backbone, lr_head, weight_decay, freeze_batchnorm, epochs, batch_size and the family's:
    DNet temperature, arcface_scale, arcface_margin, prototype_init (``imprint``/``random``);
    SimSiam projector_dim, predictor_dim; contrastive margin, negatives_pool. The two long-tail
    flags apply to DNet. The run resumes from ``checkpoint_dir`` when it holds a checkpoint of
    the same settings.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    family, variant = METHODS[method]
    if (class_weighting or class_balanced) and family != "dnet":
        raise ValueError("class weighting and class-balanced sampling apply to DNet only")
    device = torch.device(device)
    labels = data.labels["train"]
    torch.manual_seed(seed)
    embedder.to(device)
    tensors = eval_tensors(embedder, data, ("train", "val"))
    start_train = describe(embedder, tensors["train"], device=device)
    start_val = describe(embedder, tensors["val"], device=device)
    start_metrics = validation_knn(start_train, labels, start_val, data.labels["val"])
    # The FC layer starts as the PCA whitening of the starting descriptors (all components the
    # data supports); its output is then the whitened descriptor.
    pcaw = learn_pca_whitening(start_train, shrinkage=1.0, dim=None)
    embedder.init_projector(pcaw)
    train_descriptors = {1: pcaw.apply(start_train)}
    augment = _augmentation(embedder, settings)
    batch_size = int(settings["batch_size"])

    model: nn.Module
    head: nn.Module | None
    sampler = ClassBalancedSampler(labels, seed=seed) if class_balanced else None
    before_epoch = None
    if family == "dnet":
        weights = inverse_frequency_weights(labels, data.n_classes) if class_weighting else None
        loss = classification_loss(
            variant["loss"],
            data.n_classes,
            embedder.output_dim,
            temperature=float(settings["temperature"]),
            scale=float(settings["arcface_scale"]),
            margin=float(settings["arcface_margin"]),
            class_weights=weights,
        )
        model = DNet(embedder, loss).to(device)
        if settings["prototype_init"] == "imprint":
            model.imprint(train_descriptors[1], labels)
        head = model.loss
        loader = _loader(
            LabelledImages(data.images["train"], labels, augment), batch_size, seed, sampler
        )

        def step(net: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
            images, targets = (t.to(device) for t in batch)
            return net.loss(net.embedder(images), targets), len(targets)

    elif family == "simsiam":
        model = SimSiam(
            embedder, int(settings["projector_dim"]), int(settings["predictor_dim"])
        ).to(device)
        head = nn.ModuleList([model.projector, model.predictor])
        n = len(labels)
        pairs = np.stack([np.arange(n), np.arange(n), np.ones(n, int)], axis=1)
        # Batch normalisation in the heads needs more than one image per batch.
        loader = _loader(
            ImagePairs(data.images["train"], augment, pairs),
            batch_size,
            seed,
            drop_last=n > batch_size,
        )

        def step(net: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
            (first, second), _ = batch
            p1, p2, z1, z2 = net(first.to(device), second.to(device))
            return simsiam_loss(p1, p2, z1, z2), len(first)

    else:
        model, head = embedder, None
        # Every epoch has a positive and a negative pair per anchor; mined before each epoch.
        dataset = ImagePairs(data.images["train"], augment, np.zeros((2 * len(labels), 3), int))
        loader = _loader(dataset, batch_size, seed)
        margin = float(settings["margin"])

        def before_epoch(net: nn.Module, epoch: int) -> None:
            # Mined with the current model: the descriptors its last validation computed, or
            # (after a resume) computed again from the same weights.
            descriptors = train_descriptors.pop(epoch, None)
            if descriptors is None:
                descriptors = describe(net, tensors["train"], device=device)
            rng = np.random.default_rng(epoch_seed(seed, epoch))
            dataset.pairs = epoch_pairs(
                labels, variant["positives"], rng, descriptors, int(settings["negatives_pool"])
            )

        def step(net: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
            (first, second), positive = batch
            out = net(torch.cat([first, second]).to(device))
            half = len(first)
            return contrastive_loss(out[:half], out[half:], positive.to(device), margin), half

    def backbone_of(net: nn.Module) -> Embedder:
        return net if isinstance(net, Embedder) else net.embedder

    n_met_val = data.n_met("val")

    def validate(net: nn.Module, epoch: int) -> dict[str, float]:
        backbone = backbone_of(net)
        train = describe(backbone, tensors["train"], device=device)
        val = describe(backbone, tensors["val"], device=device)
        train_descriptors[epoch + 1] = train
        metrics = validation_knn(train, labels, val, data.labels["val"])
        if isinstance(net, DNet):
            val_tensor = torch.from_numpy(val).to(device)
            metrics["val_parametric_acc"] = _parametric_accuracy(
                net, val_tensor, data.labels["val"]
            )
        return metrics

    def train_mode(net: nn.Module) -> None:
        net.train()
        if settings.get("freeze_batchnorm", True):
            freeze_batchnorm(net)

    optimizer = build_optimizer(
        "adam",
        _groups(embedder, head, settings),
        float(settings["lr_backbone"]),
        float(settings["weight_decay"]),
    )
    epochs = int(settings["epochs"])
    result = train_epochs(
        model,
        loader,
        optimizer,
        epochs=epochs,
        step=step,
        validate=validate,
        score=lambda metrics: selection_score(metrics, n_met_val),
        config=_plain(
            {
                "method": method,
                "settings": dict(settings),
                "seed": seed,
                "class_weighting": class_weighting,
                "class_balanced": class_balanced,
            }
        ),
        seed=seed,
        checkpoint_dir=checkpoint_dir,
        before_epoch=before_epoch,
        lr_factor=halfway_decay(epochs),
        train_mode=train_mode,
        log_fn=log_fn,
        stop_after_epoch=stop_after_epoch,
    )
    model.load_state_dict(result.best_state_dict)
    model.eval()
    return TrainedMethod(
        model, backbone_of(model), result.history, result.best_epoch, start_metrics
    )


def retrain_classifier(
    dnet: DNet,
    data: MetImages,
    settings: Mapping[str, Any],
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    checkpoint_dir: str | Path | None = None,
    log_fn: LogFn | None = None,
    stop_after_epoch: int | None = None,
) -> TrainedMethod:
    """Thesis B.3 classifier retraining (Kang et al. 2020): ``dnet``'s backbone frozen, its
    classifier re-initialised (randomly) and trained alone with class-balanced sampling and
    the same loss for ``settings["retrain_epochs"]`` epochs at the head's learning rate; the
    best epoch has the highest validation accuracy of the parametric classifier (the kNN
    classifier does not change with a frozen backbone)."""
    device = torch.device(device)
    labels = data.labels["train"]
    torch.manual_seed(seed)
    model = copy.deepcopy(dnet).to(device)
    model.loss.weight_init_func(model.loss.W)
    for parameter in model.embedder.parameters():
        parameter.requires_grad_(False)
    tensors = eval_tensors(model.embedder, data, ("val",))
    val = torch.from_numpy(describe(model.embedder, tensors["val"], device=device)).to(device)
    augment = _augmentation(model.embedder, settings)
    loader = _loader(
        LabelledImages(data.images["train"], labels, augment),
        int(settings["batch_size"]),
        seed,
        ClassBalancedSampler(labels, seed=seed),
    )

    def step(net: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        images, targets = (t.to(device) for t in batch)
        with torch.no_grad():
            descriptors = net.embedder(images)
        return net.loss(descriptors, targets), len(targets)

    def validate(net: nn.Module, epoch: int) -> dict[str, float]:
        return {"val_parametric_acc": _parametric_accuracy(net, val, data.labels["val"])}

    def train_mode(net: nn.Module) -> None:
        net.train()
        net.embedder.eval()  # frozen: no dropout or batch statistics either

    epochs = int(settings["retrain_epochs"])
    optimizer = build_optimizer(
        "adam",
        [{"params": list(model.loss.parameters()), "name": "head", "scheduled": False}],
        float(settings["lr_head"]),
        float(settings["weight_decay"]),
    )
    result = train_epochs(
        model,
        loader,
        optimizer,
        epochs=epochs,
        step=step,
        validate=validate,
        score=lambda metrics: metrics["val_parametric_acc"],
        config=_plain(
            {"method": "classifier_retraining", "settings": dict(settings), "seed": seed}
        ),
        seed=seed,
        checkpoint_dir=checkpoint_dir,
        train_mode=train_mode,
        log_fn=log_fn,
        stop_after_epoch=stop_after_epoch,
    )
    model.load_state_dict(result.best_state_dict)
    model.eval()
    return TrainedMethod(model, model.embedder, result.history, result.best_epoch, {})


def method_family(method: str) -> str:
    """``dnet``, ``simsiam`` or ``contrastive``."""
    return METHODS[method][0]
