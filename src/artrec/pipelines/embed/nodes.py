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

Images are decoded by :mod:`artrec.images.decode` (through
:class:`artrec.retrieval.extract.ImageListDataset`): other formats under ``.jpg``, CMYK, grey,
16-bit, palette and RGBA images and EXIF rotation are read as upright 8-bit RGB; files above
``embed.met.max_image_pixels`` are refused before decoding, and large JPEGs are decoded in draft
mode at the size they are used (longer side ``max_side``). An image that cannot be decoded fails
the stage, unlike preprocessing's quarantine under ``max_bad_fraction``: the public descriptor
layout has one row per image listed in the ground truth, which every later stage reads, so a
skipped image would shift the rows of all that follow it, and a placeholder row would silently
change the results. The stage first describes every other image (cached by chunk), then stops
with one line naming every bad image and the fix; the rerun describes only what is left.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

SCALE_SETS = {"ss": "single-scale", "ms": "multi-scale"}


def build_met_embedder(
    params: dict[str, Any],
    mame_model: dict[str, Any] | None,
    met_model: dict[str, Any] | None = None,
    pretrained_model: dict[str, Any] | None = None,
):
    """(embedder, description) for the backbone named in ``params``: ``met`` or ``met_<method>``
    is the backbone trained on the Met that the ``train_met_summary`` stage chose
    (``met_model``, :func:`artrec.metric_learning.backbones.load_embedder`); the others are
    starting points (:func:`artrec.metric_learning.backbones.start_embedder`)."""
    from artrec.metric_learning.backbones import load_embedder, start_embedder

    if str(params["backbone"]).startswith("met"):
        if met_model is None:
            raise ValueError(
                f"embed.met.backbone is {params['backbone']!r} but no Met model was given"
            )
        return load_embedder(met_model), str(met_model["description"])
    embedder, description, _ = start_embedder(
        str(params["backbone"]),
        str(params.get("arch", "resnet18")),
        params.get("init"),
        float(params.get("gem_p", 3.0)),
        mame_model,
        pretrained_model,
    )
    return embedder, description


def extract_splits(
    embedder, splits: dict[str, list], images_dir: Path, transform, params: dict[str, Any]
) -> dict[str, dict[str, np.ndarray]]:
    """Single- and multi-scale descriptors of every split; runs in each extraction process
    (module level, so that ``launch`` can start it)."""
    from artrec.images.decode import DEFAULT_MAX_PIXELS
    from artrec.retrieval.embedder import MULTI_SCALE, SINGLE_SCALE
    from artrec.retrieval.extract import (
        ImageListDataset,
        UnreadableImagesError,
        extract_descriptors,
        unreadable_images_error,
    )
    from artrec.utils.device import resolve_device

    device = resolve_device(params.get("device", "auto"))
    cache = Path(params["cache_dir"])
    out: dict[str, dict[str, np.ndarray]] = {"ss": {}, "ms": {}}
    bad = []
    for split, paths in splits.items():
        # Decoded by artrec.images.decode: bomb limit, damaged files refused, every colour mode
        # to upright RGB; JPEGs in draft mode straight to the longer side of max_side.
        dataset = ImageListDataset(
            paths,
            transform,
            root=images_dir,
            max_side=int(params["max_side"]),
            max_pixels=int(params.get("max_image_pixels", DEFAULT_MAX_PIXELS)),
        )
        for name, scales in (("ss", SINGLE_SCALE), ("ms", MULTI_SCALE)):
            try:
                extracted = extract_descriptors(
                    embedder,
                    dataset,
                    scales=scales,
                    batch_size=int(params["batch_size"]),
                    num_workers=int(params.get("num_workers", 0)),
                    device=device,
                    out_dir=_model_cache(cache / f"{split}_{name}", embedder, transform, scales),
                    chunk_size=int(params["chunk_size"]),
                    desc=f"{split} {SCALE_SETS[name]}",
                )
            except UnreadableImagesError as error:
                # Go on with the other splits, so that one message names every bad image; the
                # multi-scale pass would only decode the same images again.
                bad.extend(error.bad)
                break
            out[name][f"{split}_descriptors"] = extracted.descriptors
    if bad:
        raise unreadable_images_error(
            bad, _unreadable_fix(cache), total=sum(map(len, splits.values()))
        )
    return out


def _model_cache(folder: Path, embedder, transform, scales) -> Path:
    """The chunk cache of this model under ``folder``: a subfolder named after a digest of the
    weights, the input transform and the scales. Another backbone (e.g. a Met backbone trained
    again) thus starts a fresh cache instead of meeting the old one's manifest; the caches of
    other models are removed (rank 0, before any process reads)."""
    import hashlib
    import shutil

    import torch

    from artrec import distributed

    digest = hashlib.sha1(repr((tuple(scales), repr(transform))).encode())
    for key, tensor in embedder.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    own = folder / digest.hexdigest()[:12]
    if distributed.is_main_process() and folder.is_dir():
        for stale in folder.iterdir():
            if stale == own:
                continue
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    distributed.barrier()
    return own


def _unreadable_fix(cache: Path) -> str:
    return (
        "replace each with a readable copy from the official download, or remove its entry "
        "from MET_database.json / valset.json / testset.json (the descriptor pickles need one row "
        "per listed image, so this stage cannot skip one); raise embed.met.max_image_pixels for a "
        f"genuine image refused as too large. The other images' descriptors are kept in {cache}: "
        "the rerun describes only what is left"
    )


def embed_met(
    met_raw: Path,
    mame_model: dict[str, Any],
    params: dict[str, Any],
    met_model: dict[str, Any] | None = None,
    pretrained_model: dict[str, Any] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Single-scale and multi-scale descriptors of train/val/test, and the run's facts."""
    import torch

    from artrec.datasets.met import load_met_ground_truth
    from artrec.distributed import launch
    from artrec.retrieval.embedder import inference_transform
    from artrec.utils.device import resolve_device

    torch.manual_seed(0)  # a randomly initialised backbone is then the same in every run
    truth = load_met_ground_truth(Path(met_raw))
    embedder, backbone = build_met_embedder(params, mame_model, met_model, pretrained_model)
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
