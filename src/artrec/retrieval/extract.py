"""Batched descriptor extraction over an image list, resumable through chunked output.

With ``out_dir`` the descriptors are written chunk by chunk (``chunks/chunk_00000.npy`` + ids, each
file atomic) and merged into ``descriptors.npy`` / ``ids.npy`` at the end. A rerun with the same
images, order, scales and model skips the finished chunks, so an interrupted extraction of the
397k Met exhibits loses at most one chunk. A ``manifest.json`` records what the chunks belong to;
a rerun that does not match it is refused instead of mixing descriptors of two models.

Inside a process group (``artrec.distributed``) every process describes every ``world_size``-th
image of each chunk; the chunk is gathered in its original order as soon as all shares are done
and rank 0 writes it. Every process returns the whole result, equal (to float rounding) to a
single-process extraction, and a rerun resumes from the same chunks with any number of processes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.std import tqdm  # not tqdm.auto: it calls iter() on the loader, a second pass

from artrec import distributed
from artrec.errors import BadInputError
from artrec.images.decode import DEFAULT_MAX_PIXELS, BadImageError, load_resized, load_rgb
from artrec.retrieval.embedder import SINGLE_SCALE, Embedder, longer_side_capped
from artrec.utils.atomic import atomic_write, atomic_write_json

MANIFEST = "manifest.json"
DESCRIPTORS_FILE = "descriptors.npy"
IDS_FILE = "ids.npy"


@dataclass(frozen=True)
class ExtractedDescriptors:
    """``descriptors`` float32 (n, D), row i belonging to ``ids[i]``."""

    descriptors: np.ndarray
    ids: np.ndarray


@dataclass(frozen=True)
class UnreadableImage:
    """What :class:`ImageListDataset` yields instead of a tensor for an image it cannot decode:
    item ``index``, its ``path`` and the decoder's short ``reason``.

    A marker rather than an exception: a data-loader worker process re-raises an exception with a
    traceback pasted into its message, and the extraction wants every bad image, not the first.
    """

    index: int
    path: str
    reason: str


class UnreadableImagesError(BadInputError):
    """Images of an extraction could not be decoded; ``bad`` lists them (:class:`UnreadableImage`).

    Raised by :func:`extract_descriptors` after every other image is described (and, with
    ``out_dir``, its chunk stored), so that one message names every bad image and a rerun after
    the fix describes only the chunks that held them.
    """

    bad: tuple[UnreadableImage, ...] = ()


def unreadable_images_error(
    bad: Sequence[UnreadableImage], fix: str, *, total: int | None = None
) -> UnreadableImagesError:
    """One error naming every image of ``bad``: the file itself when there is one, else their
    common folder and the first five files with their reasons."""
    bad = sorted(bad, key=lambda item: item.path)
    if len(bad) == 1:
        error = UnreadableImagesError(bad[0].path, bad[0].reason, fix)
    else:
        folder = os.path.commonpath([os.path.dirname(item.path) or "." for item in bad])
        listed = "; ".join(
            f"{os.path.relpath(item.path, folder)}: {item.reason}" for item in bad[:5]
        )
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        of_total = f" of {total}" if total is not None else ""
        error = UnreadableImagesError(
            folder, f"{len(bad)}{of_total} images cannot be decoded: {listed}{more}", fix
        )
    error.bad = tuple(bad)
    return error


def decode_for_embedding(
    path: str | os.PathLike[str],
    max_side: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_aspect_ratio: float = math.inf,
) -> Image.Image:
    """``path`` as upright 8-bit RGB, its longer side capped at ``max_side`` (None: full size).

    :mod:`artrec.images.decode` does the work: the bomb limit ``max_pixels``, damaged files
    refused (:class:`BadImageError`), every colour mode converted, and JPEGs decoded in draft
    mode at the smallest scale that still leaves headroom above the output size. The final
    resize uses :class:`artrec.retrieval.embedder.ResizeLongerSide`'s size and filter, so an image
    too small for draft decoding comes out exactly as the transform alone would make it. Long
    scrolls are allowed by default: capping the longer side cannot blow an image up.
    """
    if max_side is None:
        return load_rgb(path, max_pixels, max_aspect_ratio)
    return load_resized(
        path,
        functools.partial(longer_side_capped, max_side=max_side),
        max_pixels=max_pixels,
        resample=Image.Resampling.BILINEAR,
        max_aspect_ratio=max_aspect_ratio,
    )


class ImageListDataset(Dataset):
    """Images read from ``paths`` (relative to ``root`` when given); items are (tensor, id).

    ``ids`` default to the position in the list. Images are decoded by
    :func:`decode_for_embedding` (bomb limit ``max_pixels``, damaged files refused, every colour
    mode to upright 8-bit RGB, transparency on white); with ``max_side`` a large JPEG is decoded
    in draft mode straight to its longer side capped at ``max_side``, so a huge file never costs
    its full-resolution memory. An image that cannot be decoded yields an
    :class:`UnreadableImage` in place of the tensor.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        transform: Callable[[Image.Image], torch.Tensor],
        ids: Sequence[Any] | None = None,
        root: str | os.PathLike[str] | None = None,
        *,
        max_side: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_aspect_ratio: float = math.inf,
    ) -> None:
        if ids is not None and len(ids) != len(paths):
            raise ValueError(f"{len(paths)} paths but {len(ids)} ids")
        if max_side is not None and max_side < 1:
            raise ValueError(f"max_side must be >= 1, got {max_side}")
        self.paths = list(paths)
        self.ids = list(range(len(self.paths))) if ids is None else list(ids)
        self.transform = transform
        self.root = Path(root) if root is not None else None
        self.max_side = max_side
        self.max_pixels = int(max_pixels)
        self.max_aspect_ratio = float(max_aspect_ratio)

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> Image.Image:
        """Item ``index`` decoded to upright 8-bit RGB; raises :class:`BadImageError`."""
        path = Path(self.paths[index])
        if self.root is not None:
            path = self.root / path
        return decode_for_embedding(path, self.max_side, self.max_pixels, self.max_aspect_ratio)

    def __getitem__(self, index: int) -> tuple[torch.Tensor | UnreadableImage, Any]:
        try:
            image = self.load(index)
        except BadImageError as error:
            return UnreadableImage(index, error.path, error.reason), self.ids[index]
        return self.transform(image), self.ids[index]


