"""The cost-budget analysis of a loaded period (reader.LoadedData): costs recomputed and
models named (spend.prepare_fitted), drift, the task list (task_table), budgets, task
caps, anomalies and the summary. Data spilled to disk by user is analysed shard by
shard (shards.analyze_sharded), with the same result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget import anomalies, budgets, drift, task_table
from tasks.budget.config import CostBudgetConfig, SpendRule, TaskCapRule
from tasks.budget.prices import PriceTable
from tasks.budget.reader import LoadedData
from tasks.budget.spend import daily_by, prepare_fitted, task_costs
from tasks.common.models import Finding, Period, Severity
from tasks.common.periods import days_between


def report_days(period: Period) -> list[date]:
    """The period's calendar days, read as days in the budgets' time zone."""
    return days_between(period.start.date(), period.end.date())


def context_start(days: list[date], cfg: CostBudgetConfig) -> date:
    """Earliest day the analysis needs: anomaly history and each budget window's start."""
    first = min(days) - timedelta(days=cfg.budget.anomalies.history_days)
    for rule in cfg.budgets.rules:
        if isinstance(rule, SpendRule):
            first = min(first, budgets.window(min(days), rule.period, cfg.budgets.week_start)[0])
    return first


@dataclass
class Analysis:
    findings: list[Finding]
    summary: dict[str, Any]
    requests: pa.Table
    tasks: pa.Table  # one row per root task (task_table.TASK_SCHEMA)
    curves: list = field(default_factory=list)
    daily_team: dict = field(default_factory=dict)
    provider_rows: list = field(default_factory=list)


def gate_findings(data: LoadedData, days: list[date], force: bool) -> list[Finding]:
    out = []
    wanted = set(days)
    for s in data.days:
        if s.day not in wanted or s.gate in ("pass", "warn"):
            continue
        if not s.used:
            out.append(Finding.make(
                "input.quality_gate", Severity.high, "error", f"day={s.day}",
                f"refused {s.day}: telemetry-quality gate is {s.gate} (rerun it, or force=True)",
                day=s.day.isoformat(), gate=s.gate,
            ))  # fmt: skip
        else:
            out.append(Finding.make(
                "input.quality_gate_forced", Severity.low, "fail", f"day={s.day}",
                f"used {s.day} although its telemetry-quality gate is {s.gate} (force=True)",
                day=s.day.isoformat(), gate=s.gate,
            ))  # fmt: skip
    return out


def analyze(
    data: LoadedData,
    period: Period,
    cfg: CostBudgetConfig,
    prices: PriceTable | None = None,
    team: str | None = None,
    user: str | None = None,
    force: bool = False,
) -> Analysis:
    prices = prices or PriceTable([p.model_dump() for p in cfg.budget.prices], at=period.end)
    if data.shards:  # spilled to disk by load_days: analysed shard by shard (shards.py)
        from tasks.budget.shards import analyze_sharded

        return analyze_sharded(data, period, cfg, prices, team, user, force)
    tz = cfg.budgets.tz
    days = report_days(period)
    day_set = set(days)
    tol = cfg.budget.drift.match_tolerance_pct / 100
    task_tol = cfg.budget.drift.pct / 100 / 2
    req, fits = prepare_fitted(data.requests, data.tasks, prices, tz, data.profiles, tol, task_tol)
    start = context_start(days, cfg)
    keep = pc.and_(pc.greater_equal(req["day"], pa.scalar(start, pa.date32())),
                   pc.less_equal(req["day"], pa.scalar(max(days), pa.date32())))  # fmt: skip
    if team:
        keep = pc.and_(keep, pc.fill_null(pc.equal(req["team"], team), False))
    if user:
        keep = pc.and_(keep, pc.fill_null(pc.equal(req["user"], user), False))
    first_day = pc.min(req["day"]).as_py() if req.num_rows else None  # the whole fleet's
    req = req.filter(keep)
    covered = {s.day for s in data.days if s.used}
    known = anomalies.with_data({s.day for s in data.days if s.used and s.has_data}, first_day)
    findings = gate_findings(data, days, force)

    tasks = task_costs(req, data.tasks)
    in_period = req.filter(pc.is_in(req["day"], pa.array(sorted(day_set), pa.date32())))
    drift_findings, provider_rows = drift.provider_drift(in_period, cfg.budget.drift)
    findings += drift_findings + drift.task_drift(tasks, day_set, cfg.budget.drift, req)
    findings += drift.fit_drift(req, day_set, cfg.budget.drift, fits)

    daily: dict[str, dict] = {}

    def daily_of(scope: str) -> dict:
        if scope not in daily:
            daily[scope] = daily_by(req, scope)
        return daily[scope]

    rule_findings, curves = evaluate_rules(cfg, daily_of, tasks, days, covered, known)
    findings += rule_findings
    summary = _summary(in_period, tasks, day_set, data, prices, cfg, force)
    summary["models"] = _models_summary(req, fits)
    summary["anomaly_history"] = anomaly_history(first_day, known, days, cfg)
    return Analysis(findings, summary, req, tasks, curves, daily_of("team"), provider_rows)


