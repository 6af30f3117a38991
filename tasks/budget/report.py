"""Charts and tables for report.html (tasks.reports primitives)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from tasks.budget import task_table
from tasks.budget.analysis import Analysis
from tasks.budget.prices import canonical_model
from tasks.common.csvsafe import SafeWriter
from tasks.common.storage import SpooledFile
from tasks.reports import Chart, Table, bar_chart, line_chart

MAX_TEAM_CHARTS = 6
TOP_TASKS = 20


def charts_and_tables(a: Analysis, report_days: list[date]) -> tuple[list[Chart], list[Table]]:
    charts: list[Chart] = []
    tables: list[Table] = []
    # Daily spend per team (all teams, one line each).
    series = {
        team: [(d.isoformat(), round(v, 2)) for d, v in sorted(s.items())]
        for team, s in a.daily_team.items()
    }
    charts.append(line_chart("Daily spend per team (USD)", series, y_label="USD/day"))
    # Each team's period-to-date spend against its budget line, with the forecast.
    team_curves = [c for c in a.curves if c.scope == "team"]
    team_curves.sort(key=lambda c: -(c.cumulative[-1][1] if c.cumulative else 0))
    for c in team_curves[:MAX_TEAM_CHARTS]:
        s = {"spend to date": c.cumulative}
        if c.forecast:
            s["forecast to period end"] = c.forecast
        charts.append(line_chart(
            f"Team {c.value}: {c.rule} ({c.start} to {c.end}) against ${c.amount:,.0f}",
            s, y_label="USD", threshold=c.amount,
        ))  # fmt: skip
    period = task_table.in_days(a.tasks, set(report_days))
    top = [SimpleNamespace(**r) for r in task_table.rows(task_table.top(period, TOP_TASKS))]
    charts.append(
        bar_chart(
            "Top tasks by cost (subtasks included)",
            [(t.task_id, t.effective) for t in top],
            "$",
        )
    )
    per = _by_canonical_model(task_table.cost_per_completed(period))
    charts.append(bar_chart(
        "Cost per completed task by mode and model",
        [(f"{mode} / {model}", cost) for (mode, model), (cost, _) in per.items()], "$",
    ))  # fmt: skip
    tables.append(Table(
        "Top tasks by cost",
        ["task", "user", "team", "mode", "model", "cost $", "reported $", "recomputed $", "subtasks"],
        [[t.task_id, t.user, t.team, t.mode, _model(t), round(t.effective, 4), round(t.reported, 4),
          round(t.recomputed, 4), t.subtasks] for t in top],
    ))  # fmt: skip
    tables.append(Table(
        "Cost per completed task",
        ["mode", "model", "completed tasks", "mean cost $"],
        [[m, mo, n, round(c, 4)] for (m, mo), (c, n) in sorted(per.items())],
    ))  # fmt: skip
    tables.append(Table(
        "Reported vs recomputed cost by provider and model",
        ["provider", "model", "requests", "spend $", "reported $", "recomputed $", "unpriced"],
        [[r["provider"], r["model"], r["eff_count"], round(r["eff_sum"], 2), round(r["rep_sum"], 2),
          round(r["rec_sum"], 2), r["unpriced_sum"]] for r in _provider_rows(a.provider_rows)],
    ))  # fmt: skip
    return charts, tables


def task_costs_csv(a: Analysis, report_days: list[date]) -> SpooledFile:
    """Every root task of the period: reported vs recomputed cost (subtasks rolled up), and
    how its model was named (`model_source`: telemetry, settings, inferred or unknown).
    Written to a spooled file a batch of rows at a time (2.5 M tasks make ≈ 300 MB of
    CSV): the bundle writer streams it, so it is never held whole."""
    import io

    spooled, raw = SpooledFile.create(suffix=".csv")
    with io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        w = SafeWriter(text, lineterminator="\n")
        w.writerow(["task_id", "user", "team", "mode", "model", "provider", "status",
                    "first_day", "cost_usd", "reported_usd", "recomputed_usd",
                    "compared_requests", "requests", "subtasks", "model_source"])  # fmt: skip
        period = task_table.top(task_table.in_days(a.tasks, set(report_days)), by_id=True)
        for t in task_table.rows(period):  # a batch of rows at a time
            w.writerow([t["task_id"], t["user"], t["team"], t["mode"], t["model"],
                        t["provider"], t["status"], t["first_day"], f"{t['effective']:.6f}",
                        f"{t['reported']:.6f}", f"{t['recomputed']:.6f}",
                        t["compared_requests"], t["requests"], t["subtasks"],
                        t["model_source"] or "unknown"])  # fmt: skip
    return spooled


def _model(t) -> str | None:
    """The model as shown (one name per model): an inferred one says so."""
    name = canonical_model(t.model)
    if name and t.model_source in ("inferred", "settings"):
        return f"{name} ({t.model_source})"
    return name


def _by_canonical_model(
    per: dict[tuple[str, str], tuple[float, int]],
) -> dict[tuple[str, str], tuple[float, int]]:
    """(mode, model) -> (mean, n) with one row per model whatever name the data used."""
    acc: dict[tuple[str, str], tuple[float, int]] = {}
    for (mode, model), (mean, n) in per.items():
        key = (mode, canonical_model(model) or model)
        total, count = acc.get(key, (0.0, 0))
        acc[key] = (total + mean * n, count + n)
    return {k: (total / n, n) for k, (total, n) in acc.items()}


def _provider_rows(rows: list[dict]) -> list[dict]:
    """The provider table with one row per (provider, model), biggest spend first."""
    merged: dict[tuple[str, str], dict] = {}
    for r in rows:
        key = (r["provider"], canonical_model(r["model"]) or r["model"])
        m = merged.setdefault(key, {"provider": key[0], "model": key[1]})
        for k in ("eff_count", "eff_sum", "rep_sum", "rec_sum", "unpriced_sum"):
            m[k] = m.get(k, 0) + r.get(k, 0)
    return sorted(merged.values(), key=lambda r: -r["eff_sum"])
