"""Project pipelines.

Each folder under ``artrec/pipelines`` defines one pipeline, listed in ``PIPELINE_NAMES``. DVC runs
one stage per dataset or variant, so for every tag carried by only part of a pipeline's nodes
(``mame``, ``met``, ``vgg11_hrvs``...) the slice is also registered as ``<pipeline>_<tag>``.

Only the modules behind the pipelines a ``kedro run --pipeline NAME`` asks for are imported (the
folder is the part of NAME before the first ``_``), the way Kedro's own ``find_pipelines`` loads
lazily: importing every pipeline would import torch, torchvision and timm for every DVC stage,
about ten seconds each. A requested name belongs to the longest folder name it starts with
(``train_met_dnet`` to ``train_met``, ``train_vgg11_lrfs`` to ``train``). Without a requested
name (``kedro viz``, a plain ``kedro run``) all load.
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


def _requested_modules() -> list[str]:
    from kedro.framework.project import pipelines

    requested = getattr(pipelines, "_requested_pipelines", None)
    if not requested or "__default__" in requested:
        return list(PIPELINE_NAMES)
    modules = {_folder_of(name) for name in requested}
    if None in modules:
        return list(PIPELINE_NAMES)  # an unknown name: load all so Kedro can say what exists
    return [name for name in PIPELINE_NAMES if name in modules]


def _folder_of(requested: str) -> str | None:
    """The pipeline folder a registered name comes from: the longest folder name it starts with."""
    matches = [
        folder
        for folder in PIPELINE_NAMES
        if requested == folder or requested.startswith(folder + "_")
    ]
    return max(matches, key=len, default=None)


def register_pipelines() -> dict[str, Pipeline]:
    names = _requested_modules()
    # Each stage's nodes live in the namespace of its folder (ingest, curate, train, ...), so
    # kedro-viz collapses the graph into the stages and `kedro run --namespaces train` selects
    # one. Dataset names stay as in the catalog (no prefix): the DVC stages and the catalog
    # entries keep their names.
    base = {
        name: Pipeline(
            importlib.import_module(f"artrec.pipelines.{name}.pipeline").create_pipeline(),
            namespace=name,
            prefix_datasets_with_namespace=False,
        )
        for name in names
    }
    pipelines = dict(base)
    for name, pipeline in base.items():
        tags = sorted({tag for node in pipeline.nodes for tag in node.tags})
        for tag in tags:
            tagged = pipeline.only_nodes_with_tags(tag)
            if len(tagged.nodes) < len(pipeline.nodes):
                pipelines[f"{name}_{tag}"] = tagged
    if len(names) == len(PIPELINE_NAMES):
        pipelines["__default__"] = sum(base.values(), start=Pipeline([]))
    return pipelines
