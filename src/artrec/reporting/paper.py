"""Published numbers (``paper_results.yaml``) and helpers to print them beside ours."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml


@cache
def paper_results() -> dict[str, Any]:
    """The published tables of the four papers, as transcribed in ``paper_results.yaml``."""
    text = resources.files("artrec.reporting").joinpath("paper_results.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def data_label(source: str) -> str:
    """How a result's data is named in tables: synthetic results are always marked as such."""
    return "SYNTHETIC (embedded)" if source == "synthetic" else f"official ({source})"


def synthetic_banner(dataset: str, source: str) -> str:
    if source == "synthetic":
        return (
            f"SYNTHETIC DATA: the {dataset} results below come from the embedded synthetic data "
            "set, not from the official data. They test the pipeline; they are not comparable "
            "with the paper's numbers printed beside them."
        )
    return f"Data: the official {dataset} data (source: {source})."


def side_by_side(ours: pd.DataFrame, paper: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    """Join our table with the paper's on the key columns, suffixing value columns."""
    return paper.merge(ours, on=on, how="outer", suffixes=(" (paper)", " (ours)"))
