"""Report: collect every table and figure into data/08_reporting/report.html and report.md."""
