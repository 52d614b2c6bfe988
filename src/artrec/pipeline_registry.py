"""Project pipelines.

Each folder under ``artrec/pipelines`` defines one pipeline, listed explicitly below. DVC runs one
stage per dataset or variant, so for every tag carried by only part of a pipeline's nodes
(``mame``, ``met``, ``vgg11_hrvs``...) the slice is also registered as ``<pipeline>_<tag>``.

The modules are imported by name rather than with ``kedro.framework.project.find_pipelines``:
since Kedro 1.7 that function imports only the folder named on the command line, so
``kedro run --pipeline ingest_mame`` would look for a folder ``ingest_mame``.
"""

from __future__ import annotations

import importlib

from kedro.pipeline import Pipeline

PIPELINE_NAMES = (
    "ingest",
    "curate",
    "preprocess",
    "train",
    "evaluate",
    "embed",
    "pcaw",
    "knn",
    "report",
)


def register_pipelines() -> dict[str, Pipeline]:
    base = {
        name: importlib.import_module(f"artrec.pipelines.{name}.pipeline").create_pipeline()
        for name in PIPELINE_NAMES
    }
    pipelines = dict(base)
    for name, pipeline in base.items():
        tags = sorted({tag for node in pipeline.nodes for tag in node.tags})
        for tag in tags:
            tagged = pipeline.only_nodes_with_tags(tag)
            if len(tagged.nodes) < len(pipeline.nodes):
                pipelines[f"{name}_{tag}"] = tagged
    pipelines["__default__"] = sum(base.values(), start=Pipeline([]))
    return pipelines
