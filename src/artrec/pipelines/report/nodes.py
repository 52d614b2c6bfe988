"""The report's assembly node: provenance first, then every study's sections, as HTML and Markdown.

Sections are built by the ``sections_*`` modules beside this one (one per study), so each study
adds its tables and figures without touching the others.
"""

from __future__ import annotations

from typing import Any

from artrec.reporting.document import Section, render_html, render_markdown
from artrec.reporting.provenance import (
    git_revision,
    mlflow_run_status,
    producers_table,
    provenance_table,
)


def assemble_report(
    params: dict[str, Any], provenance_records: list[dict[str, Any]], *sections: Section
) -> tuple[str, str]:
    """The report, opened by the claims, then provenance: this run (commit, profile, data
    sources) and, from the stages' provenance records, the runs that produced its inputs."""
    report = params["report"]
    sources = {
        name: spec["source"] for name, spec in params["data"].items() if isinstance(spec, dict)
    }
    head = Section("Provenance").table(
        "Run", provenance_table(params["profile"], sources, git_revision())
    )
    run_ids = [
        run["mlflow_run_id"]
        for record in provenance_records
        for run in record["runs"]
        if run.get("mlflow_run_id")
    ]
    head.table(
        "Runs that produced the outputs in this report",
        producers_table(provenance_records, mlflow_run_status(run_ids, _tracking_uri())),
        note="From each stage's record in data/09_provenance (a DVC output of the stage, kept "
        "and restored with its outputs): the MLflow run and the commit each output came from; "
        "+dirty: the work tree had uncommitted changes.",
    )
    # The claims table opens the report: it is the run's verdict on each paper's findings.
    claims = [section for section in sections if section.title.startswith("Claims")]
    others = [section for section in sections if not section.title.startswith("Claims")]
    all_sections = [*claims, head, *others]
    return render_html(report["title"], all_sections), render_markdown(
        report["title"], all_sections
    )


def _tracking_uri() -> str:
    import mlflow  # kedro-mlflow has set the tracking URI of this run

    return mlflow.get_tracking_uri()
