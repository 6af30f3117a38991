"""cost-budget: recompute cost per task, check budgets, forecast, flag spend anomalies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from flows.common import job_flow
from tasks.budget import job
from tasks.budget.alerts import (
    load_state,
    post_webhook,
    record_sent,
    save_state,
    select_alerts,
    webhook_payload,
)
from tasks.budget.config import load_cost_budget_config
from tasks.budget.report import charts_and_tables, task_costs_csv
from tasks.common.errors import ConfigError, StorageError
from tasks.common.jobrun import finish_job
from tasks.common.s3 import s3_client


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def load_inputs(settings, period, cfg, force: bool):
    return job.load(s3_client(settings), settings.data_bucket, period, cfg, force)


@task(cache_policy=NO_CACHE)  # inputs are large Arrow tables: never hash them
def analyze(data, period, cfg, team, user, force: bool):
    return job.analyze(data, period, cfg, team=team, user=user, force=force)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def read_alert_state(settings):
    return load_state(s3_client(settings), settings.data_bucket)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def notify(url: SecretStr, payload: dict) -> int:
    return post_webhook(url.get_secret_value(), payload)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def write_alert_state(settings, state: dict) -> None:
    save_state(s3_client(settings), settings.data_bucket, state)


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
    if not settings.data_bucket:
        raise ConfigError("COMPLIANCE_DATA_BUCKET (storage.data_bucket) is not set")
    period = job.resolve_period(since, until)
    data = load_inputs(settings, period, cfg, force)
    result = analyze(data, period, cfg, team, user, force)
    now = datetime.now(UTC)
    state = read_alert_state(settings)
    to_send, suppressed = select_alerts(result.findings, state, now, cfg.budget.cooldown_hours)
    result.summary["alerts"] = {"new": len(to_send), "suppressed_by_cooldown": len(suppressed)}
    if dry_run:  # a dry run sends nothing and records nothing
        for f in to_send:
            f.details["alert"] = "dry_run"
    charts, tables = charts_and_tables(result, job.report_days(period))
    inputs, listing = job.inputs_manifest(data.inputs, settings.data_bucket)
    out = finish_job(
        job.JOB, period, result.findings, result.summary, {"inputs.json": listing, "task_costs.csv": task_costs_csv(result, job.report_days(period))}, inputs, settings,
        dry_run=dry_run, charts=charts, tables=tables,
    )  # fmt: skip
    if not dry_run and to_send:
        if cfg.budget.webhook_url:
            try:
                notify(cfg.budget.webhook_url, webhook_payload(out, to_send))
            except StorageError as exc:  # the bundle is the record; alert again next run
                get_run_logger().warning("cost-budget alerts not delivered: %s", exc)
                return out | {"alerts": {"sent": 0, "error": str(exc)}}
        write_alert_state(settings, record_sent(state, to_send, now))
    return out | {"alerts": {"sent": 0 if dry_run else len(to_send), "suppressed": len(suppressed)}}