def extract_descriptors(
    embedder: Embedder,
    dataset: Dataset,
    *,
    scales: Sequence[float] = SINGLE_SCALE,
    indices: Iterable[int] | None = None,
    batch_size: int = 1,
    num_workers: int = 0,
    device: str | torch.device = "cpu",
    out_dir: str | os.PathLike[str] | None = None,
    chunk_size: int = 2048,
    keep_chunks: bool = False,
    fingerprint: str | None = None,
    progress: bool = True,
    desc: str = "descriptors",
) -> ExtractedDescriptors:
    """Describe every item of ``dataset`` (items are (image tensor, id)) with ``embedder``.

    ``indices``: the items to describe, in order (a subset, or ``list(sampler)``); default all.
    ``batch_size`` images are loaded together and those of equal size go through the network as
    one batch; images of other sizes run in their own groups, so variable shapes need no padding.
    The embedder is moved to ``device`` and run in eval mode under ``torch.inference_mode`` (its
    training flag is restored afterwards). ``fingerprint`` identifies the model in the manifest;
    by default it is a hash of the embedder's state dict and scales. In a process group every
    process calls this with the same arguments (``device`` ``cuda`` meaning its own GPU); see the
    module docstring.

    Items whose image is an :class:`UnreadableImage` are not described; every other item is, and
    then :class:`UnreadableImagesError` names all of them (on every process). With ``out_dir``
    the chunks without a bad image are stored first, so a rerun after the fix describes only the
    chunks that held one. There is no partial result: a descriptor file needs one row per item.
    """
    positions = list(range(len(dataset))) if indices is None else [int(i) for i in indices]
    if chunk_size < 1 or batch_size < 1:
        raise ValueError("chunk_size and batch_size must be >= 1")
    device = distributed.local_device(device)
    embedder.to(device)
    scales = tuple(float(s) for s in scales)
    chunks = [positions[s : s + chunk_size] for s in range(0, len(positions), chunk_size)]
    main = distributed.is_main_process()

    store = None
    if out_dir is not None:
        if fingerprint is None:
            fingerprint = _model_fingerprint(embedder, scales, dataset)
        # Rank 0 writes or checks the manifest first; the others then only read it.
        if main:
            store = _ChunkStore(Path(out_dir), positions, chunk_size, fingerprint)
        distributed.barrier()
        if not main:
            store = _ChunkStore(Path(out_dir), positions, chunk_size, fingerprint)
        finished = store.load_final()
        if finished is not None:
            return finished

    # Every process decides what is left before any chunk is written: chunks are written only
    # after a gather, which waits for all of them.
    todo = [c for c in range(len(chunks)) if store is None or not store.is_done(c)]
    shares = {c: distributed.shard(chunks[c]) for c in todo}
    results: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    todo_positions = [p for c in todo for p in shares[c]]
    loader = DataLoader(
        _Subset(dataset, todo_positions),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=list,
    )

    pending_desc: list[np.ndarray] = []
    pending_ids: list[Any] = []
    pending_bad: list[bool] = []
    bad_here: list[UnreadableImage] = []  # this process's unreadable images
    bad_chunks: set[int] = set()
    todo_iter = iter(todo)
    current = next(todo_iter, None)

    def flush_chunk() -> None:
        # Take this process's share of the current chunk off the pending rows, gather the
        # whole chunk in its original order and keep or write it.
        nonlocal pending_desc, pending_ids, pending_bad, current
        size = len(shares[current])
        stacked = np.concatenate(pending_desc, axis=0) if pending_desc else None
        if stacked is None:
            stacked = np.zeros((0, embedder.output_dim), np.float32)
        chunk_desc = distributed.all_gather_unshard(stacked[:size])
        chunk_ids = distributed.all_gather_unshard(_ids_array(pending_ids[:size]))
        chunk_bad = distributed.all_gather_unshard(np.asarray(pending_bad[:size], dtype=bool))
        pending_desc, pending_ids = [stacked[size:]], pending_ids[size:]
        pending_bad = pending_bad[size:]
        if chunk_bad.any():
            # Rows of unreadable images are placeholders: such a chunk is never stored or used.
            bad_chunks.add(current)
        elif store is not None:
            if main:
                store.save_chunk(current, chunk_desc, chunk_ids)
        else:
            results[current] = (chunk_desc, chunk_ids)
        current = next(todo_iter, None)

    was_training = embedder.training
    embedder.eval()
    try:
        with (
            torch.inference_mode(),
            tqdm(
                total=len(todo_positions), desc=desc, unit="img", disable=not (progress and main)
            ) as bar,
        ):
            for batch in loader:
                unreadable = [isinstance(item[0], UnreadableImage) for item in batch]
                bad_here.extend(item[0] for item in batch if isinstance(item[0], UnreadableImage))
                pending_desc.append(_describe_batch(embedder, batch, scales, device))
                pending_ids.extend(item[1] for item in batch)
                pending_bad.extend(unreadable)
                bar.update(len(batch))
                # Flush every completed chunk as soon as it is complete, so that an interruption
                # loses at most the chunk in progress.
                while current is not None and len(pending_ids) >= len(shares[current]):
                    flush_chunk()
            # Shares left empty (chunks smaller than the number of processes) still take part
            # in their chunk's gather.
            while current is not None:
                flush_chunk()
    finally:
        embedder.train(was_training)

    # Every process knows which chunks failed (the gathered masks); the reasons are gathered too,
    # so that every process raises the same error and none waits in a later collective call.
    if bad_chunks:
        bad = [item for part in distributed.all_gather_objects(bad_here) for item in part]
        raise unreadable_images_error(
            bad,
            "replace each with a readable copy, or remove it from the image list; "
            + (
                f"the descriptors of the other chunks are kept in {out_dir}, so a rerun describes "
                "only the chunks that held them"
                if out_dir is not None
                else "nothing was written"
            ),
            total=len(positions),
        )

    if store is not None:
        # Rank 0 merges the chunks; the others read the merged files once they exist.
        result = store.merge(len(chunks), embedder.output_dim, keep_chunks) if main else None
        distributed.barrier()
        return result if result is not None else store.load_final()
    if not chunks:
        return ExtractedDescriptors(
            np.zeros((0, embedder.output_dim), np.float32), np.zeros(0, np.int64)
        )
    descs = np.concatenate([results[c][0] for c in range(len(chunks))], axis=0)
    ids = np.concatenate([results[c][1] for c in range(len(chunks))], axis=0)
    return ExtractedDescriptors(descs, ids)


