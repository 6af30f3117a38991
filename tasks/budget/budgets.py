"""Budget rules: spend per scope and period (with forecasts), and per-task caps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget import task_table
from tasks.budget.config import SpendRule, TaskCapRule
from tasks.budget.reader import plain
from tasks.common.models import Finding, FindingStatus, Severity


def window(day: date, period: str, week_start: str = "monday") -> tuple[date, date]:
    """The budget period [start, end) containing `day` (local calendar days)."""
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        offset = day.weekday() if week_start == "monday" else (day.weekday() + 1) % 7
        start = day - timedelta(days=offset)
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return start, nxt


def linear_forecast(actual: float, elapsed: int, total: int) -> float:
    return actual / elapsed * total if elapsed else actual


def ewma_forecast(daily: list[float], actual: float, remaining: int, alpha: float) -> float:
    """Period-to-date spend plus the EWMA level of daily spend for each remaining day."""
    if not daily:
        return actual
    level = daily[0]
    for x in daily[1:]:
        level = alpha * x + (1 - alpha) * level
    return actual + level * remaining


@dataclass
class BudgetCurve:
    """For charts: cumulative spend of one scope value in one window, and its forecast."""

    rule: str
    scope: str
    value: str
    start: date
    end: date
    amount: float
    cumulative: list[tuple[str, float]] = field(default_factory=list)
    forecast: list[tuple[str, float]] = field(default_factory=list)


def _finding(check: str, sev: Severity | str, status: str, resource: str, msg: str, **d) -> Finding:
    return Finding.make(check, sev, status, resource, msg, **d)


def evaluate_spend(
    rule: SpendRule,
    daily: dict[str, dict[date, float]],
    report_days: list[date],
    covered: set[date],
    week_start: str = "monday",
    alpha: float = 0.3,
    forecast_method: str = "both",
) -> tuple[list[Finding], list[BudgetCurve]]:
    findings: list[Finding] = []
    curves: list[BudgetCurve] = []
    if not report_days:
        return findings, curves
    last_report = max(report_days)
    windows = sorted({window(d, rule.period, week_start) for d in report_days})
    values = [rule.match] if rule.match else (["org"] if rule.scope == "org" else sorted(daily))
    fail_at = rule.threshold.fail.resolve(rule.amount) if rule.threshold.fail else None
    warn_at = rule.threshold.warn.resolve(rule.amount) if rule.threshold.warn else None
    for ws, we in windows:
        last = min(we - timedelta(days=1), last_report)
        days = [ws + timedelta(days=i) for i in range((last - ws).days + 1)]
        missing = [d.isoformat() for d in days if d not in covered]
        total_days, elapsed = (we - ws).days, len(days)
        for value in values:
            series = daily.get(value, {})
            spend = [series.get(d, 0.0) for d in days]
            actual = sum(spend)
            resource = f"{rule.name}:{rule.scope}={value}:{ws.isoformat()}"
            base = {
                "rule": rule.name, "scope": rule.scope, "value": value, "period": rule.period,
                "window_start": ws.isoformat(), "window_end": we.isoformat(),
                "actual_usd": round(actual, 4), "budget_usd": rule.amount,
                "warn_usd": warn_at, "fail_usd": fail_at, "days_elapsed": elapsed,
                "days_total": total_days, "missing_days": missing,
            }  # fmt: skip
            pct = actual / rule.amount * 100
            if fail_at is not None and actual >= fail_at:
                findings.append(_finding("budget.spend", rule.severity, "fail", resource,
                    f"{rule.scope} {value} spent ${actual:,.2f} of a ${rule.amount:,.2f} {rule.period} budget ({pct:.0f}%)",
                    level="fail", **base))  # fmt: skip
            elif warn_at is not None and actual >= warn_at:
                findings.append(_finding("budget.spend", Severity.medium, "fail", resource,
                    f"{rule.scope} {value} reached the warning level: ${actual:,.2f} of ${rule.amount:,.2f} ({pct:.0f}%)",
                    level="warn", **base))  # fmt: skip
            else:
                findings.append(_finding("budget.spend", Severity.info, "pass", resource,
                    f"{rule.scope} {value} within budget: ${actual:,.2f} of ${rule.amount:,.2f}", **base))  # fmt: skip
            curve = BudgetCurve(rule.name, rule.scope, value, ws, we, rule.amount)
            run = 0.0
            for d, x in zip(days, spend, strict=True):
                run += x
                curve.cumulative.append((d.isoformat(), round(run, 4)))
            remaining = total_days - elapsed
            if rule.forecast and remaining > 0 and elapsed > 0:
                lin = linear_forecast(actual, elapsed, total_days)
                ewm = ewma_forecast(spend, actual, remaining, alpha)
                curve.forecast = [(days[-1].isoformat(), round(actual, 4)),
                                  ((we - timedelta(days=1)).isoformat(), round(max(lin, ewm), 4))]  # fmt: skip
                limit = fail_at if fail_at is not None else warn_at
                hit = {"linear": lin >= limit, "ewma": ewm >= limit} if limit else {}
                breach = (all(hit.values()) if forecast_method == "both" else
                          any(hit.values()) if forecast_method == "either" else hit.get(forecast_method, False))  # fmt: skip
                if limit and actual < limit and breach:
                    findings.append(_finding("budget.forecast", Severity.medium, "fail", resource,
                        f"{rule.scope} {value} is forecast to spend ${max(lin, ewm):,.2f} by {we - timedelta(days=1)}, over its ${limit:,.2f} limit",
                        forecast_linear_usd=round(lin, 2), forecast_ewma_usd=round(ewm, 2),
                        limit_usd=limit, method=forecast_method, **base))  # fmt: skip
            curves.append(curve)
    return findings, curves


def evaluate_task_caps(rule: TaskCapRule, tasks: pa.Table, report_days: set[date]) -> list[Finding]:
    """Caps apply to root tasks (subtasks rolled up, task_table) that started in the report
    period; medians use every loaded task (history included) of the same mode and model.
    Vectorised: the caps are per (mode, model) group, only the tasks over them become
    Python values."""
    medians = task_table.medians_by_mode_model(tasks)
    t = task_table.in_days(tasks, report_days)
    for col, want in (("mode", rule.mode), ("model", rule.model)):
        if want and t.num_rows:
            t = t.filter(pc.fill_null(pc.equal(plain(t[col]), want), False))
    if t.num_rows == 0:
        return []
    codes, names = task_table.group_keys(t)
    caps = []  # per group: (median, peers, fail at, warn at); None as NaN: never exceeded
    for key in names:
        med, n = medians.get(key, (None, 0))
        med = med if n >= rule.min_tasks else None
        fail_at, warn_at = (
            None if lim is None else lim.resolve(median=med)
            for lim in (rule.threshold.fail, rule.threshold.warn)
        )
        caps.append((med, n, fail_at, warn_at))
    nan = float("nan")
    fail = np.array([nan if c[2] is None else c[2] for c in caps], float)[codes]
    warn = np.array([nan if c[3] is None else c[3] for c in caps], float)[codes]
    eff = task_table.figure(t, "effective")
    is_fail = eff > fail
    over = is_fail | (eff > warn)
    findings: list[Finding] = []
    kept = t.filter(pa.array(over))
    for r, code, failed in zip(task_table.rows(kept), codes[over], is_fail[over], strict=True):
        med, n, fail_at, warn_at = caps[code]
        level, at = ("fail", fail_at) if failed else ("warn", warn_at)
        findings.append(_finding(
            "budget.task_cap", rule.severity if level == "fail" else Severity.medium,
            FindingStatus.fail, f"{rule.name}:task={r['task_id']}",
            f"task {r['task_id']} ({r['mode']}/{r['model']}) cost ${r['effective']:,.2f}, over its {level} cap ${at:,.2f}",
            rule=rule.name, level=level, task_id=r["task_id"], user=r["user"], team=r["team"],
            mode=r["mode"], model=r["model"], cost_usd=round(r["effective"], 4),
            cap_usd=round(at, 4), median_usd=None if med is None else round(med, 4), peers=n,
            subtasks=r["subtasks"],
        ))  # fmt: skip
    return findings
