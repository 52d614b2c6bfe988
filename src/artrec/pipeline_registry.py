"""Project pipelines.

Each folder under ``artrec/pipelines`` defines one pipeline, listed in ``PIPELINE_NAMES``. DVC runs
one stage per dataset or variant, so for every tag carried by only part of a pipeline's nodes
(``mame``, ``met``, ``vgg11_hrvs``...) the slice is also registered as ``<pipeline>_<tag>``.

Only the modules behind the pipelines a ``kedro run --pipeline NAME`` asks for are imported:
importing every pipeline would import torch, torchvision and timm for every DVC stage (measured:
about 6 CPU seconds for all against 0.6 for ``curate_met``). ``register_pipelines`` returns a
dict that imports a folder when one of its names is first looked up, which is how Kedro fetches
the requested pipelines (``pipelines[name]``); listing the names (``kedro viz``, a misspelt name's
suggestions) or the default pipeline (a plain ``kedro run``) loads all. No private Kedro state is
read. A name belongs to the longest folder name it starts with (``train_met_dnet`` to
``train_met``, ``train_vgg11_lrfs`` to ``train``); a tag slice whose name would belong to another
folder is not registered, so a name means the same pipeline whether one folder or all are loaded.
"""

from __future__ import annotations

import importlib

from kedro.pipeline import Pipeline

PIPELINE_NAMES = (
    "ingest",
    "curate",
    "preprocess",
    "train",
    "train_met",
    "evaluate",
    "embed",
    "pcaw",
    "knn",
    "report",
    "tate",
    "transfer",
)


def _folder_of(requested: str) -> str | None:
    """The pipeline folder a registered name comes from: the longest folder name it starts with."""
    matches = [
        folder
        for folder in PIPELINE_NAMES
        if requested == folder or requested.startswith(folder + "_")
    ]
    return max(matches, key=len, default=None)


class _LazyPipelines(dict):
    """The project's pipelines, each folder's modules imported when one of its names is first
    looked up; anything that lists the names loads every folder first."""

    def __init__(self) -> None:
        super().__init__()
        self._folders: dict[str, Pipeline] = {}

    def _load_folder(self, folder: str) -> None:
        if folder in self._folders:
            return
        # Each stage's nodes live in the namespace of its folder (ingest, curate, train, ...), so
        # kedro-viz collapses the graph into the stages and `kedro run --namespaces train`
        # selects one. Dataset names stay as in the catalog (no prefix): the DVC stages and the
        # catalog entries keep their names.
        pipeline = Pipeline(
            importlib.import_module(f"artrec.pipelines.{folder}.pipeline").create_pipeline(),
            namespace=folder,
            prefix_datasets_with_namespace=False,
        )
        self._folders[folder] = pipeline
        dict.__setitem__(self, folder, pipeline)
        for tag in sorted({tag for node in pipeline.nodes for tag in node.tags}):
            name = f"{folder}_{tag}"
            tagged = pipeline.only_nodes_with_tags(tag)
            if _folder_of(name) == folder and len(tagged.nodes) < len(pipeline.nodes):
                dict.__setitem__(self, name, tagged)

    def _load_all(self) -> None:
        if dict.__contains__(self, "__default__"):
            return
        for folder in PIPELINE_NAMES:
            self._load_folder(folder)
        default = sum((self._folders[f] for f in PIPELINE_NAMES), start=Pipeline([]))
        dict.__setitem__(self, "__default__", default)

    def __missing__(self, name: str) -> Pipeline:
        folder = _folder_of(name)
        if name == "__default__" or folder is None:
            self._load_all()
        else:
            self._load_folder(folder)
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def get(self, name: str, default: Pipeline | None = None) -> Pipeline | None:
        try:
            return self[name]
        except KeyError:
            return default

    # Listing: every folder first. (A dict subclass that overrides __iter__ is also copied by
    # dict() through keys() and [], as Kedro's own pipelines object does.)
    def __iter__(self):
        self._load_all()
        return super().__iter__()

    def __len__(self) -> int:
        self._load_all()
        return super().__len__()

    def keys(self):
        self._load_all()
        return super().keys()

    def values(self):
        self._load_all()
        return super().values()

    def items(self):
        self._load_all()
        return super().items()

    def __repr__(self) -> str:
        self._load_all()
        return super().__repr__()


def register_pipelines() -> dict[str, Pipeline]:
    return _LazyPipelines()
