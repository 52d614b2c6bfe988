"""Training checkpoints that load with ``torch.load(weights_only=True)``, and RNG state capture.

``weights_only`` loading accepts tensors, numbers, strings, ``None`` and lists/tuples/dicts of them,
so the random number generator states are stored in those forms rather than as pickled objects.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from artrec.utils.atomic import atomic_write

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` atomically (an interrupted save keeps the old file)."""
    with atomic_write(path, "wb") as handle:
        torch.save(state, handle)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (on the CPU), or ``None`` when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise RuntimeError(
            f"checkpoint {path} cannot be loaded ({error}); delete it to start training afresh"
        ) from error


def capture_rng_state() -> dict[str, Any]:
    """The states of Python's, numpy's and torch's (CPU and CUDA) global generators."""
    py_version, py_internal, py_gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    return {
        "python": {"version": py_version, "internal": list(py_internal), "gauss_next": py_gauss},
        "numpy": {
            "kind": np_kind,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back the generator states recorded by ``capture_rng_state``."""
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    # CUDA states are only restored on a machine with the same number of devices.
    if (
        state["cuda"]
        and torch.cuda.is_available()
        and len(state["cuda"]) == torch.cuda.device_count()
    ):
        torch.cuda.set_rng_state_all(state["cuda"])


def require_all_epochs(
    history: Any, epochs: int, name: str, setting: str, stopped_early: bool = False
) -> None:
    """Fail a stage whose run ended before ``epochs`` (``history``: the per-epoch table) other
    than by early stopping (``stopped_early``: ``TrainResult.stopped_early``).

    ``setting`` (e.g. ``train.mame.runtime.stop_after_epoch``) simulates a crash after that
    epoch's checkpoint: the stage fails without writing a model, and the next run resumes from
    the checkpoint.
    """
    last = int(history["epoch"].iloc[-1]) if len(history) else 0
    if last < int(epochs) and not stopped_early:
        raise RuntimeError(
            f"{name}: stopped after epoch {last} of {int(epochs)} as asked by {setting}; "
            "run again without it to resume from the checkpoint"
        )
