"""What the audit-trail bundle shows besides report.json: charts and tables."""

from __future__ import annotations

from typing import Any

from tasks.audit.model import KINDS
from tasks.reports import Chart, Table, bar_chart

TOP_USERS = 50


def charts_and_tables(result: Any) -> tuple[list[Chart], list[Table]]:
    s = result.summary
    charts = [bar_chart(f"Mutating actions on {s['day']}", [(k, s["by_kind"][k]) for k in KINDS])]
    users = sorted(s["by_user"].items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:TOP_USERS]
    tables = [
        Table(
            f"Actions per user (top {TOP_USERS})",
            ["user", *KINDS, "total"],
            [[u, *(c.get(k, 0) for k in KINDS), sum(c.values())] for u, c in users],
        ),
        Table(
            "Completeness",
            ["figure", "value"],
            [[k, v] for k, v in s["completeness"].items()],
        ),
    ]
    return charts, tables
