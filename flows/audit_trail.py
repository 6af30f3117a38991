"""audit-trail: one signed ledger of every mutating agent action per day of the period."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.common import job_flow
from tasks.audit import job
from tasks.audit.bundles import job_verifier
from tasks.audit.config import audit_config
from tasks.audit.model import JOB
from tasks.audit.report import charts_and_tables, combine_results
from tasks.common.jobrun import finish_job
from tasks.common.s3 import s3_client
from tasks.common.settings import load_config


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)  # reads only: safe to retry
def build_day(settings, day, cfg, team, user, redaction) -> job.DayResult:
    verify = job_verifier(settings)  # earlier ledgers: trusted when signed by our key or a pin
    return job.run_day(s3_client(settings), settings.data_bucket, settings.reports_bucket, day, cfg, team=team, user=user, verify=verify, redaction=redaction)  # fmt: skip


@task(cache_policy=NO_CACHE)  # a day's ledger can be large: never hash it
def publish_day(settings, r: job.DayResult, dry_run: bool) -> dict[str, Any]:
    charts, tables = charts_and_tables(r)
    return finish_job(JOB, r.period, r.findings, r.summary, r.files, r.inputs, settings, dry_run=dry_run, charts=charts, tables=tables, status=r.status, counts_extra=r.counts_extra)  # fmt: skip


@job_flow("audit-trail")
def audit_trail(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
) -> dict[str, Any]:
    app = load_config(config_path)
    cfg = audit_config(app.section("audit"), app.source)  # validated before any work starts
    redaction = app.section("redaction")  # commands are redacted as the log-retention job does
    app.storage.require("data_bucket")
    period = job.resolve_period(since, until)
    results = []
    for day in job.period_days(period):  # one ledger, one bundle per day
        results.append(
            publish_day(
                app.storage, build_day(app.storage, day, cfg, team, user, redaction), dry_run
            )
        )
    return combine_results(results)
