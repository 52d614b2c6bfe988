"""Project pipelines.

Each folder under ``artrec/pipelines`` defines one pipeline. DVC runs one stage per dataset or
variant, so pipelines whose nodes carry dataset tags (``mame``, ``met``) are also registered
per tag as ``<pipeline>_<tag>``.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

DATASET_TAGS = ("mame", "met")


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    for name in list(pipelines):
        for tag in DATASET_TAGS:
            tagged = pipelines[name].only_nodes_with_tags(tag)
            if tagged.nodes and len(tagged.nodes) < len(pipelines[name].nodes):
                pipelines[f"{name}_{tag}"] = tagged
    pipelines["__default__"] = sum(
        (p for n, p in pipelines.items() if "_" not in n), start=Pipeline([])
    )
    return pipelines
