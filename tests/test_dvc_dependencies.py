"""Every DVC stage declares what its Kedro pipeline really reads, so `dvc repro` reruns a stage
whenever something it depends on changed.

For each stage of `dvc.yaml` (`kedro run --pipeline NAME`) the test derives, from the pipeline
itself: the project modules its nodes import (transitively), the files and folders its catalog
inputs load, and the parameters its nodes take. Each must be covered by one of the stage's deps
(the path itself or a folder above it) or params (the key itself or a key above it). Parameters
are tracked as resolved values (the profile applied, `data/params_resolved.yaml` written by the
`resolve_params` stage), never as params.yaml's raw keys, which a profile overlay can override.
"""

from __future__ import annotations

import ast
import functools
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = REPO_ROOT / "src"

# Imported by every `kedro run` to log and to report errors; they change no output. (The
# parameter loader, artrec/config.py, does change outputs and is a dep of every stage.)
RUN_WIDE_MODULES = {
    "artrec/__init__.py",
    "artrec/settings.py",
    "artrec/hooks.py",
    "artrec/tracking.py",
    "artrec/errors.py",
    "artrec/pipeline_registry.py",
    "artrec/pipelines/__init__.py",
}


def _module_file(module: str) -> Path | None:
    base = SOURCE / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str) -> set[str]:
    """The artrec modules a file imports (absolute or relative, at any depth of the file)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for item in ast.walk(ast.parse(path.read_text())):
        if isinstance(item, ast.Import):
            found.update(alias.name for alias in item.names)
        elif isinstance(item, ast.ImportFrom):
            if item.level:
                parts = package.split(".")
                stem = ".".join(parts[: len(parts) - item.level + 1])
                base = f"{stem}.{item.module}" if item.module else stem
            else:
                base = item.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in item.names)
    return {name for name in found if name.split(".")[0] == "artrec" and _module_file(name)}


def _transitive_files(modules: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        # Importing a.b.c runs a/__init__ and a/b/__init__ first.
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        path = _module_file(module)
        if path is not None:
            todo.extend(_imported_modules(path, module))
    files = {str(_module_file(m).relative_to(SOURCE)) for m in seen if _module_file(m)}
    return files - RUN_WIDE_MODULES


def _covered(path: str, deps: list[str]) -> bool:
    path = os.path.normpath(path)
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def _node_function(func):
    while isinstance(func, functools.partial):
        func = func.func
    return func


@functools.cache
def _kedro():
    # The catalog straight from its config: a Kedro session would start the MLflow hooks.
    from kedro.config import OmegaConfigLoader
    from kedro.framework.startup import bootstrap_project
    from kedro.io import DataCatalog

    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    bootstrap_project(REPO_ROOT)
    from kedro.framework.project import pipelines

    loader = OmegaConfigLoader(str(REPO_ROOT / "conf"), base_env="base", default_run_env="local")
    return pipelines, DataCatalog.from_config(loader["catalog"])


def _stages() -> list:
    from dvc.repo import Repo

    with Repo(str(REPO_ROOT)) as repo:
        return list(repo.index.stages)


RESOLVED_PARAMS = "data/params_resolved.yaml"
ALL_STAGES = _stages()
# Every stage but resolve_params runs a Kedro pipeline.
STAGES = [s for s in ALL_STAGES if s.cmd.startswith("kedro run")]


def _is_runtime(key: str) -> bool:
    # Values under a `runtime` block say where and how a stage runs (device, workers, the
    # checkpoint folder), not what it computes: not tracked, so moving to a GPU reruns nothing.
    return "runtime" in key.split(".")


def _stage_deps(stage) -> tuple[list[str], list[str]]:
    files, params = [], []
    for dep in stage.deps:
        if dep.__class__.__name__ == "ParamsDependency":
            assert os.path.normpath(dep.def_path) == RESOLVED_PARAMS, (
                f"{stage.addressing} tracks params in {dep.def_path}; list them under "
                f"{RESOLVED_PARAMS} (params.yaml's raw values ignore the profile)"
            )
            params.extend(dep.params)
        else:
            files.append(os.path.normpath(dep.def_path))
    return files, params


def _pipeline(stage):
    words = stage.cmd.split()
    assert words[:4] == ["kedro", "run", "--pipeline", words[3]], stage.cmd
    pipelines, _ = _kedro()
    return pipelines[words[3]]


@pytest.mark.parametrize("stage", STAGES, ids=[s.addressing for s in STAGES])
def test_stage_lists_the_code_its_nodes_import(stage):
    files, _ = _stage_deps(stage)
    modules = {_node_function(n.func).__module__ for n in _pipeline(stage).nodes}
    missing = sorted(
        f"src/{f}" for f in _transitive_files(modules) if not _covered(f"src/{f}", files)
    )
    assert not missing, f"{stage.addressing} imports code dvc.yaml does not list: {missing}"


@pytest.mark.parametrize("stage", STAGES, ids=[s.addressing for s in STAGES])
def test_stage_lists_the_data_and_parameters_its_nodes_read(stage):
    files, params = _stage_deps(stage)
    _, catalog = _kedro()
    missing_data, missing_params = [], []
    for name in sorted(_pipeline(stage).inputs()):
        if name == "parameters":
            continue  # the whole tree: only the report reads it, for its provenance table
        if name.startswith("params:"):
            key = name.removeprefix("params:")
            if _is_runtime(key):
                continue
            if not any(key == p or key.startswith(p + ".") for p in params):
                missing_params.append(key)
            continue
        described = catalog.get(name)._describe()
        location = described.get("filepath") or described.get("path")
        if location and not _covered(os.path.relpath(str(location), REPO_ROOT), files):
            missing_data.append(str(location))
    assert not missing_data, f"{stage.addressing} reads data dvc.yaml does not list: {missing_data}"
    assert not missing_params, f"{stage.addressing} reads params it does not list: {missing_params}"


def test_resolve_params_is_the_only_stage_reading_params_yaml():
    (resolve,) = [s for s in ALL_STAGES if s.addressing == "resolve_params"]
    assert resolve.cmd == f"artrec params --out {RESOLVED_PARAMS}"
    assert [os.path.normpath(o.def_path) for o in resolve.outs] == [RESOLVED_PARAMS]
    for stage in STAGES:
        _stage_deps(stage)  # asserts that its params, if any, are resolved values


@pytest.mark.parametrize("profile", ["default", "tiny", "paper"])
def test_every_tracked_key_exists_in_the_resolved_params(profile):
    # A misspelt key would fail `dvc repro` with a missing-parameter error far from its cause.
    from artrec.config import load_params

    params = load_params(REPO_ROOT, profile=profile)
    missing = []
    for stage in STAGES:
        for key in _stage_deps(stage)[1]:
            node = params
            for part in key.split("."):
                if not isinstance(node, dict) or part not in node:
                    missing.append(f"{stage.addressing}: {key}")
                    break
                node = node[part]
    assert not missing, missing
