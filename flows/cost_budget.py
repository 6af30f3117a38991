"""cost-budget: recompute cost per task, check budgets, forecast, flag spend anomalies."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.common import job_flow
from tasks.budget import job
from tasks.budget.config import load_cost_budget_config
from tasks.budget.report import charts_and_tables, task_costs_csv
from tasks.common.jobrun import finish_job
from tasks.common.s3 import s3_client


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def load_inputs(settings, period, cfg, force: bool):
    return job.load(s3_client(settings), settings.data_bucket, period, cfg, force)


@task(cache_policy=NO_CACHE)  # inputs are large Arrow tables: never hash them
def analyze(data, period, cfg, team, user, force: bool):
    return job.analyze(data, period, cfg, team=team, user=user, force=force)


@job_flow("cost-budget")
def cost_budget(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    app, cfg = load_cost_budget_config(config_path)  # validated before any work starts
    settings = app.storage
    settings.require("data_bucket")
    period = job.resolve_period(since, until)
    data = load_inputs(settings, period, cfg, force)
    result = analyze(data, period, cfg, team, user, force)
    charts, tables = charts_and_tables(result, job.report_days(period))
    inputs, listing = job.inputs_manifest(data.inputs, settings.data_bucket)
    # alerts (budget.webhook_url, notifications.routes) go out with the common cooldown
    return finish_job(
        job.JOB, period, result.findings, result.summary, {"inputs.json": listing, "task_costs.csv": task_costs_csv(result, job.report_days(period))}, inputs, settings,
        dry_run=dry_run, charts=charts, tables=tables,
    )  # fmt: skip
