"""policy-drift: every user's settings and behaviour against the approved policy."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.common import job_flow
from tasks.common.jobrun import finish_job
from tasks.common.periods import resolve_period
from tasks.common.settings import load_config
from tasks.policy_drift import job


@task(
    retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE, persist_result=False
)  # reads only; raw inputs never persisted
def collect(settings, period, cfg, redaction):
    return job.collect_inputs(settings, period, cfg, redaction)


@task(cache_policy=NO_CACHE, persist_result=False)
def evaluate(inputs, cfg, users):
    return job.evaluate(inputs, cfg, users)


@job_flow("policy-drift")
def policy_drift(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
) -> dict[str, Any]:
    app = load_config(config_path)
    cfg = job.drift_config(app.section("policy_drift"), app.source)  # validated before any work
    app.storage.require("data_bucket", "reports_bucket")
    period = resolve_period(since, until)
    inputs = collect(app.storage, period, cfg, app.section("redaction"))
    findings, summary = evaluate(inputs, cfg, job.scope_users(app.storage, team, user))
    return finish_job(job.JOB, period, findings, summary, None, inputs.inputs, app.storage,
                      dry_run=dry_run, tables=job.tables(findings))  # fmt: skip
