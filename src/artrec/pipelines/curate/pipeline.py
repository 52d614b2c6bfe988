from kedro.pipeline import Pipeline, node

from artrec.pipelines.curate.nodes import curate_mame, curate_met, curate_tate, mame_statistics


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                curate_mame,
                inputs=["mame_raw", "params:curate.mame", "params:seed"],
                outputs=["mame_dataset", "mame_labels", "mame_dropped", "mame_label_coverage"],
                name="curate_mame",
                tags=["mame"],
            ),
            node(
                mame_statistics,
                inputs=["mame_dataset", "mame_labels", "params:curate.mame"],
                outputs=[
                    "mame_table1",
                    "mame_dataset_metrics",
                    "mame_size_aspect_plot",
                    "mame_tate_coverage",
                ],
                name="mame_statistics",
                tags=["mame"],
            ),
            node(
                curate_met,
                inputs="met_raw",
                outputs=[
                    "met_table1",
                    "met_class_sizes",
                    "met_class_sizes_plot",
                    "met_dataset_metrics",
                ],
                name="curate_met",
                tags=["met"],
            ),
            node(
                curate_tate,
                inputs=["tate_raw", "params:curate.tate", "params:seed"],
                outputs=["tate_dataset", "tate_classes", "tate_dropped", "tate_dataset_metrics"],
                name="curate_tate",
                tags=["tate"],
            ),
        ]
    )
