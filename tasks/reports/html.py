"""report.html: one self-contained page a manager and an auditor can read offline.

Laid out after Prowler's HTML report and AWS Security Hub: the status and one sentence
saying why; severity counts; a human summary; open findings with remediation, control
mappings, owner and first seen; passed and not-evaluated checks listed apart; charts and
tables; and a footer that lets anyone verify the page with openssl and the key's
fingerprint, without this project's documentation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from tasks.reports.catalog import check_info
from tasks.reports.charts import Chart
from tasks.reports.headline import SEVERITIES, headline, sort_findings
from tasks.reports.summary import fmt, label, summary_blocks

MAX_TABLE_ROWS = 100
MAX_FINDINGS = 150
OWNER_KEYS = ("owner", "reviewer", "person", "manager", "user", "team")
SEEN_KEYS = ("first_seen", "first_ts", "window_start", "day")


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    total: int | None = None  # rows before the caller cut them, if it did
    csv: str | None = None  # the bundle file with every row


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_env.filters["fmt"] = fmt
_template = _env.from_string((Path(__file__).with_name("report.html.j2")).read_text())


def _owner(f: dict[str, Any]) -> str:
    d = f.get("details", {})
    parts = [f"{k}: {d[k]}" for k in OWNER_KEYS if isinstance(d.get(k), str) and d[k]]
    return ", ".join(parts[:3])


def _first_seen(f: dict[str, Any]) -> str:
    d = f.get("details", {})
    for k in SEEN_KEYS:
        if d.get(k):
            # to the second: a reader never needs the microseconds an event carried
            seen = re.sub(r"(\d\d:\d\d:\d\d)\.\d+", r"\1", str(d[k]))
            return seen.replace("T", " ").replace("+00:00", "Z")
    return "new since the last review" if d.get("new_since_last_review") else ""


def _card(f: dict[str, Any]) -> dict[str, Any]:
    info = check_info(f["check"])
    return {
        **f,
        "title": info.title,
        "remediation": info.remediation,
        "mappings": info.mappings(),
        "owner": _owner(f),
        "first_seen": _first_seen(f),
        "reason": f.get("details", {}).get("reason") or f.get("details", {}).get("mute_reason"),
    }


def _by_check(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for f in findings:
        row = rows.setdefault(f["check"], {**_card(f), "resources": 0, "messages": []})
        row["resources"] += 1
        if f["message"] not in row["messages"]:
            row["messages"].append(f["message"])
    return list(rows.values())


def _table_view(t: Table) -> dict[str, Any]:
    total = t.total if t.total is not None else len(t.rows)
    rows = [[fmt(c, str(col)) for c, col in zip(r, t.columns, strict=False)] for r in t.rows[:MAX_TABLE_ROWS]]  # fmt: skip
    note = ""
    if total > len(rows):
        where = f"; every row is in {t.csv}" if t.csv else "; every row is in report.json"
        note = f"Showing the first {len(rows):,} of {total:,} rows{where}."
    return {"title": t.title, "columns": t.columns, "rows": rows, "note": note}


def render_html(
    report: dict[str, Any],
    charts: Sequence[Chart] = (),
    tables: Sequence[Table] = (),
    key_fingerprint: str | None = None,
) -> bytes:
    s = sort_findings(report["job"], report.get("findings", []))
    counts = {sev: sum(1 for f in s.open if f["severity"] == sev) for sev in SEVERITIES}
    html = _template.render(
        report=report,
        headline=headline(report, s),
        counts=counts,
        blocks=summary_blocks(report.get("summary", {})),
        open=[_card(f) for f in s.open[:MAX_FINDINGS]],
        open_total=len(s.open),
        max_findings=MAX_FINDINGS,
        muted=[_card(f) for f in s.muted],
        not_evaluated=[_card(f) for f in s.not_evaluated],
        passed=_by_check(s.passed),
        quiet=[check_info(c) for c in s.quiet],
        charts=[Chart(c.title, Markup(c.svg)) for c in charts],  # our own SVG, values escaped
        tables=[_table_view(t) for t in tables],
        fingerprint=key_fingerprint,
        label=label,
        period=_period(report["period"]),
    )
    return html.encode()


def _period(p: dict[str, str]) -> str:
    start, end = (p[k].replace("T00:00:00Z", "").replace("T", " ") for k in ("start", "end"))
    return f"{start} → {end} (UTC, end excluded)"
