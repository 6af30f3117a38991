"""report.html content: charts and tables built from an analysis."""

from __future__ import annotations

from datetime import date, timedelta

from budget_data import config, fleet

from tasks.budget import job
from tasks.budget.reader import DayStatus, LoadedData
from tasks.budget.report import charts_and_tables
from tasks.common.models import Period
from tasks.reports import build_report, render_html


def test_charts_and_tables_render_into_the_report():
    start = date(2026, 11, 1)
    reqs, tasks = fleet(start, 20, seed=2)
    days = [start + timedelta(days=i) for i in range(20)]
    data = LoadedData(reqs, tasks, [DayStatus(d, "pass", True) for d in days], [])
    rules = [
        {"name": "team-month", "type": "spend", "scope": "team", "period": "month", "amount": 100}
    ]
    period = job.resolve_period("2026-11-19", "2026-11-21")
    a = job.analyze(data, period, config(rules))
    charts, tables = charts_and_tables(a, job.report_days(period))
    titles = [c.title for c in charts]
    assert titles[0] == "Daily spend per team (USD)"
    assert sum(t.startswith("Team ") and "against $100" in t for t in titles) == 3  # one per team
    assert "Top tasks by cost (subtasks included)" in titles
    assert "Cost per completed task by mode and model" in titles
    assert all("<svg" in c.svg for c in charts)
    top = next(t for t in tables if t.title == "Top tasks by cost")
    costs = [row[5] for row in top.rows]
    assert costs == sorted(costs, reverse=True) and len(costs) <= 20
    report = build_report("cost-budget", "r1", Period(start=period.start, end=period.end),
                          period.end, "warn", a.summary, a.findings)  # fmt: skip
    html = render_html(report, charts, tables).decode()
    assert "Price table version" in html and "genai-prices 0.2.3" in html


def test_task_costs_csv_says_how_each_model_was_named():
    import csv
    import io
    from datetime import date
    from types import SimpleNamespace

    from tasks.budget.report import task_costs_csv
    from tasks.budget.spend import TaskCost

    day = date(2026, 12, 1)

    def task(tid, source):
        return TaskCost(tid, "u", "t", "code", "claude-sonnet-4-5", "anthropic", "completed",
                        day, 1.0, 1.0, 1.0, 1, 1, model_source=source)  # fmt: skip

    tasks = {t.task_id: t for t in (task("a", "inferred"), task("b", "telemetry"), task("c", None))}
    rows = list(
        csv.DictReader(io.StringIO(task_costs_csv(SimpleNamespace(tasks=tasks), [day]).decode()))
    )
    assert {r["task_id"]: r["model_source"] for r in rows} == {
        "a": "inferred", "b": "telemetry", "c": "unknown"
    }  # fmt: skip