def _describe_batch(
    embedder: Embedder, batch: list[tuple[torch.Tensor, Any]], scales: tuple[float, ...], device
) -> np.ndarray:
    """Descriptors for a list of (image, id), grouping equal-sized images into one forward pass."""
    out: list[np.ndarray | None] = [None] * len(batch)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (image, _) in enumerate(batch):
        if isinstance(image, UnreadableImage):
            # A placeholder row keeps the chunk's rows aligned; the chunk is discarded.
            out[i] = np.full(embedder.output_dim, np.nan, np.float32)
            continue
        if image.ndim != 3:
            raise ValueError(f"expected (3, H, W) image tensors, got shape {tuple(image.shape)}")
        groups.setdefault(tuple(image.shape), []).append(i)
    for members in groups.values():
        images = torch.stack([batch[i][0] for i in members]).to(device)
        vectors = embedder.multiscale(images, scales).float().cpu().numpy()
        for row, i in enumerate(members):
            out[i] = vectors[row]
    return np.stack(out).astype(np.float32, copy=False)


class _Subset(Dataset):
    def __init__(self, dataset: Dataset, positions: list[int]) -> None:
        self.dataset = dataset
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int):
        return self.dataset[self.positions[i]]


class _ChunkStore:
    """The files of one resumable extraction under ``root``."""

    def __init__(self, root: Path, positions: list[int], chunk_size: int, fingerprint: str):
        self.root = root
        self.chunk_dir = root / "chunks"
        self.manifest = {
            "n_items": len(positions),
            "chunk_size": chunk_size,
            "positions_sha1": hashlib.sha1(np.asarray(positions, np.int64).tobytes()).hexdigest(),
            "fingerprint": fingerprint,
        }
        path = root / MANIFEST
        if path.exists():
            existing = json.loads(path.read_text())
            if existing != self.manifest:
                diff = sorted(k for k in self.manifest if existing.get(k) != self.manifest[k])
                raise ValueError(
                    f"{path} belongs to a different extraction (differs in {diff}); "
                    "remove the folder or choose another out_dir"
                )
        else:
            atomic_write_json(path, self.manifest)

    def _paths(self, chunk: int) -> tuple[Path, Path]:
        stem = self.chunk_dir / f"chunk_{chunk:05d}"
        return stem.with_suffix(".npy"), stem.with_suffix(".ids.npy")

    def is_done(self, chunk: int) -> bool:
        # The descriptor file is written after the ids, so its presence marks a finished chunk.
        desc_path, ids_path = self._paths(chunk)
        return desc_path.exists() and ids_path.exists()

    def save_chunk(self, chunk: int, descriptors: np.ndarray, ids: np.ndarray) -> None:
        desc_path, ids_path = self._paths(chunk)
        _save_npy(ids_path, ids)
        _save_npy(desc_path, descriptors)

    def load_final(self) -> ExtractedDescriptors | None:
        desc_path, ids_path = self.root / DESCRIPTORS_FILE, self.root / IDS_FILE
        if not (desc_path.exists() and ids_path.exists()):
            return None
        return ExtractedDescriptors(
            np.load(desc_path, allow_pickle=False), np.load(ids_path, allow_pickle=False)
        )

    def merge(self, n_chunks: int, dim: int, keep_chunks: bool) -> ExtractedDescriptors:
        parts = [self._paths(c) for c in range(n_chunks)]
        descs = [np.load(d, allow_pickle=False) for d, _ in parts]
        ids = [np.load(i, allow_pickle=False) for _, i in parts]
        if descs:
            result = ExtractedDescriptors(np.concatenate(descs), np.concatenate(ids))
        else:
            result = ExtractedDescriptors(np.zeros((0, dim), np.float32), np.zeros(0, np.int64))
        if len(result.ids) != self.manifest["n_items"]:
            raise RuntimeError(
                f"{self.chunk_dir}: merged {len(result.ids)} descriptors, "
                f"expected {self.manifest['n_items']}"
            )
        _save_npy(self.root / IDS_FILE, result.ids)
        _save_npy(self.root / DESCRIPTORS_FILE, result.descriptors)
        if not keep_chunks:
            for paths in parts:
                for path in paths:
                    path.unlink(missing_ok=True)
            if self.chunk_dir.exists() and not any(self.chunk_dir.iterdir()):
                self.chunk_dir.rmdir()
        return result


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_write(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def _ids_array(ids: list[Any]) -> np.ndarray:
    converted = [i.item() if isinstance(i, torch.Tensor | np.generic) else i for i in ids]
    array = np.asarray(converted)
    if array.dtype.kind not in "iuUSfb":
        raise ValueError(
            "ids must all be numbers or all be strings to be stored without pickle, "
            f"got {sorted({type(i).__name__ for i in converted})}"
        )
    return array


def _model_fingerprint(embedder: torch.nn.Module, scales: tuple[float, ...], dataset) -> str:
    # The input transform (size cap, normalisation) changes descriptors as much as the weights.
    transform = repr(getattr(dataset, "transform", None))
    digest = hashlib.sha1(repr((scales, transform)).encode())
    for name, tensor in embedder.state_dict().items():
        digest.update(name.encode())
        raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
        digest.update(raw.numpy().tobytes())
    return digest.hexdigest()
