"""report.html: one self-contained page an auditor can read offline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from tasks.reports.charts import Chart


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ report.job }} {{ report.run_id }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#111}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f4f6} .status-pass{color:#16a34a} .status-warn{color:#d97706} .status-fail{color:#dc2626}
.sev-critical{background:#fee2e2} .sev-high{background:#ffedd5} .muted{opacity:.55} code{font-size:.9em}
</style></head><body>
<h1>{{ report.job }} — <span class="status-{{ report.status }}">{{ report.status | upper }}</span></h1>
<p>Run <code>{{ report.run_id }}</code> · period {{ report.period.start }} → {{ report.period.end }} · generated {{ report.generated_at }}</p>
<h2>Summary</h2>
<table>{% for k, v in summary_rows %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
{% for chart in charts %}<h2>{{ chart.title }}</h2>{{ chart.svg }}{% endfor %}
{% for t in tables %}<h2>{{ t.title }}</h2>
<table><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in t.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</table>
{% endfor %}
<h2>Findings ({{ failing | length }} open{% if passed %}, {{ passed }} passed{% endif %})</h2>
{% if failing %}<table><tr><th>severity</th><th>status</th><th>check</th><th>resource</th><th>message</th></tr>
{% for f in failing %}<tr class="sev-{{ f.severity }}{% if f.details.muted %} muted{% endif %}"><td>{{ f.severity }}</td><td>{{ f.status }}{% if f.details.muted %} (muted){% endif %}</td><td><code>{{ f.check }}</code></td><td>{{ f.resource }}</td><td>{{ f.message }}</td></tr>{% endfor %}
</table>{% else %}<p>No open findings.</p>{% endif %}
<p style="margin-top:2em;font-size:.8em;color:#555">Verify this report with the bundle's attestation.dsse.json (see the project README, "Verify a bundle by hand").</p>
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_template = _env.from_string(_TEMPLATE)


def _flatten(summary: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and len(value) <= 12:
            rows.extend(_flatten(value, f"{name}."))
        elif isinstance(value, (dict, list)) and len(str(value)) > 300:
            rows.append((name, f"{type(value).__name__} of {len(value)} entries (see report.json)"))
        else:
            rows.append((name, value))
    return rows


def render_html(
    report: dict[str, Any], charts: Sequence[Chart] = (), tables: Sequence[Table] = ()
) -> bytes:
    findings = report.get("findings", [])
    failing = [f for f in findings if f["status"] != "pass"]
    html = _template.render(
        report=report,
        summary_rows=_flatten(report.get("summary", {})),
        charts=[Chart(c.title, Markup(c.svg)) for c in charts],  # our own SVG, values escaped
        tables=list(tables),
        failing=failing,
        passed=len(findings) - len(failing),
    )
    return html.encode()
