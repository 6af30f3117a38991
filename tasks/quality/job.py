"""The telemetry-quality job: its steps (the job contract, tasks/common/contract.py).

check (suites, redaction key, settings) -> plan (roster, history, user chunks) ->
collect_chunk (ingest streamed to a local spool, mapped over the task runner) -> merge
(the run's spool) -> evaluate (assess.py: validate, split, health, gate, batch by batch)
-> write (tables, quarantine, gate; not on a dry run) -> publish -> after_publish (the
failed-expectations artifact; the spool removed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.common.contract import JobResult, Scope
from tasks.common.models import Period
from tasks.common.periods import period_days
from tasks.common.settings import StorageSettings
from tasks.quality.assess import Assessment, assess, summary
from tasks.quality.config import JOB
from tasks.quality.parameters import TABLES, expectation_parameters
from tasks.quality.suites import LoadedSuite, load_suites

# period_days: the one implementation every job uses (tests/test_periods.py)
__all__ = ["JOB", "TABLES", "Assessment", "Collected", "expectation_parameters", "period_days",
           "summary"]  # fmt: skip


@dataclass
class Collected:
    raw: Any  # storage.RawInputs
    suites: dict[str, LoadedSuite]
    parameters: dict[str, Any]
    period: Period
    scope: Scope


def _redaction(cfg: Any) -> dict[str, Any]:
    return cfg.redaction.model_dump(exclude_unset=True)


def check(settings: StorageSettings, cfg: Any) -> None:
    """A broken suite file, a missing redaction key or a bad chunk, batch or spool setting
    stops the run before any work."""
    from tasks.quality.chunks import chunk_users_setting
    from tasks.quality.derived import derived_redactor
    from tasks.quality.spool import batch_rows_setting, spool_root

    load_suites(cfg.quality.suites_dir)
    derived_redactor(_redaction(cfg))
    chunk_users_setting()  # a bad value stops the run before any retry
    batch_rows_setting()
    spool_root()


def _runner_spreads() -> bool:
    """Is this flow run's task runner one that runs tasks in other processes (Dask)?"""
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    runner = getattr(FlowRunContext.get(), "task_runner", None)
    return runner is not None and not isinstance(runner, ThreadPoolTaskRunner)


def plan(settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> tuple[Any, list]:
    """Roster, history and the user chunks; one unit (source, users) per chunk."""
    from tasks.common.s3 import s3_client
    from tasks.quality import storage
    from tasks.quality.chunks import chunk_users_setting

    chunk_users = chunk_users_setting()
    # threads share one GIL: chunks there only re-read the telemetry; Dask spreads them
    spread = chunk_users is not None or _runner_spreads()
    p = storage.plan_inputs(s3_client(settings), settings.data_bucket, period, scope.team,
                            scope.user, chunk_users, spread)  # fmt: skip
    return p, [(p.source, users) for users in p.chunks]


def collect_chunk(
    settings: StorageSettings, cfg: Any, period: Period, scope: Scope, unit: tuple
) -> Any:
    """One chunk's ingest streamed to its spool folder (in a Dask worker: its own S3
    client, as clients do not pickle); returns the folder's small handle."""
    from tasks.common.s3 import s3_client
    from tasks.quality.spool import ingest_to_spool

    source, users = unit
    return ingest_to_spool(source, users, s3_client=s3_client(settings), period=period)


def merge(settings: StorageSettings, cfg: Any, period: Period, scope: Scope,
          planned: Any, chunks: list) -> Collected:  # fmt: skip
    """The chunks in chunk order (the run's spool), the suites and the parameters."""
    from tasks.quality import storage
    from tasks.quality.chunks import merge_spooled

    raw = storage.raw_inputs(planned, *merge_spooled(chunks))
    filtered = bool(scope.team or scope.user)
    params = expectation_parameters(period, cfg.quality, raw.history, filtered=filtered)
    return Collected(raw, load_suites(cfg.quality.suites_dir), params, period, scope)


def evaluate(c: Collected, cfg: Any) -> JobResult:
    from tasks.quality import bundle

    raw = c.raw
    a = assess(raw.spool, raw.counts, raw.quarantine, c.suites, c.period, cfg.quality,
               c.parameters, raw.roster)  # fmt: skip
    charts, tables = bundle.charts_and_tables(a, raw.history)
    filters = {"team": c.scope.team, "user": c.scope.user}
    return JobResult(a.findings, summary(a, c.period, filters), inputs=raw.inputs,
                     files=bundle.extra_files(a), charts=charts, tables=tables,
                     status=a.status, counts_extra=a.counts, state=a)  # fmt: skip


def write(settings: StorageSettings, cfg: Any, c: Collected, result: JobResult, scope: Scope) -> None:  # fmt: skip
    """The validated tables, quarantine and gate (history only for an unfiltered run)."""
    from tasks.common.s3 import s3_client
    from tasks.quality import storage

    update_history = not (scope.team or scope.user)
    storage.write_outputs(s3_client(settings), settings.data_bucket, scope.run_id, c.period,
                          result.state, update_history, _redaction(cfg))  # fmt: skip


def after_publish(settings: StorageSettings, cfg: Any, c: Collected, result: JobResult,
                  published: dict[str, Any], scope: Scope) -> None:  # fmt: skip
    from prefect.artifacts import create_table_artifact

    from tasks.quality import bundle

    c.raw.spool.close()  # published: the local parts are no longer needed
    failed = bundle.failed_expectation_rows(result.state)
    if failed:
        create_table_artifact(table=failed, key="telemetry-quality-failed-expectations",
                              description="Failed expectations of this run")  # fmt: skip
