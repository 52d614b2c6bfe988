"""Data-parallel runs on one machine: the process group, rank helpers, an order-keeping gather and
a launcher.

Two ways in:

- a script started with ``torchrun --nproc-per-node N script.py`` calls ``init_process_group()``
  (it reads torchrun's ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``);
- a Kedro node calls ``launch(fn, N, *args)``: PyTorch's elastic launcher (the engine behind
  ``torchrun``) starts N local processes, each joins the process group and runs ``fn(*args)``,
  and rank 0's return value comes back. Kedro, DVC and MLflow thus stay one process. With N = 1
  nothing is launched: ``fn`` runs in the calling process, exactly as without this module.

Backends: gloo for CPU tensors, plus nccl for CUDA tensors when every local process has a GPU.
Library code asks ``world_size()``/``rank()``, which are 1/0 without a process group, so the
same code serves both cases.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist

from artrec.errors import ArtrecError

T = TypeVar("T")


def is_distributed() -> bool:
    """Whether this process is one of several in an initialised process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of processes in the group (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's global rank (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def local_rank() -> int:
    """This process's rank on its machine, as set by torchrun (0 without a process group)."""
    return int(os.environ.get("LOCAL_RANK", 0)) if world_size() > 1 else 0


def is_main_process() -> bool:
    """True on rank 0, the process that writes files and logs."""
    return rank() == 0


def barrier() -> None:
    """Wait for every process of the group (no-op in a single process)."""
    if is_distributed():
        dist.barrier()


def local_device(device: str | torch.device) -> torch.device:
    """``device``, with a bare ``cuda`` replaced by this process's own GPU (``cuda:LOCAL_RANK``)."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None and is_distributed():
        return torch.device("cuda", local_rank())
    return device


def init_process_group(backend: str | None = None, timeout_minutes: float = 60.0) -> bool:
    """Join the process group described by torchrun's environment variables.

    Returns whether a group is active afterwards: without ``WORLD_SIZE`` > 1 nothing happens (one
    process). ``backend`` defaults to ``cpu:gloo,cuda:nccl`` when each local process can have its
    own GPU (so CPU and GPU tensors both work), else ``gloo``.
    """
    if dist.is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", 1)) <= 1:
        return False
    local = int(os.environ.get("LOCAL_RANK", 0))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
    gpus = torch.cuda.is_available() and torch.cuda.device_count() >= local_world
    if backend is None:
        backend = "cpu:gloo,cuda:nccl" if gpus else "gloo"
    if gpus:
        # nccl and all_gather_object use the current device: one GPU per process.
        torch.cuda.set_device(local)
    dist.init_process_group(backend=backend, timeout=timedelta(minutes=timeout_minutes))
    return True


def destroy_process_group() -> None:
    """Leave the process group, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_objects(obj: T) -> list[T]:
    """Every process's ``obj`` (picklable), in rank order; ``[obj]`` in a single process."""
    if not is_distributed():
        return [obj]
    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: T) -> T:
    """Rank 0's ``obj`` on every process (each passes its own; only rank 0's counts)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(items: Sequence[T]) -> list[T]:
    """This process's share of ``items``: every ``world_size()``-th one, starting at ``rank()``.

    No padding, so shares differ in length by at most one; ``all_gather_unshard`` puts the
    processes' results back in the order of ``items``.
    """
    return list(items[rank() :: world_size()])


def all_gather_unshard(local: np.ndarray) -> np.ndarray:
    """Rows computed by every process for its ``shard`` of a sequence, in the sequence's order.

    ``local`` is this process's array (its first axis runs over its share; shares may differ in
    length); every process gets the whole array. In a single process ``local`` is returned.
    """
    if not is_distributed():
        return local
    parts = [np.asarray(part) for part in all_gather_objects(np.asarray(local))]
    filled = [part for part in parts if len(part)] or parts
    # An empty share may carry a default dtype (float64 for no ids): take the others' dtype.
    dtype = np.result_type(*filled)
    out = np.empty((sum(len(part) for part in parts), *filled[0].shape[1:]), dtype=dtype)
    step = len(parts)
    for r, part in enumerate(parts):
        out[r::step] = part
    return out


def _worker(fn: Callable[..., T], refusals: str, *args: Any) -> T | None:
    """Body of each launched process: join the group, run ``fn``, leave; rank 0 returns."""
    # Like torchrun, one CPU thread set per process unless the user chose (no oversubscription).
    if "OMP_NUM_THREADS" not in os.environ:
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    init_process_group()
    try:
        result = fn(*args)
        # Only rank 0's value is returned to the caller; the others would only be pickled.
        return result if is_main_process() else None
    except ArtrecError as error:
        # Bad input (or a full disk) is one line (file, problem, fix): left for ``launch`` to
        # raise instead of the launcher's report with a traceback. The process still fails, so
        # the launcher stops the others at once even if they wait in a collective call.
        path = Path(refusals) / f"rank{rank():05d}.pkl"
        path.write_bytes(pickle.dumps(error))
        raise
    finally:
        destroy_process_group()


def _first_refusal(refusals: Path) -> ArtrecError | None:
    """The lowest rank's :class:`ArtrecError` left by ``_worker``, if any."""
    for path in sorted(refusals.glob("rank*.pkl")):
        try:
            # Written by our own workers into our own temporary folder a moment ago.
            error = pickle.loads(path.read_bytes())  # noqa: S301
        except Exception:  # noqa: BLE001 - then the launcher's own report stands
            continue
        if isinstance(error, ArtrecError):
            return error
    return None


def launch(fn: Callable[..., T], nproc_per_node: int, *args: Any) -> T:
    """Run ``fn(*args)`` on ``nproc_per_node`` local processes in one process group; rank 0's
    result.

    With ``nproc_per_node == 1``, ``fn(*args)`` runs here. Otherwise ``fn`` and ``args`` must be
    picklable (``fn`` a module-level function): the processes are spawned by
    ``torch.distributed.launcher.api.elastic_launch`` with ``torchrun --standalone``'s rendezvous
    (a c10d store on a free local port). A failing process fails the launch (no restarts: the
    stage fails and a rerun resumes from its checkpoints), with the worker's error in the message;
    an :class:`artrec.errors.ArtrecError` (bad input, full disk) raised by ``fn`` in any process
    is raised here as it is (the lowest rank's), so it still ends the command with its one line.
    """
    if nproc_per_node < 1:
        raise ValueError(f"nproc_per_node must be >= 1, got {nproc_per_node}")
    if nproc_per_node == 1:
        return fn(*args)
    if dist.is_initialized():
        raise RuntimeError("launch() is called from inside a process group; call fn directly")
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc_per_node,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
    )
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    with tempfile.TemporaryDirectory(prefix="artrec-launch-") as refusals:
        try:
            results = elastic_launch(config, _worker)(fn, refusals, *args)
        except ChildFailedError:
            refused = _first_refusal(Path(refusals))
            if refused is None:
                raise
            raise refused from None
    return results[0]
