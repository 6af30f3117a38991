"""What the bundle carries beyond report.json: charts, tables, quarantine.csv, raw GX results."""

from __future__ import annotations

import io
from typing import Any

import orjson

from tasks.common.csvsafe import SafeWriter
from tasks.quality.assess import Assessment
from tasks.quality.parameters import TABLES
from tasks.reports import Chart, Table, bar_chart, line_chart

QUARANTINE_COLUMNS = ["table", "stage", "source", "position", "reason", "reasons", "detail", "day"]


def gx_json(raw: dict[str, Any]) -> bytes:
    """GX's validation result as GX serialised it (row values already stripped, see gx_runner)."""
    return orjson.dumps(raw, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY, default=str)


def quarantine_csv(a: Assessment) -> bytes:
    buf = io.StringIO()
    writer = SafeWriter(buf, lineterminator="\n")
    writer.writerow(QUARANTINE_COLUMNS)
    for row in a.parse_quarantine + [r for n in TABLES for r in a.splits[n].quarantine]:
        values = {**row, "reasons": ";".join(str(x) for x in row.get("reasons") or [])}
        writer.writerow(
            ["" if values.get(c) is None else values.get(c) for c in QUARANTINE_COLUMNS]
        )
    return buf.getvalue().encode()


def extra_files(a: Assessment) -> dict[str, bytes]:
    files = {"quarantine.csv": quarantine_csv(a)}
    for name, outcome in a.outcomes.items():
        files[f"gx-validation-{name}.json"] = gx_json(outcome.raw)
    return files


def failed_expectation_rows(a: Assessment) -> list[dict[str, Any]]:
    """One row per failed expectation (also the flow's own Prefect table artifact)."""
    rows = []
    for table, outcome in a.outcomes.items():
        for o in outcome.failed:
            rows.append(
                {
                    "table": table,
                    "expectation": o.spec.name,
                    "type": o.spec.type,
                    "severity": o.spec.severity,
                    "unexpected": o.unexpected_count if o.unexpected_count is not None else "",
                    "percent": round(o.unexpected_percent, 2) if o.unexpected_percent else "",
                    "observed": ""
                    if o.unexpected_count is not None
                    else str(o.observed_value)[:120],
                    "error": (o.raised or "")[:120],
                }
            )
    return rows


def _series(history: dict[str, Any], a: Assessment, keys: tuple[str, ...]):
    days = dict(history.get("days", {}))
    for m in a.metrics.get("by_day", []):
        days[m["day"]] = {**days.get(m["day"], {}), **m}
    return {
        k: [(d, float(v[k])) for d, v in sorted(days.items()) if v.get(k) is not None] for k in keys
    }


def charts_and_tables(a: Assessment, history: dict[str, Any]) -> tuple[list[Chart], list[Table]]:
    charts = [
        line_chart(
            "Task success, tool/command error and rollback rates by day",
            _series(history, a, ("success_rate", "error_rate", "rollback_rate")),
            y_label="rate",
        ),
        line_chart(
            "Cost per completed task by day (USD)", _series(history, a, ("cost_per_completed",))
        ),
        bar_chart(
            "Quarantined records by reason",
            sorted(((k, float(v)) for k, v in a.quarantine_by_reason.items()), key=lambda x: -x[1]),
        ),
        bar_chart(
            "Task success rate by team",
            [(r["team"], float(r["success_rate"] or 0)) for r in a.metrics.get("by_team", [])],
        ),
    ]
    failed = failed_expectation_rows(a)
    tables = [
        Table(
            "Failed expectations",
            list(failed[0].keys()) if failed else ["expectation"],
            [list(r.values()) for r in failed],
        ),
        Table(
            "Quarantine counts by reason",
            ["reason", "records"],
            [[k, v] for k, v in sorted(a.quarantine_by_reason.items(), key=lambda kv: -kv[1])],
        ),
        Table(
            "Alert signals",
            ["signal", "user", "team", "day", "value", "baseline", "threshold", "why"],
            [
                [s.kind, s.user, s.team, s.day, s.value, s.baseline, s.threshold, s.why]
                for s in a.signals
            ],
        ),
    ]
    cols = ["tasks", "success_rate", "rollback_rate", "error_rate", "median_cycle_s"]
    cols += ["cost_per_completed"]
    for group in ("team", "mode", "provider", "model"):
        rows = a.metrics.get(f"by_{group}", [])
        tables.append(
            Table(
                f"Fleet health by {group}",
                [group, *cols],
                [[r[group], *[r[c] for c in cols]] for r in rows],
            )
        )
    return charts, tables
