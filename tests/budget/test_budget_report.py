"""report.html content: charts and tables built from an analysis."""

from __future__ import annotations

from datetime import date, timedelta

from budget_data import config, fleet

from tasks.budget import analysis
from tasks.budget.reader import DayStatus, LoadedData
from tasks.budget.report import charts_and_tables
from tasks.common.models import Period
from tasks.common.periods import resolve_period
from tasks.reports import build_report, render_html


def test_charts_and_tables_render_into_the_report():
    start = date(2026, 11, 1)
    reqs, tasks = fleet(start, 20, seed=2)
    days = [start + timedelta(days=i) for i in range(20)]
    data = LoadedData(reqs, tasks, [DayStatus(d, "pass", True) for d in days], [])
    rules = [
        {"name": "team-month", "type": "spend", "scope": "team", "period": "month", "amount": 100}
    ]
    period = resolve_period("2026-11-19", "2026-11-21")
    a = analysis.analyze(data, period, config(rules))
    charts, tables = charts_and_tables(a, analysis.report_days(period))
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

    from budget_data import task_rows

    from tasks.budget.report import task_costs_csv

    day = date(2026, 12, 1)

    def task(tid, source):
        return {"task_id": tid, "user": "u", "team": "t", "mode": "code",
                "model": "claude-sonnet-4-5", "provider": "anthropic", "status": "completed",
                "first_day": day, "effective": 1.0, "reported": 1.0, "recomputed": 1.0,
                "compared_requests": 1, "requests": 1, "subtasks": 0, "model_source": source}  # fmt: skip

    tasks = task_rows([task("a", "inferred"), task("b", "telemetry"), task("c", None)])
    rows = list(
        csv.DictReader(
            io.StringIO(bytes(task_costs_csv(SimpleNamespace(tasks=tasks), [day])).decode())
        )
    )
    assert {r["task_id"]: r["model_source"] for r in rows} == {
        "a": "inferred", "b": "telemetry", "c": "unknown"
    }  # fmt: skip


def test_one_model_is_one_row_whatever_name_the_data_used():
    from tasks.budget.prices import canonical_model
    from tasks.budget.report import _by_canonical_model, _provider_rows

    names = ["anthropic/claude-sonnet-4.5", "claude-sonnet-4-5-20250929", "claude-sonnet-4.5"]
    assert {canonical_model(n) for n in names} == {"claude-sonnet-4-5"}
    assert canonical_model("my-private-model") == "my-private-model"
    per = _by_canonical_model({("code", names[0]): (1.0, 1), ("code", names[1]): (4.0, 3)})
    assert per == {("code", "claude-sonnet-4-5"): (3.25, 4)}
    rows = _provider_rows([
        {"provider": "anthropic", "model": names[0], "eff_count": 2, "eff_sum": 1.0,
         "rep_sum": 1.0, "rec_sum": 1.0, "unpriced_sum": 0},
        {"provider": "anthropic", "model": names[1], "eff_count": 3, "eff_sum": 2.0,
         "rep_sum": 2.0, "rec_sum": 2.5, "unpriced_sum": 1},
    ])  # fmt: skip
    assert rows == [{"provider": "anthropic", "model": "claude-sonnet-4-5", "eff_count": 5,
                     "eff_sum": 3.0, "rep_sum": 3.0, "rec_sum": 3.5, "unpriced_sum": 1}]  # fmt: skip
