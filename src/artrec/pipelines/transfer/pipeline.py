from kedro.pipeline import Pipeline, node

from artrec.pipelines.transfer.nodes import (
    curate_collections,
    prepare_inputs,
    saliency_figure,
    starting_networks,
    theta_features,
    train_first_collection,
    train_second_collection,
    transfer_results,
)

_ARCHITECTURES = "params:transfer.architectures"
# Which networks the stage uses (every one of them: the scratch architectures too).
_NETWORKS = {
    "architectures": _ARCHITECTURES,
    "scratch_architectures": "params:transfer.scratch_architectures",
    "networks": "params:transfer.networks",
}
# What the training nodes of both collections read; runtime settings (device, checkpoints) are
# not tracked.
_TRAINING = {
    "inputs": "transfer_inputs",
    "challenges": "transfer_challenges",
    "theta": "transfer_theta",
    "features": "transfer_theta_features",
    "architectures": _ARCHITECTURES,
    "off_the_shelf": "params:transfer.off_the_shelf",
    "fine_tuning": "params:transfer.fine_tuning",
    "training": "params:transfer.training",
    "runtime": "params:transfer.runtime",
    "seed": "params:seed",
}


def create_pipeline(**kwargs) -> Pipeline:
    # Two DVC stages: curate_transfer runs the nodes tagged "curate" (transfer_curate), transfer
    # the ones tagged "train" (transfer_train).
    curate = Pipeline(
        [
            node(
                curate_collections,
                inputs=["rijksmuseum_raw", "antwerp_raw", "params:curate.transfer", "params:seed"],
                outputs=["transfer_metadata", "transfer_challenges", "transfer_table1"],
                name="curate_transfer",
            )
        ],
        tags=["curate"],
    )
    train = Pipeline(
        [
            node(
                prepare_inputs,
                inputs={
                    "rijksmuseum_raw": "rijksmuseum_raw",
                    "antwerp_raw": "antwerp_raw",
                    "challenges": "transfer_challenges",
                    **_NETWORKS,
                },
                outputs="transfer_inputs",
                name="transfer_inputs",
            ),
            node(
                starting_networks,
                inputs={"mame_model": "mame_resnet18_lrfs_model", **_NETWORKS},
                outputs="transfer_theta",
                name="transfer_theta",
            ),
            node(
                theta_features,
                inputs={
                    "inputs": "transfer_inputs",
                    "theta": "transfer_theta",
                    "architectures": _ARCHITECTURES,
                    "runtime": "params:transfer.runtime",
                },
                outputs="transfer_theta_features",
                name="transfer_theta_features",
            ),
            node(
                train_first_collection,
                inputs={
                    **_TRAINING,
                    "scratch_architectures": "params:transfer.scratch_architectures",
                },
                outputs=[
                    "transfer_first_predictions",
                    "transfer_first_history",
                    "transfer_theta_hat",
                ],
                name="transfer_first_collection",
            ),
            node(
                train_second_collection,
                inputs={**_TRAINING, "theta_hat": "transfer_theta_hat"},
                outputs=["transfer_second_predictions", "transfer_second_history"],
                name="transfer_second_collection",
            ),
            node(
                transfer_results,
                inputs=[
                    "transfer_first_predictions",
                    "transfer_first_history",
                    "transfer_second_predictions",
                    "transfer_second_history",
                    "transfer_theta",
                ],
                outputs=[
                    "transfer_predictions",
                    "transfer_history",
                    "transfer_table2",
                    "transfer_table3",
                    "transfer_metrics",
                ],
                name="transfer_results",
            ),
            node(
                saliency_figure,
                inputs={
                    "inputs": "transfer_inputs",
                    "challenges": "transfer_challenges",
                    "theta": "transfer_theta",
                    "theta_hat": "transfer_theta_hat",
                    "predictions": "transfer_predictions",
                    "architectures": _ARCHITECTURES,
                    "saliency": "params:transfer.saliency",
                    "runtime": "params:transfer.runtime",
                },
                outputs="transfer_saliency",
                name="transfer_saliency",
            ),
        ],
        tags=["train"],
    )
    return curate + train
