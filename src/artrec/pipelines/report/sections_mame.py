"""Report sections for the MAMe classification experiments (filled in by the study's pipelines)."""

from __future__ import annotations

from kedro.pipeline import Node


def section_nodes() -> list[Node]:
    return []
