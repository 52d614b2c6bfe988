"""Project hooks."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from kedro.framework.hooks import hook_impl

from artrec.errors import find_artrec_error, one_line_message
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


class ErrorSummaryHook:
    """Make a failed ``kedro run`` end with one clear line on stderr.

    Kedro lets a node's exception escape and Python's exception hook (Kedro installs rich's)
    prints the traceback. This hook wraps that exception hook once the project context exists
    (parameters are validated after that, pipelines run after that): for an
    :class:`artrec.errors.ArtrecError` (bad input, full disk) it prints only
    ``error: <file>: <problem>. Fix: <fix>``, since the traceback says nothing a user can act on;
    for any other error it prints the traceback as before, then the same kind of summary line.
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        install_error_summary()

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: Any, pipeline: Any, catalog: Any
    ) -> None:
        # Again here, in case something replaced the exception hook during the run.
        install_error_summary()


def install_error_summary() -> None:
    """Wrap ``sys.excepthook`` (once) so that an uncaught error ends with a one-line summary."""
    previous = sys.excepthook
    if getattr(previous, "artrec_summary", False):
        return

    def excepthook(
        kind: type[BaseException], error: BaseException, traceback: TracebackType | None
    ) -> None:
        if find_artrec_error(error) is None:
            previous(kind, error, traceback)
        print(f"error: {one_line_message(error)}", file=sys.stderr, flush=True)

    excepthook.artrec_summary = True  # type: ignore[attr-defined]
    sys.excepthook = excepthook
