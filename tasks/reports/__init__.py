"""Rendering of job results: report.json (the spec's common shape), findings.csv, report.html."""

from tasks.reports.charts import Chart, bar_chart, line_chart
from tasks.reports.html import Table, render_html
from tasks.reports.report import build_report, findings_csv_bytes, report_json_bytes

__all__ = [
    "Chart",
    "Table",
    "bar_chart",
    "build_report",
    "findings_csv_bytes",
    "line_chart",
    "render_html",
    "report_json_bytes",
]
