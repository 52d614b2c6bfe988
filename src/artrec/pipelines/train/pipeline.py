from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from artrec.pipelines.preprocess.pipeline import INPUT_VERSIONS
from artrec.pipelines.train.nodes import evaluate_mame_model, train_mame_model

ARCHITECTURES = ("vgg11", "resnet18")
# The bucketing study: HR&VS images in aspect-ratio buckets (train.mame.inputs.hrvs_bucketed)
# beside the paper's batch size 1, for these architectures.
BUCKETING_STUDY = ("resnet18",)


def _bind(func, **kwargs):
    return update_wrapper(partial(func, **kwargs), func)


def create_pipeline(**kwargs) -> Pipeline:
    runs = [(arch, version, version) for arch in ARCHITECTURES for version in INPUT_VERSIONS]
    runs += [(arch, "hrvs", "hrvs_bucketed") for arch in BUCKETING_STUDY]
    nodes = []
    for arch, version, inputs in runs:
        variant = f"{arch}_{inputs}"
        nodes += [
            node(
                _bind(train_mame_model, arch=arch, version=version, inputs=inputs),
                inputs=[f"mame_{version}_images", "mame_dataset", "mame_labels",
                        "params:train.mame", "params:seed"],
                outputs=[f"mame_{variant}_model", f"mame_{variant}_history"],
                name=f"train_mame_{variant}",
                tags=["mame", variant],
            ),
            node(
                _bind(evaluate_mame_model, arch=arch, version=version, inputs=inputs),
                inputs=[f"mame_{variant}_model", f"mame_{version}_images", "mame_dataset",
                        "mame_labels", "params:train.mame"],
                outputs=[f"mame_{variant}_metrics", f"mame_{variant}_predictions",
                         f"mame_{variant}_confusion"],
                name=f"evaluate_mame_{variant}",
                tags=["mame", variant],
            ),
        ]
    return Pipeline(nodes)
