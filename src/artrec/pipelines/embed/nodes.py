"""Embed the Met images: GeM descriptors of the database (exhibits) and of both query sets,
single-scale and multi-scale, written in the public descriptor-pickle layout.

The backbone is chosen by ``embed.met.backbone``:
- ``mame``: the project's own MAMe-trained ResNet18 (BN-free, the ``train_mame`` stage's output),
  standing in for the ImageNet network in the embedded default, since no ImageNet weights can be
  downloaded here. Its inputs are normalised with mean 0.5 / std 0.5 as in its training.
- ``imagenet`` (or any other name): ``arch`` (resnet18, resnet50, vgg11 or a timm model name)
  built with ``init`` (None = random, a torchvision weights name, or a local weights file), with
  ImageNet normalisation: the paper's R18IN is ``arch: resnet18, init: IMAGENET1K_V1``.

``embed.met.nproc_per_node`` > 1 describes the images on that many local processes (one GPU each
on a GPU machine); the descriptors are the same, in the same order, as with one process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

SCALE_SETS = {"ss": "single-scale", "ms": "multi-scale"}


def build_met_embedder(params: dict[str, Any], mame_model: dict[str, Any] | None):
    """(embedder, description) for the backbone named in ``params``."""
    from artrec.models.factory import build_backbone_trunk, build_classifier
    from artrec.models.resnet import resnet_trunk, resnet_trunk_channels
    from artrec.retrieval.embedder import IMAGENET_MEAN, IMAGENET_STD, MAME_MEAN, MAME_STD, Embedder

    gem_p = float(params.get("gem_p", 3.0))
    if params["backbone"] == "mame":
        if mame_model is None:
            raise ValueError("embed.met.backbone is 'mame' but no MAMe model was given")
        if mame_model["arch"] != "resnet18":
            raise ValueError(f"the MAMe backbone must be a resnet18, got {mame_model['arch']}")
        classifier = build_classifier(
            "resnet18",
            mame_model["num_classes"],
            width_mult=mame_model["width_mult"],
            batch_norm=False,
        )
        classifier.load_state_dict(mame_model["state_dict"])
        trunk, dim = resnet_trunk(classifier), resnet_trunk_channels(classifier)
        description = (
            f"ResNet18 (BN-free, width x{mame_model['width_mult']}) trained by this project on "
            f"MAMe {mame_model['input_version'].upper()} ({len(mame_model['classes'])} classes, "
            f"epoch {mame_model['best_epoch']}); stands in for R18IN"
        )
        return Embedder(trunk, dim, gem_p=gem_p, mean=MAME_MEAN, std=MAME_STD), description
    trunk, dim = build_backbone_trunk(params["arch"], init=params.get("init"))
    description = f"{params['arch']} ({params.get('init') or 'random initialisation'})"
    return Embedder(trunk, dim, gem_p=gem_p, mean=IMAGENET_MEAN, std=IMAGENET_STD), description


def extract_splits(
    embedder, splits: dict[str, list], images_dir: Path, transform, params: dict[str, Any]
) -> dict[str, dict[str, np.ndarray]]:
    """Single- and multi-scale descriptors of every split; runs in each extraction process
    (module level, so that ``launch`` can start it)."""
    from artrec.retrieval.embedder import MULTI_SCALE, SINGLE_SCALE
    from artrec.retrieval.extract import ImageListDataset, extract_descriptors
    from artrec.utils.device import resolve_device

    device = resolve_device(params.get("device", "auto"))
    cache = Path(params["cache_dir"])
    out: dict[str, dict[str, np.ndarray]] = {"ss": {}, "ms": {}}
    for split, paths in splits.items():
        dataset = ImageListDataset(paths, transform, root=images_dir)
        for name, scales in (("ss", SINGLE_SCALE), ("ms", MULTI_SCALE)):
            extracted = extract_descriptors(
                embedder,
                dataset,
                scales=scales,
                batch_size=int(params["batch_size"]),
                num_workers=int(params.get("num_workers", 0)),
                device=device,
                out_dir=cache / f"{split}_{name}",
                chunk_size=int(params["chunk_size"]),
                desc=f"{split} {SCALE_SETS[name]}",
            )
            out[name][f"{split}_descriptors"] = extracted.descriptors
    return out


def embed_met(
    met_raw: Path, mame_model: dict[str, Any], params: dict[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Single-scale and multi-scale descriptors of train/val/test, and the run's facts."""
    import torch

    from artrec.datasets.met import load_met_ground_truth
    from artrec.distributed import launch
    from artrec.retrieval.embedder import inference_transform
    from artrec.utils.device import resolve_device

    torch.manual_seed(0)  # a randomly initialised backbone is then the same in every run
    truth = load_met_ground_truth(Path(met_raw))
    embedder, backbone = build_met_embedder(params, mame_model)
    transform = inference_transform(int(params["max_side"]), embedder.mean, embedder.std)
    device = resolve_device(params.get("device", "auto"))
    splits = {
        "train": truth.train_paths,
        "val": truth.val_paths,
        "test": truth.test_paths,
    }
    nproc = int(params.get("nproc_per_node", 1))
    started = time.perf_counter()
    out = launch(extract_splits, nproc, embedder, splits, truth.images_dir, transform, params)
    seconds = time.perf_counter() - started
    n_images = sum(len(paths) for paths in splits.values())
    facts = {
        "backbone": backbone,
        "dimension": int(embedder.output_dim),
        "images": {split: len(paths) for split, paths in splits.items()},
        "seconds": seconds,
        "images_per_s": n_images / seconds if seconds > 0 else 0.0,
        "device": str(device),
        "processes": nproc,
    }
    return out["ss"], out["ms"], facts
