from kedro.pipeline import Pipeline, node

from artrec.pipelines.evaluate.nodes import compare_variants, lrp_figure

VARIANTS = ("vgg11_lrfs", "vgg11_hrvs", "resnet18_lrfs", "resnet18_hrvs")
BUCKETED = "resnet18_hrvs_bucketed"  # the bucketing study (train/pipeline.py BUCKETING_STUDY)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                compare_variants,
                inputs=[f"mame_{v}_metrics" for v in (*VARIANTS, BUCKETED)]
                + [f"mame_{v}_history" for v in (*VARIANTS, BUCKETED)],
                outputs=[
                    "mame_table3",
                    "mame_table4",
                    "mame_bucketing",
                    "mame_figure5",
                    "mame_comparison_metrics",
                ],
                name="compare_mame_variants",
                tags=["mame"],
            ),
            node(
                lrp_figure,
                inputs=[
                    "mame_vgg11_lrfs_model",
                    "mame_vgg11_hrvs_model",
                    "mame_lrfs_images",
                    "mame_hrvs_images",
                    "mame_dataset",
                    "mame_labels",
                    "params:explain.mame",
                ],
                outputs="mame_lrp",
                name="explain_mame_vgg11",
                tags=["mame"],
            ),
        ]
    )
