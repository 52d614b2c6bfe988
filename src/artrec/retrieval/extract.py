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

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from artrec import distributed
from artrec.retrieval.embedder import SINGLE_SCALE, Embedder
from artrec.utils.atomic import atomic_write, atomic_write_json

MANIFEST = "manifest.json"
DESCRIPTORS_FILE = "descriptors.npy"
IDS_FILE = "ids.npy"


@dataclass(frozen=True)
class ExtractedDescriptors:
    """``descriptors`` float32 (n, D), row i belonging to ``ids[i]``."""

    descriptors: np.ndarray
    ids: np.ndarray


class ImageListDataset(Dataset):
    """Images read from ``paths`` (relative to ``root`` when given); items are (tensor, id).

    ``ids`` default to the position in the list.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        transform: Callable[[Image.Image], torch.Tensor],
        ids: Sequence[Any] | None = None,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        if ids is not None and len(ids) != len(paths):
            raise ValueError(f"{len(paths)} paths but {len(ids)} ids")
        self.paths = list(paths)
        self.ids = list(range(len(self.paths))) if ids is None else list(ids)
        self.transform = transform
        self.root = Path(root) if root is not None else None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        path = Path(self.paths[index])
        if self.root is not None:
            path = self.root / path
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
        except (OSError, ValueError) as error:
            raise RuntimeError(f"cannot read image {path} (item {index}): {error}") from error
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
    todo_iter = iter(todo)
    current = next(todo_iter, None)

    def flush_chunk() -> None:
        # Take this process's share of the current chunk off the pending rows, gather the
        # whole chunk in its original order and keep or write it.
        nonlocal pending_desc, pending_ids, current
        size = len(shares[current])
        stacked = np.concatenate(pending_desc, axis=0) if pending_desc else None
        if stacked is None:
            stacked = np.zeros((0, embedder.output_dim), np.float32)
        chunk_desc = distributed.all_gather_unshard(stacked[:size])
        chunk_ids = distributed.all_gather_unshard(_ids_array(pending_ids[:size]))
        pending_desc, pending_ids = [stacked[size:]], pending_ids[size:]
        if store is not None:
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
                pending_desc.append(_describe_batch(embedder, batch, scales, device))
                pending_ids.extend(item[1] for item in batch)
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
