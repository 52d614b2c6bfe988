"""Kedro project settings.

Parameters are not read from ``conf/`` but from ``params.yaml`` at the project root, the file
DVC also tracks, so there is one source of truth (see :mod:`artrec.config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from artrec.config import load_params
from artrec.hooks import ErrorSummaryHook, MetricsToMlflowHook, ProvenanceHook


class ProjectConfigLoader(OmegaConfigLoader):
    """OmegaConfigLoader that serves ``parameters`` from ``params.yaml`` (profile applied).

    Runtime parameters (``kedro run --params profile=tiny,train.epochs=2``) are merged last;
    ``profile`` among them selects the overlay before the merge.
    """

    def __getitem__(self, key: str) -> dict[str, Any]:
        if key != "parameters":
            return super().__getitem__(key)
        root = Path(self.conf_source).resolve().parent
        return load_params(root, overrides=_nest_dotted(self.runtime_params or {}))


def _nest_dotted(flat: dict[str, Any]) -> dict[str, Any]:
    # `kedro run --params a.b=1` arrives as {"a.b": 1} or {"a": {"b": 1}} depending on the
    # Kedro version; normalise to nested dictionaries so it merges like a params.yaml overlay.
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = nested
        *parents, leaf = str(dotted).split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


HOOKS = (MetricsToMlflowHook(), ProvenanceHook(), ErrorSummaryHook())

CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # `oc.env` lets mlflow.yml take MLFLOW_TRACKING_URI (a remote server) over the local default.
    "custom_resolvers": {"oc.env": oc.env},
}
