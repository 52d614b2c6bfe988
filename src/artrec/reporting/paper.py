"""Published numbers (``paper_results.yaml``) and helpers to print them beside ours."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def paper_results() -> dict[str, Any]:
    """The published tables of the four papers, as transcribed in ``paper_results.yaml``."""
    text = resources.files("artrec.reporting").joinpath("paper_results.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def synthetic_banner(dataset: str, source: str) -> str:
    if source == "synthetic":
        return (
            f"SYNTHETIC DATA: the {dataset} results below come from the embedded synthetic data "
            "set, not from the official data. They test the pipeline; they are not comparable "
            "with the paper's numbers printed beside them."
        )
    return f"Data: the official {dataset} data (source: {source})."
