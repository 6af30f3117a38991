"""The cost-budget job's contract hooks (tasks/common/contract.py): collect reads the
period (reader.load_period, gated by telemetry-quality), evaluate analyses it
(analysis.analyze) and lays out the bundle (report.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.budget.analysis import analyze, report_days
from tasks.budget.config import CostBudgetConfig
from tasks.budget.reader import LoadedData, inputs_manifest, load_period
from tasks.common.contract import JobResult, Scope
from tasks.common.models import Period
from tasks.common.settings import StorageSettings

JOB = "cost-budget"


@dataclass
class Collected:
    data: LoadedData
    period: Period
    scope: Scope
    bucket: str


def budget_config(cfg: Any) -> CostBudgetConfig:
    return CostBudgetConfig(budget=cfg.budget, budgets=cfg.budgets)


def collect(settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> Collected:
    from tasks.common.s3 import s3_client

    force = bool(scope.options.get("force"))  # use days the quality gate refused
    data = load_period(s3_client(settings), settings.data_bucket, period, budget_config(cfg), force)
    return Collected(data, period, scope, settings.data_bucket)


def evaluate(inputs: Collected, cfg: Any) -> JobResult:
    from tasks.budget.report import charts_and_tables, task_costs_csv

    s = inputs.scope
    a = analyze(inputs.data, inputs.period, budget_config(cfg), team=s.team, user=s.user,
                force=bool(s.options.get("force")))  # fmt: skip
    days = report_days(inputs.period)
    charts, tables = charts_and_tables(a, days)
    manifest, listing = inputs_manifest(inputs.data.inputs, inputs.bucket)
    files = {"inputs.json": listing, "task_costs.csv": task_costs_csv(a, days)}
    # alerts (budget.webhook_url, notifications.routes) go out with the common cooldown
    return JobResult(a.findings, a.summary, inputs=manifest, files=files, charts=charts,
                     tables=tables)  # fmt: skip
