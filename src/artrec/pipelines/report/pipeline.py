from kedro.pipeline import Pipeline, node

from artrec.pipelines.report import sections_datasets, sections_mame, sections_met
from artrec.pipelines.report.nodes import assemble_report

# One module per study; each returns the nodes building its report sections.
SECTION_MODULES = (sections_datasets, sections_mame, sections_met)


def create_pipeline(**kwargs) -> Pipeline:
    section_nodes = [n for module in SECTION_MODULES for n in module.section_nodes()]
    sections = [output for n in section_nodes for output in n.outputs]
    return Pipeline(
        [
            *section_nodes,
            node(
                assemble_report,
                inputs=["parameters", *sections],
                outputs=["report_html", "report_markdown"],
                name="assemble_report",
            ),
        ]
    )
