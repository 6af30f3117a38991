"""What the audit-trail bundle shows besides report.json: charts, tables, the flow's answer."""

from __future__ import annotations

from typing import Any

from tasks.audit.model import KINDS
from tasks.reports import Chart, Table, bar_chart

TOP_USERS = 50
STATUS_RANK = {"pass": 0, "warn": 1, "fail": 2}


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


def combine_results(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One day: finish_job's dict as is. Several: the worst status, the last bundle,
    summed counts, and every day's result under `runs`."""
    if not results:
        return {
            "job": "audit-trail",
            "run_id": None,
            "status": "pass",
            "bundle": None,
            "counts": {},
            "runs": [],
        }
    if len(results) == 1:
        return results[0]
    counts: dict[str, int] = {}
    for r in results:
        for k, v in r["counts"].items():
            counts[k] = counts.get(k, 0) + v
    worst = max(results, key=lambda r: STATUS_RANK.get(r["status"], 2))["status"]
    last = results[-1]
    return {
        "job": last["job"],
        "run_id": last["run_id"],
        "status": worst,
        "bundle": last["bundle"],
        "counts": counts,
        "runs": results,
    }
