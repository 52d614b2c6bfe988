from kedro.pipeline import Pipeline, node

from artrec.pipelines.report.nodes import assemble_report, mame_dataset_section, met_dataset_section


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                mame_dataset_section,
                inputs=["mame_table1", "mame_dataset_metrics", "mame_size_aspect_plot",
                        "mame_label_coverage", "mame_tate_coverage", "params:data"],
                outputs="report_section_mame_dataset",
                name="report_mame_dataset",
            ),
            node(
                met_dataset_section,
                inputs=["met_table1", "met_class_sizes_plot", "params:data"],
                outputs="report_section_met_dataset",
                name="report_met_dataset",
            ),
            node(
                assemble_report,
                inputs=["parameters", "report_section_mame_dataset", "report_section_met_dataset"],
                outputs=["report_html", "report_markdown"],
                name="assemble_report",
            ),
        ]
    )
