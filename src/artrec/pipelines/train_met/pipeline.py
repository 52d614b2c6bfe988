from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node

from artrec.metric_learning.methods import METHODS
from artrec.pipelines.train_met.nodes import (
    met_table6,
    met_untrained_baseline,
    select_met_backbone,
    train_met_backbone,
    train_met_long_tail,
)
from artrec.pipelines.train_met.start_nodes import pretrain_met_start

# The protocol's evaluation grid and whitening: the kNN stage's (knn.met, pcaw.met).
EVALUATION = {
    "ks": "params:knn.met.ks",
    "taus": "params:knn.met.taus",
    "pcaw": "params:pcaw.met",
}
START = {
    "met_raw": "met_raw",
    # The starting point (train.met.start.backbone): synthetic (the embedded default) is the
    # train_met_start output, mame the MAMe-trained ResNet18; each is read but unused with
    # another starting point.
    "mame_model": "mame_resnet18_hrvs_model",
    "pretrained_model": "met_start_model",
    "start": "params:train.met.start",
}


def _bind(func, **kwargs):
    return update_wrapper(partial(func, **kwargs), func)


def create_pipeline(**kwargs) -> Pipeline:
    # The embedded default's starting point (train_met_start), then one node (one DVC stage,
    # one MLflow run) per method of Table 6, tagged with its name.
    nodes = [
        node(
            pretrain_met_start,
            inputs={
                "pretrain": "params:train.met.pretrain",
                "start": "params:train.met.start",
                "inputs": "params:train.met.inputs",
                "optim": "params:train.met.optim",
                "temperature": "params:train.met.dnet.temperature",
                "seed": "params:seed",
                "runtime": "params:train.met.runtime",
            },
            outputs=["met_start_model", "met_start_history", "met_start_metrics"],
            name="pretrain_met_start",
            tags=["start"],
        )
    ]
    nodes += [
        node(
            _bind(train_met_backbone, method=method),
            inputs={
                **START,
                "inputs": "params:train.met.inputs",
                "optim": "params:train.met.optim",
                "family": f"params:train.met.{family}",
                **EVALUATION,
                "seed": "params:seed",
                "runtime": "params:train.met.runtime",
            },
            outputs=[
                f"met_train_{method}_model",
                f"met_train_{method}_history",
                f"met_train_{method}_metrics",
                f"met_train_{method}_predictions",
            ],
            name=f"train_met_{method}",
            tags=[method],
        )
        for method, (family, _) in METHODS.items()
    ]
    nodes.append(
        node(
            train_met_long_tail,
            inputs={
                **START,
                "reference_model": "met_train_dnet_arcface_model",
                "reference_metrics": "met_train_dnet_arcface_metrics",
                "inputs": "params:train.met.inputs",
                "optim": "params:train.met.optim",
                "dnet": "params:train.met.dnet",
                "long_tail": "params:train.met.long_tail",
                **EVALUATION,
                "seed": "params:seed",
                "runtime": "params:train.met.runtime",
            },
            outputs=[
                "met_long_tail_table",
                "met_long_tail_history",
                "met_long_tail_metrics",
                "met_long_tail_predictions",
            ],
            name="train_met_long_tail",
            # One stage with Table 6 (train_met_summary): a Kedro start-up less in the budget.
            tags=["summary"],
        )
    )
    nodes += [
        node(
            met_untrained_baseline,
            inputs={
                **START,
                "inputs": "params:train.met.inputs",
                **EVALUATION,
                "runtime": "params:train.met.runtime",
            },
            outputs=["met_untrained_metrics", "met_untrained_predictions"],
            name="met_untrained_baseline",
            tags=["summary"],
        ),
        node(
            met_table6,
            inputs={
                "untrained_metrics": "met_untrained_metrics",
                "untrained_predictions": "met_untrained_predictions",
                "long_tail_metrics": "met_long_tail_metrics",
                "met_raw": "met_raw",
                "backbone": "params:embed.met.backbone",
                "claims": "params:claims",
                "seed": "params:seed",
                **{f"{m}_metrics": f"met_train_{m}_metrics" for m in METHODS},
                **{f"{m}_predictions": f"met_train_{m}_predictions" for m in METHODS},
            },
            outputs=["met_table6", "met_figure8", "met_figure8_plot", "met_training_metrics"],
            name="met_table6",
            tags=["summary"],
        ),
        node(
            select_met_backbone,
            inputs={
                "metrics": "met_training_metrics",
                "backbone": "params:embed.met.backbone",
                **{f"{m}_model": f"met_train_{m}_model" for m in METHODS},
            },
            outputs="met_backbone_model",
            name="select_met_backbone",
            tags=["summary"],
        ),
    ]
    return Pipeline(nodes)
