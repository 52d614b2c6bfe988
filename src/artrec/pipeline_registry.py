"""Project pipelines.

Each folder under ``artrec/pipelines`` defines one pipeline. DVC runs one stage per dataset or
variant, so for every tag carried by only part of a pipeline's nodes (``mame``, ``met``,
``vgg11_hrvs``...) the slice is also registered as ``<pipeline>_<tag>``.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines(raise_errors=True)
    base = dict(pipelines)
    for name, pipeline in base.items():
        tags = sorted({tag for node in pipeline.nodes for tag in node.tags})
        for tag in tags:
            tagged = pipeline.only_nodes_with_tags(tag)
            if len(tagged.nodes) < len(pipeline.nodes):
                pipelines[f"{name}_{tag}"] = tagged
    pipelines["__default__"] = sum(base.values(), start=Pipeline([]))
    return pipelines
