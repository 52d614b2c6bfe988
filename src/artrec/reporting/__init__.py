"""The report: sections of tables and figures, rendered as HTML and as Markdown."""
