from kedro.pipeline import Pipeline, node

from artrec.pipelines.report import (
    sections_claims,
    sections_datasets,
    sections_mame,
    sections_met,
    sections_met_training,
    sections_tate,
    sections_transfer,
)
from artrec.pipelines.report.nodes import assemble_report

# One module per study; each returns the nodes building its report sections. The claims table
# comes first: it is the run's verdict on each paper's findings.
SECTION_MODULES = (
    sections_claims,
    sections_datasets,
    sections_mame,
    sections_met,
    sections_met_training,
    sections_tate,
    sections_transfer,
)


def create_pipeline(**kwargs) -> Pipeline:
    section_nodes = [n for module in SECTION_MODULES for n in module.section_nodes()]
    sections = [o for n in section_nodes for o in n.outputs if o.startswith("report_section_")]
    return Pipeline(
        [
            *section_nodes,
            node(
                assemble_report,
                inputs=["parameters", "provenance_records", *sections],
                outputs=["report_html", "report_markdown"],
                name="assemble_report",
            ),
        ]
    )
