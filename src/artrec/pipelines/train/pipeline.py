from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from artrec.images.preprocess import INPUT_VERSIONS
from artrec.pipelines.train.nodes import evaluate_mame_model, train_mame_model

ARCHITECTURES = ("vgg11", "resnet18")
# The bucketing study: HR&VS images in aspect-ratio buckets (train.mame.inputs.hrvs_bucketed)
# beside the paper's batch size 1, for these architectures.
BUCKETING_STUDY = ("resnet18",)


def _bind(func, **kwargs):
    return update_wrapper(partial(func, **kwargs), func)


def _variant_params(arch: str, version: str, inputs: str) -> dict[str, str]:
    # Exactly the parameters one variant learns from (its own learning rate and batching, not
    # every other variant's): what its DVC stage tracks and what kedro-mlflow logs for its run.
    return {
        "epochs": "params:train.mame.epochs",
        "width_mult": "params:train.mame.width_mult",
        "init": "params:train.mame.init",
        "nproc_per_node": "params:train.mame.nproc_per_node",
        "lr": f"params:train.mame.lr.{arch}.{version}",
        "batching": f"params:train.mame.inputs.{inputs}",
    }


def create_pipeline(**kwargs) -> Pipeline:
    runs = [(arch, version, version) for arch in ARCHITECTURES for version in INPUT_VERSIONS]
    runs += [(arch, "hrvs", "hrvs_bucketed") for arch in BUCKETING_STUDY]
    nodes = []
    for arch, version, inputs in runs:
        variant = f"{arch}_{inputs}"
        nodes += [
            node(
                _bind(train_mame_model, arch=arch, version=version, inputs=inputs),
                inputs={
                    "images_dir": f"mame_{version}_images",
                    "dataset": "mame_dataset",
                    "labels": "mame_labels",
                    **_variant_params(arch, version, inputs),
                    "runtime": "params:train.mame.runtime",
                    "seed": "params:seed",
                },
                outputs=[f"mame_{variant}_model", f"mame_{variant}_history"],
                name=f"train_mame_{variant}",
                tags=["mame", variant],
            ),
            node(
                _bind(evaluate_mame_model, arch=arch, version=version, inputs=inputs),
                inputs={
                    "state": f"mame_{variant}_model",
                    "images_dir": f"mame_{version}_images",
                    "dataset": "mame_dataset",
                    "labels": "mame_labels",
                    "batching": f"params:train.mame.inputs.{inputs}",
                    "runtime": "params:train.mame.runtime",
                },
                outputs=[
                    f"mame_{variant}_metrics",
                    f"mame_{variant}_predictions",
                    f"mame_{variant}_confusion",
                ],
                name=f"evaluate_mame_{variant}",
                tags=["mame", variant],
            ),
        ]
    return Pipeline(nodes)
