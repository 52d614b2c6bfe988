"""Tate: the poster's systems in one pipeline (one DVC stage, ``train_tate``): each system is
trained and evaluated by its own nodes, then the results tables and the saliency figure."""

from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from artrec.pipelines.tate.nodes import (
    SYSTEMS,
    evaluate_tate_model,
    tate_results,
    tate_saliency,
    train_tate_model,
)

# The single-label systems whose saliency maps are drawn (the poster's Figure 6).
EXPLAINED = ("simple_cnn", "resnet18", "resnet18_aug")


def _bind(func, **kwargs):
    return update_wrapper(partial(func, **kwargs), func)


def create_pipeline(**kwargs) -> Pipeline:
    nodes = []
    for name, system in SYSTEMS.items():
        inputs = {
            "raw_dir": "tate_raw",
            "dataset": "tate_dataset",
            "classes": "tate_classes",
            "params": "params:train.tate",
            "seed": "params:seed",
        }
        if system.arch == "resnet18":
            # The embedded default's pretrained start (train.tate.init: mame).
            inputs["mame_model"] = "mame_resnet18_hrvs_model"
        nodes += [
            node(
                _bind(train_tate_model, name=name),
                inputs=inputs,
                outputs=[f"tate_{name}_model", f"tate_{name}_history"],
                name=f"train_tate_{name}",
                tags=["tate", name],
            ),
            node(
                evaluate_tate_model,
                inputs={
                    "state": f"tate_{name}_model",
                    "raw_dir": "tate_raw",
                    "dataset": "tate_dataset",
                    "classes": "tate_classes",
                    "params": "params:train.tate",
                },
                outputs=f"tate_{name}_predictions",
                name=f"evaluate_tate_{name}",
                tags=["tate", name],
            ),
        ]
    nodes += [
        node(
            tate_results,
            inputs={
                "classes": "tate_classes",
                "params": "params:train.tate",
                **{name: f"tate_{name}_predictions" for name in SYSTEMS},
                **{f"{name}_model": f"tate_{name}_model" for name in SYSTEMS},
            },
            outputs=[
                "tate_results",
                "tate_per_class",
                "tate_per_tag",
                "tate_confusion",
                "tate_metrics",
            ],
            name="tate_results",
            tags=["tate"],
        ),
        node(
            tate_saliency,
            inputs={
                "raw_dir": "tate_raw",
                "dataset": "tate_dataset",
                "classes": "tate_classes",
                "params": "params:train.tate",
                "explain_params": "params:explain.tate",
                **{name: f"tate_{name}_model" for name in EXPLAINED},
            },
            outputs="tate_saliency",
            name="tate_saliency",
            tags=["tate"],
        ),
    ]
    return Pipeline(nodes)
