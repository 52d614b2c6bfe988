"""Parameters: ``params.yaml`` at the project root is the single source for DVC and Kedro.

The file holds the embedded default values plus a ``profiles:`` section of overlays. The key
``profile`` selects one overlay (``default`` selects none), which is deep-merged over the
defaults. DVC tracks the raw keys (``dvc.yaml`` lists them per stage); Kedro reads the merged
result through :class:`artrec.settings.ProjectConfigLoader`, and the ``artrec`` command-line
tool through :func:`load_params`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = "params.yaml"
DEFAULT_PROFILE = "default"


def find_project_root(start: Path | None = None) -> Path:
    """Return the closest folder at or above ``start`` (default: cwd) that holds ``params.yaml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PARAMS_FILE).is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise FileNotFoundError(
        f"No {PARAMS_FILE} found at or above {here}; run this from the artrec project folder."
    )


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``overlay`` merged in; nested mappings merge, everything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_profile(raw: Mapping[str, Any], profile: str | None = None) -> dict[str, Any]:
    """Apply the overlay named by ``profile`` (or by ``raw['profile']``) to the raw parameters."""
    raw = dict(raw)
    profiles = raw.pop("profiles", None) or {}
    name = profile or raw.get("profile") or DEFAULT_PROFILE
    if name != DEFAULT_PROFILE and name not in profiles:
        known = ", ".join([DEFAULT_PROFILE, *profiles])
        raise ValueError(f"Unknown parameter profile {name!r}; known profiles: {known}")
    params = deep_merge(raw, profiles.get(name) or {})
    params["profile"] = name
    return params


def load_params(
    root: Path | None = None,
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Load ``params.yaml`` from ``root``, apply the selected profile, then ``overrides``."""
    path = (root or find_project_root()) / PARAMS_FILE
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must hold a mapping at the top level")
    overrides = dict(overrides or {})
    profile = profile or overrides.pop("profile", None)
    return deep_merge(resolve_profile(raw, profile), overrides)