def evaluate_rules(
    cfg: Any,
    daily_of: Callable[[str], dict],
    tasks: pa.Table,
    days: list[date],
    covered: set[date],
    known: set[date],
) -> tuple[list[Finding], list]:
    """The budget rules (spend per scope, task caps) and the anomaly detectors over the
    daily sums by scope — one evaluation for the in-memory and the sharded analysis."""
    findings: list[Finding] = []
    curves: list = []
    day_set = set(days)
    for rule in cfg.budgets.rules:
        if isinstance(rule, SpendRule):
            f, c = budgets.evaluate_spend(
                rule, daily_of(rule.scope), days, covered, cfg.budgets.week_start,
                cfg.budget.ewma_alpha, cfg.budget.forecast_method,
            )  # fmt: skip
            findings += f
            curves += c
        elif isinstance(rule, TaskCapRule):
            findings += budgets.evaluate_task_caps(rule, tasks, day_set)
    for scope in cfg.budget.anomalies.scopes:
        for value, series in sorted(daily_of(scope).items()):
            findings += anomalies.detect(scope, value, series, days, known, cfg.budget.anomalies)
    return findings, curves


def anomaly_history(
    first_day: date | None, known: set[date], days: list[date], cfg: Any
) -> dict[str, Any]:
    return {
        "first_day_with_data": first_day.isoformat() if first_day else None,
        "days_with_data": len(known),
        # report days a detector could not judge: missing history is unknown, not $0
        "no_verdict": anomalies.no_verdict(days, known, cfg.budget.anomalies),
    }


def _models_summary(req: pa.Table, fits: list) -> dict[str, Any]:
    """How models were named (requests per source) and every fitted group."""
    counts: dict[str, int] = {}
    if req.num_rows:
        for s in pc.fill_null(req["model_source"], "unknown").to_pylist():
            counts[s] = counts.get(s, 0) + 1
    return {"requests_by_source": counts, "fitted_groups": [f.details() for f in fits]}


def _sum(t: pa.Table, col: str) -> float:
    return float(pc.sum(t[col]).as_py() or 0.0) if t.num_rows else 0.0


def _summary(req: pa.Table, tasks: pa.Table, day_set: set, data: LoadedData, prices: PriceTable,
             cfg: CostBudgetConfig, force: bool) -> dict[str, Any]:  # fmt: skip
    by_team: dict[str, float] = {}
    for v, series in daily_by(req, "team").items():
        by_team[v] = round(sum(series.values()), 2)
    sums = {"eff": _sum(req, "effective_cost"), "cost": _sum(req, "cost"),
            "rec": _sum(req, "recomputed_cost"), "requests": req.num_rows,
            "unpriced": int(pc.sum(pc.invert(req["priced"]).cast(pa.int64())).as_py() or 0)
            if req.num_rows else 0}  # fmt: skip
    return summary_of(sums, by_team, tasks, day_set, data, prices, cfg, force)


def summary_of(sums: dict, by_team: dict[str, float], tasks: pa.Table, day_set: set,
               data: LoadedData, prices: Any, cfg: Any, force: bool) -> dict[str, Any]:  # fmt: skip
    """The run's summary from its figures: one dictionary for the in-memory analysis and
    the sharded one (shards.py merges the same figures)."""
    period_tasks = task_table.in_days(tasks, day_set)
    return {
        "price_table_version": prices.version,
        "price_overrides": len(cfg.budget.prices),
        "timezone": cfg.budgets.timezone,
        "forced": force,
        "total_spend_usd": round(sums["eff"], 2),
        "reported_cost_usd": round(sums["cost"], 2),
        "recomputed_cost_usd": round(sums["rec"], 2),
        "api_requests": sums["requests"],
        "unpriced_requests": sums["unpriced"],
        "root_tasks": task_table.count(period_tasks),
        "completed_tasks": task_table.count(period_tasks, "completed"),
        "spend_by_team_usd": dict(sorted(by_team.items(), key=lambda kv: -kv[1])),
        "rules": [r.name for r in cfg.budgets.rules],
        "days_used": sum(1 for s in data.days if s.used),
        "first_day_used": min((s.day.isoformat() for s in data.days if s.used), default=None),
        "days_refused": sorted(f"{s.day}: {s.reason}" for s in data.days if not s.used and s.day in day_set),
        "inputs_read": len(data.inputs),
    }  # fmt: skip
