"""Photographs of synthetic objects outside the Met collection: the embedded default's stand-in
for ImageNet, on which the Met training's starting backbone is pretrained (``train_met_start``).

The paper starts every Met method from ImageNet weights (R18IN): a network that has already
learnt, from photos of many objects in many settings, what stays the same when an object is
photographed again. ImageNet cannot be downloaded here, and the project's MAMe classifier (a
BN-free texture classifier for ten media) is no such network: on the synthetic Met its kNN
accuracy is below that of 4 x 4 pixel thumbnails. This module draws the missing experience from
the synthetic Met's own world (:mod:`artrec.synth.met`): ``n_objects`` new artworks (other seeds
than the collection's exhibits, so none is a Met class), each photographed once in the studio
and ``photos_per_object - 1`` times by visitors, plus one held-out visitor photo of every
``val_every``-th object for model selection. Images are made in memory (they are training data of
one stage, not a dataset anyone reads) and are the same for the same arguments.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from artrec.synth.met import exhibit_image, sample_artwork, visitor_photo

# The collection's exhibits use the streams [seed, 1, i]; these objects use [seed, STREAM, i].
STREAM = 11


@dataclass(frozen=True)
class ObjectPhotos:
    """Training photos with their object index, and held-out visitor photos with theirs."""

    train_images: list[Image.Image]
    train_labels: np.ndarray
    val_images: list[Image.Image]
    val_labels: np.ndarray
    n_objects: int


def _object(args: tuple[int, int, int, int, bool]) -> tuple[list[Image.Image], Image.Image | None]:
    seed, index, photos, max_side, held_out = args
    rng = np.random.default_rng([seed, STREAM, index])
    art = sample_artwork(rng)
    images = [exhibit_image(art, 0, 1, rng, max_side)]
    images += [visitor_photo(art, rng, max_side) for _ in range(photos - 1)]
    val = visitor_photo(art, rng, max_side).convert("RGB") if held_out else None
    return [image.convert("RGB") for image in images], val


def object_photos(
    n_objects: int,
    photos_per_object: int,
    max_side: int,
    seed: int = 0,
    val_every: int = 5,
    workers: int | None = None,
) -> ObjectPhotos:
    """The pretraining photos (see the module docstring); longer sides at most ``max_side``.

    ``workers``: processes drawing the objects (None: the available cores, at most 8).
    """
    if n_objects < 2 or photos_per_object < 1 or val_every < 1 or max_side < 16:
        raise ValueError(
            "need n_objects >= 2, photos_per_object >= 1, val_every >= 1 and max_side >= 16, got "
            f"{n_objects}, {photos_per_object}, {val_every}, {max_side}"
        )
    jobs = [
        (int(seed), i, int(photos_per_object), int(max_side), i % val_every == 0)
        for i in range(n_objects)
    ]
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 8)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            drawn = list(pool.map(_object, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        drawn = [_object(job) for job in jobs]
    train_images, train_labels, val_images, val_labels = [], [], [], []
    for index, (images, val) in enumerate(drawn):
        train_images += images
        train_labels += [index] * len(images)
        if val is not None:
            val_images.append(val)
            val_labels.append(index)
    return ObjectPhotos(
        train_images,
        np.asarray(train_labels, np.int64),
        val_images,
        np.asarray(val_labels, np.int64),
        n_objects,
    )
