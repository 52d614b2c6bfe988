"""The report's assembly node: provenance first, then every study's sections, as HTML and Markdown.

Sections are built by the ``sections_*`` modules beside this one (one per study), so each study
adds its tables and figures without touching the others.
"""

from __future__ import annotations

from typing import Any

from artrec.reporting.document import Section, render_html, render_markdown
from artrec.reporting.provenance import git_revision, latest_mlflow_runs, provenance_table


def assemble_report(params: dict[str, Any], *sections: Section) -> tuple[str, str]:
    report = params["report"]
    runs = latest_mlflow_runs(_tracking_uri(), report["mlflow_experiment"])
    sources = {
        name: spec["source"] for name, spec in params["data"].items() if isinstance(spec, dict)
    }
    head = Section("Provenance").table(
        "Run", provenance_table(params["profile"], sources, git_revision())
    )
    head.table("MLflow runs behind this report (newest per pipeline)", runs)
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
