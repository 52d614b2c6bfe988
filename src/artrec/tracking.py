"""MLflow logging used from inside nodes, where a metric arrives over time (per epoch).

kedro-mlflow opens one MLflow run per ``kedro run``; these helpers log into it when it is active
and do nothing otherwise, so library code and tests run without a tracking server.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import mlflow
import yaml


def flatten_numeric(
    values: Mapping[str, Any], prefix: str = "", sep: str = "."
) -> dict[str, float]:
    """Flatten nested mappings to ``{"a.b": float}``, keeping finite numbers and booleans only."""
    flat: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_numeric(value, name, sep))
        elif isinstance(value, bool | int | float) or hasattr(value, "item"):
            number = float(value.item() if hasattr(value, "item") else value)
            if math.isfinite(number):
                flat[name] = number
    return flat


def log_metrics(values: Mapping[str, Any], prefix: str = "", step: int | None = None) -> None:
    """Log the numeric leaves of ``values`` to the active MLflow run, if any."""
    if mlflow.active_run() is None:
        return
    metrics = {_clean(name): v for name, v in flatten_numeric(values, prefix).items()}
    if metrics:
        mlflow.log_metrics(metrics, step=step)


def _clean(name: str) -> str:
    # MLflow metric names allow alphanumerics, _ - . / and spaces only.
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in name)


def log_child_run(name: str, params: Mapping[str, Any], metrics: Mapping[str, Any]) -> None:
    """Log one configuration as a nested MLflow run under the active run, if any.

    Used where one stage evaluates several configurations (the Met Table 4 rows), so that each
    is a run of its own in the MLflow UI and can be compared side by side.
    """
    if mlflow.active_run() is None:
        return
    with mlflow.start_run(run_name=name, nested=True):
        mlflow.log_params({_clean(k): v for k, v in params.items()})
        log_metrics(metrics)


# ---------------------------------------------------------------------------------------------
# Run identity: what a person needs to find, group and compare runs in the MLflow UI.
# ---------------------------------------------------------------------------------------------

# MLflow 3's UI opens an experiment without this tag in its GenAI view (traces, token usage).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"

# A MAMe variant as the train pipeline tags its nodes: "<arch>_<input>[_bucketed]".
_VARIANT = re.compile(r"^(?P<arch>vgg11|resnet18)_(?P<input>lrfs|hrvs)(?:_(?P<method>bucketed))?$")


def variant_of(tags: Iterable[str]) -> str | None:
    """The one MAMe variant among ``tags`` (a node's or a whole pipeline's), else None."""
    found = {tag for tag in tags if _VARIANT.match(tag)}
    return found.pop() if len(found) == 1 else None


def variant_params(variant: str) -> dict[str, str]:
    """``arch``, ``input`` and ``method`` of a variant tag such as ``resnet18_hrvs_bucketed``."""
    match = _VARIANT.match(variant)
    if match is None:
        raise ValueError(f"not a MAMe variant: {variant}")
    return {
        "arch": match["arch"],
        "input": match["input"],
        # "paper": batch size 1 at full aspect, as in the paper; "bucketed": aspect buckets.
        "method": match["method"] or "paper",
    }


def git_state(root: Path) -> dict[str, str]:
    """``git.commit`` and ``git.dirty`` of the checkout at ``root`` (empty outside git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        # dvc.lock is DVC's own record, rewritten after each stage of the repro that is running:
        # it does not make the code that runs dirty.
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!dvc.lock"))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git.commit": commit, "git.dirty": str(dirty).lower()}


def repro_group() -> str | None:
    """An id shared by the stages of one ``dvc repro`` / ``dvc exp run``, else None.

    DVC names the experiment of an ``exp run`` (DVC_EXP_NAME). A plain ``dvc repro`` names
    nothing, but every stage's command is a child of the same ``dvc`` process (through the shell
    DVC starts): that process's id and start time identify the repro.
    """
    if os.environ.get("DVC_EXP_NAME"):
        return f"exp:{os.environ['DVC_EXP_NAME']}"
    if not os.environ.get("DVC_STAGE"):
        return None
    pid = os.getpid()
    for _ in range(4):  # kedro -> (uv/sh) -> dvc: a few levels at most
        stat = _proc_stat(pid)
        if stat is None:
            return None
        pid = stat[0]
        parent = _proc_stat(pid)
        if parent is None:
            return None
        if "dvc" in parent[2]:
            return f"repro:{pid}:{parent[1]}"
    return None


def _proc_stat(pid: int) -> tuple[int, str, str] | None:
    # (parent pid, start time in clock ticks, command line) from /proc; None off Linux.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[19], cmdline


def run_tags(root: Path, params: Mapping[str, Any]) -> dict[str, str]:
    """Tags that place a run: code revision, profile, data sources, DVC stage and experiment."""
    tags = git_state(root)
    tags["profile"] = str(params.get("profile", ""))
    for name, settings in (params.get("data") or {}).items():
        if isinstance(settings, Mapping) and "source" in settings:
            tags[f"data.{name}.source"] = str(settings["source"])
    if os.environ.get("DVC_STAGE"):
        tags["dvc.stage"] = os.environ["DVC_STAGE"]
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc.exp_name"] = os.environ["DVC_EXP_NAME"]
    group = repro_group()
    if group:
        tags["artrec.repro"] = group
    return {k: v for k, v in tags.items() if v}


def dvc_out_hashes(root: Path) -> dict[str, str]:
    """``{path: md5}`` of every stage output recorded in ``dvc.lock`` (empty without one).

    While ``dvc repro`` runs a stage, the outputs it reads were recorded by the stages before it,
    so these are the hashes of exactly the data this run reads.
    """
    lock = root / "dvc.lock"
    if not lock.is_file():
        return {}
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    return {
        out["path"]: out["md5"]
        for stage in stages.values()
        for out in stage.get("outs", [])
        if "md5" in out
    }


def dvc_hash_of(path: Path, root: Path, hashes: Mapping[str, str]) -> tuple[str, str] | None:
    """(DVC output path, md5) of the DVC output holding ``path``, if any."""
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
    holders = [p for p in hashes if relative == p or relative.startswith(p.rstrip("/") + "/")]
    if not holders:
        return None
    best = max(holders, key=len)
    return best, hashes[best]


def log_dataset_input(name: str, source: str, digest: str, context: str = "training") -> None:
    """Log a dataset input (name, DVC output path, DVC md5) to the active run, if any."""
    if mlflow.active_run() is None:
        return
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    # The data live in the DVC cache, addressed by their md5: the source names the DVC output
    # (path in the repository), the digest its DVC hash.
    dataset = MetaDataset(
        source=CodeDatasetSource({"dvc_path": source, "dvc_md5": digest}),
        name=name,
        digest=digest[:36],
    )
    mlflow.log_input(dataset, context=context)
