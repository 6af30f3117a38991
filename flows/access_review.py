"""access-review: IAM and agent-privilege checks, diff since the last review, a campaign."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NONE

from flows.common import job_flow
from tasks.access import job
from tasks.access.config import parse_access_config
from tasks.access.run import JOB, review
from tasks.common.ids import new_run_id
from tasks.common.jobrun import finish_job
from tasks.common.settings import load_config


@task(retries=2, retry_delay_seconds=5, cache_policy=NONE)
def collect(settings, cfg, now):
    return job.collect_for_settings(settings, cfg, now)


@task(retries=2, retry_delay_seconds=5, cache_policy=NONE)
def previous_review(settings, cfg):
    return job.previous_for_settings(settings, cfg)


@task(retries=2, retry_delay_seconds=5, cache_policy=NONE)
def previous_decisions(settings, cfg, previous):
    return job.decided_for_previous(settings, cfg, previous)


@task(cache_policy=NONE)
def evaluate(snapshot, cfg, run_id, now, team, user, previous, previous_error, decisions):
    decided, _, untrusted = decisions
    return review(snapshot, cfg, run_id=run_id, now=now, team=team, user=user, previous=previous, previous_error=previous_error, decided=decided, untrusted_decisions=untrusted)  # fmt: skip


@job_flow("access-review")
def access_review(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
) -> dict[str, Any]:
    app = load_config(config_path)
    cfg = parse_access_config(app.section("access"), app.source or "config")  # before any work
    period = job.review_period(since, until)
    now = datetime.now(UTC)
    run_id = new_run_id(now)
    snapshot, inputs = collect(app.storage, cfg, now)
    previous, previous_error = previous_review(app.storage, cfg)
    decisions = previous_decisions(app.storage, cfg, previous)
    result = evaluate(snapshot, cfg, run_id, now, team, user, previous, previous_error, decisions)
    if previous is not None:
        inputs = [
            *inputs,
            {"uri": previous.envelope_uri, "digest": {"sha256": previous.envelope_sha256}},
            *decisions[1],  # the decisions bundles on its campaign
        ]
    return finish_job(JOB, period, result.findings, result.summary, result.files, inputs, app.storage, dry_run=dry_run, tables=job.tables_for(result), run_id=run_id)  # fmt: skip
