"""MLflow logging used from inside nodes, where a metric arrives over time (per epoch).

kedro-mlflow opens one MLflow run per ``kedro run``; these helpers log into it when it is active
and do nothing otherwise, so library code and tests run without a tracking server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mlflow


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
