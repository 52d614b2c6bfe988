"""Project hooks."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl

from artrec.tracking import log_metrics


class MetricsToMlflowHook:
    """Log every saved dataset named ``*_metrics`` (a dict of numbers) to the active MLflow run.

    The same dict is written to a JSON file that DVC reads as a metrics file, so DVC and MLflow
    show the same numbers without each node logging twice.
    """

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        if dataset_name.endswith("_metrics") and isinstance(data, dict):
            log_metrics(data, prefix=dataset_name.removesuffix("_metrics"))
