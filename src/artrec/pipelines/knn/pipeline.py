from kedro.pipeline import Pipeline, node

from artrec.pipelines.knn.nodes import met_examples_figure, met_studies, met_table4


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                met_table4,
                inputs=[
                    "met_descriptors_ss",
                    "met_descriptors_ms",
                    "met_pcaw_ss",
                    "met_pcaw_ms",
                    "met_raw",
                    "params:knn.met",
                    "params:seed",
                ],
                outputs=["met_table4", "met_knn_grid", "met_test_predictions", "met_knn_metrics"],
                name="met_table4",
                tags=["met"],
            ),
            node(
                met_studies,
                inputs=[
                    "met_descriptors_ms",
                    "met_pcaw_ms",
                    "met_test_predictions",
                    "met_raw",
                    "params:knn.met",
                    "params:seed",
                ],
                outputs=[
                    "met_table_b1",
                    "met_pcaw_dims",
                    "met_pcaw_dims_plot",
                    "met_accuracy_by_class_size",
                    "met_accuracy_by_class_size_plot",
                    "met_mini_metrics",
                ],
                name="met_studies",
                tags=["met"],
            ),
            node(
                met_examples_figure,
                inputs=["met_test_predictions", "met_raw", "params:knn.met.examples_per_row"],
                outputs="met_examples_plot",
                name="met_examples_figure",
                tags=["met"],
            ),
        ]
    )
