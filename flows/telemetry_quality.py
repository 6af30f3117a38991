"""telemetry-quality: validate the period's Roo Code telemetry with Great Expectations,
quarantine bad rows with reasons, measure fleet health, gate downstream jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prefect import task, unmapped
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.common import job_flow
from tasks.common.ids import new_run_id
from tasks.common.jobrun import finish_job
from tasks.common.runners import make_task_runner
from tasks.common.s3 import s3_client
from tasks.common.settings import load_config
from tasks.quality import bundle, job, storage
from tasks.quality.config import quality_config
from tasks.quality.derived import derived_redactor
from tasks.quality.suites import load_suites

if TYPE_CHECKING:
    from tasks.telemetry.ingest import IngestResult


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def plan_inputs(settings, period, team, user, chunk_users, spread) -> storage.InputPlan:
    client = s3_client(settings)
    return storage.plan_inputs(client, settings.data_bucket, period, team, user, chunk_users, spread)  # fmt: skip


# Runs in a Dask worker process under a Dask runner: it makes its own S3 client (clients
# do not pickle); the tables travel back to the flow.
@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE, persist_result=False)
def ingest_chunk(settings, source: str, period, users: list[str]) -> IngestResult:
    from tasks.quality.chunks import ingest_chunk as run_chunk

    return run_chunk(source, users, s3_client=s3_client(settings), period=period)


def _runner_spreads() -> bool:
    """Is this flow run's task runner one that runs tasks in other processes (Dask)?"""
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    ctx = FlowRunContext.get()
    runner = getattr(ctx, "task_runner", None)
    return runner is not None and not isinstance(runner, ThreadPoolTaskRunner)


def read_inputs(settings, period, team, user) -> storage.RawInputs:
    """Plan, ingest the user chunks over the task runner, merge in chunk order."""
    from tasks.quality.chunks import chunk_users_setting, merge_chunks

    chunk_users = chunk_users_setting()  # a bad value stops the run before any retry
    # threads share one GIL: chunks there only re-read the telemetry; Dask spreads them
    spread = chunk_users is not None or _runner_spreads()
    plan = plan_inputs(settings, period, team, user, chunk_users, spread)
    futures = ingest_chunk.map(unmapped(settings), unmapped(plan.source), unmapped(period), plan.chunks)  # fmt: skip
    return storage.raw_inputs(plan, merge_chunks([f.result() for f in futures]))


@task(cache_policy=NO_CACHE)
def validate_and_assess(raw: storage.RawInputs, suites, period, cfg, params) -> job.Assessment:
    return job.assess(raw.tables, raw.counts, raw.quarantine, suites, period, cfg, params, raw.roster)  # fmt: skip


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def write_data(
    settings, run_id, period, a: job.Assessment, update_history: bool, redaction
) -> list[str]:
    return storage.write_outputs(s3_client(settings), settings.data_bucket, run_id, period, a, update_history, redaction)  # fmt: skip


# COMPLIANCE_TASK_RUNNER picks threads or a Dask cluster for the ingest chunks.
@job_flow("telemetry-quality", task_runner=make_task_runner())
def telemetry_quality(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
) -> dict[str, Any]:
    app = load_config(config_path)
    cfg = quality_config(app.section("quality"), app.source)  # validated before any work
    suites = load_suites(cfg.suites_dir)  # a broken suite file stops the run here
    derived_redactor(app.section("redaction"), app.source or "config")  # key required, up front
    app.storage.require("data_bucket")
    period = job.resolve_period(since, until)
    run_id = new_run_id()
    filtered = bool(team or user)
    raw = read_inputs(app.storage, period, team, user)
    params = job.expectation_parameters(period, cfg, raw.history, filtered=filtered)
    a = validate_and_assess(raw, suites, period, cfg, params)
    failed = bundle.failed_expectation_rows(a)
    if failed:
        create_table_artifact(table=failed, key="telemetry-quality-failed-expectations", description="Failed expectations of this run")  # fmt: skip
    if not dry_run:
        write_data(app.storage, run_id, period, a, not filtered, app.section("redaction"))
    charts, tables = bundle.charts_and_tables(a, raw.history)
    summary = job.summary(a, period, {"team": team, "user": user})
    return finish_job(
        job.JOB, period, a.findings, summary, bundle.extra_files(a), raw.inputs, app.storage,
        dry_run=dry_run, charts=charts, tables=tables, status=a.status, run_id=run_id,
        counts_extra=a.counts,
    )  # fmt: skip
