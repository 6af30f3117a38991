"""readiness: grade the operating model's criteria and controls from verified bundles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.common import job_flow
from tasks.common.jobrun import finish_job
from tasks.common.periods import resolve_period
from tasks.common.settings import load_config
from tasks.readiness import job


@task(
    retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE, persist_result=False
)  # reads only; raw inputs never persisted
def collect(settings):
    return job.collect_inputs(settings)


@job_flow("readiness")
def readiness(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
) -> dict[str, Any]:
    app = load_config(config_path)
    app.storage.require("reports_bucket")
    period = resolve_period(since, until)
    if since is None:  # a weekly job: the week up to `until`
        period = period.model_copy(update={"start": period.end - timedelta(days=7)})
    inputs = collect(app.storage)
    findings, summary, grades = job.evaluate(inputs)
    return finish_job(job.JOB, period, findings, summary, None, job.inputs_manifest(inputs),
                      app.storage, dry_run=dry_run, tables=job.scorecard(grades, summary))  # fmt: skip
