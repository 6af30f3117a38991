"""The telemetry-quality job: its steps (the job contract, tasks/common/contract.py) and
the plain functions they call: parameters, validate, split, assess.

check (suites, redaction key) -> plan (roster, history, user chunks) -> collect_chunk
(ingest, mapped over the task runner) -> merge -> evaluate (validate + split + health +
gate) -> write (tables, quarantine, gate; not on a dry run) -> publish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from tasks.common.contract import JobResult, Scope
from tasks.common.errors import ConfigError
from tasks.common.models import Finding, Period, RunStatus
from tasks.common.periods import period_days
from tasks.common.settings import StorageSettings
from tasks.quality import gate as gates
from tasks.quality.config import QualityConfig
from tasks.quality.frames import join_team, to_frame
from tasks.quality.gx_runner import GxValidator, SuiteOutcome
from tasks.quality.health import alert_signals, fleet_metrics
from tasks.quality.split import SplitResult, split_table
from tasks.quality.suites import LoadedSuite, load_suites
from tasks.telemetry.schema import SCHEMA_VERSION

JOB = "telemetry-quality"
TABLES = ("tasks", "events")
OPEN_MAX = 10**12  # "no upper bound" for row counts (GX needs a number for a parameter)


def row_bounds(
    history: dict[str, Any], table: str, period: Period, cfg: QualityConfig
) -> tuple[int, int]:
    """Expected rows for the period from the median of recent days' counts (open if none)."""
    before = [
        v[table]
        for d, v in sorted(history.get("days", {}).items())
        if d < period.start.date().isoformat()
        and d >= (period.start.date() - timedelta(days=cfg.recent_days)).isoformat()
        and isinstance(v, dict)
        and isinstance(v.get(table), int)
    ]
    if not before:
        return 0, OPEN_MAX
    per_day = float(pd.Series(before).median()) * len(period_days(period))
    return int(per_day * cfg.row_count_low_factor), int(per_day * cfg.row_count_high_factor) + 1


def expectation_parameters(
    period: Period,
    cfg: QualityConfig,
    history: dict[str, Any],
    now: datetime | None = None,
    filtered: bool = False,
) -> dict[str, Any]:
    """The $PARAMETER values the suites use, evaluated here and substituted by GX."""
    now = now or datetime.now(UTC)
    ts_max = min(period.end, now + timedelta(seconds=cfg.future_skew_seconds))
    params: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "period_start": period.start.isoformat(),
        "ts_max": ts_max.isoformat(),
        "max_request_cost": cfg.max_request_cost,
    }
    for table in TABLES:
        lo, hi = (0, OPEN_MAX) if filtered else row_bounds(history, table, period, cfg)
        params[f"{table}_rows_min"], params[f"{table}_rows_max"] = lo, hi
    return params


@dataclass
class Assessment:
    outcomes: dict[str, SuiteOutcome]
    splits: dict[str, SplitResult]
    parse_quarantine: list[dict[str, Any]]
    metrics: dict[str, Any]
    signals: list
    findings: list[Finding]
    gate: gates.Gate
    status: RunStatus
    counts: dict[str, int]
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)


def parse_quarantine_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for r in rows:
        r.setdefault("table", "raw")
        r["reasons"] = [r.get("reason")]
        r["day"] = None
    return rows


def assess(
    tables: dict[str, pa.Table],
    ingest_counts: dict[str, int],
    ingest_quarantine: pa.Table,
    suites: dict[str, LoadedSuite],
    period: Period,
    cfg: QualityConfig,
    parameters: dict[str, Any],
    roster: pd.DataFrame | None = None,
    validator: GxValidator | None = None,
) -> Assessment:
    """Validate each table with its suite, split off bad rows, compute health, decide the gate."""
    validator = validator or GxValidator()
    missing = [t for t in TABLES if t not in suites]
    if missing:
        raise ConfigError(f"expectations: no suite for table(s) {', '.join(missing)}")
    outcomes: dict[str, SuiteOutcome] = {}
    splits: dict[str, SplitResult] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        table = join_team(tables[name], roster)
        frame = to_frame(table)
        outcomes[name] = validator.validate(suites[name], frame, parameters)
        splits[name] = split_table(table, frame, outcomes[name])
        frames[name] = frame
    if roster is not None and "roster" in suites:
        outcomes["roster"] = validator.validate(suites["roster"], roster, parameters)
    valid = {n: frames[n][splits[n].keep] for n in TABLES}
    metrics = fleet_metrics(valid["tasks"])
    signals = alert_signals(valid["events"], period_days(period), cfg.signals)

    parse_q = parse_quarantine_rows(ingest_quarantine)
    by_reason: dict[str, int] = {}
    for r in parse_q:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
    for s in splits.values():
        for k, v in s.by_reason.items():
            by_reason[k] = by_reason.get(k, 0) + v
    records = int(ingest_counts.get("records_in", 0)) + splits["tasks"].rows_in
    quarantined = len(parse_q) + sum(len(s.quarantine) for s in splits.values())
    findings: list[Finding] = []
    for o in outcomes.values():
        findings += gates.expectation_findings(o)
    q_finding, q_reason = gates.quarantine_finding(
        quarantined, records, by_reason, cfg.max_quarantine_rate
    )
    findings += [q_finding] if q_finding else []
    findings += [s.finding() for s in signals]
    gate = gates.decide(findings, q_reason)
    counts = {
        "records_in": records,
        "valid": splits["tasks"].valid.num_rows + splits["events"].valid.num_rows,
        "quarantined": quarantined,
        "parse_quarantined": len(parse_q),
        **{f"{n}_{k}": v for n in TABLES for k, v in splits[n].counts.items()},
        "signals": len(signals),
    }
    return Assessment(
        outcomes=outcomes,
        splits=splits,
        parse_quarantine=parse_q,
        metrics=metrics,
        signals=signals,
        findings=findings,
        gate=gate,
        status=gates.run_status(gate, findings),
        counts=counts,
        quarantine_by_reason=by_reason,
        parameters=parameters,
    )


def summary(a: Assessment, period: Period, filters: dict[str, Any]) -> dict[str, Any]:
    failed = [
        {"name": o.spec.name, "table": t, "severity": o.spec.severity}
        for t, s in a.outcomes.items()
        for o in s.failed
    ]
    rate = a.counts["quarantined"] / a.counts["records_in"] if a.counts["records_in"] else 0.0
    return {
        "gate": {"status": a.gate.status, "reasons": a.gate.reasons},
        "counts": a.counts,
        "quarantine_rate": round(rate, 6),
        "quarantine_by_reason": a.quarantine_by_reason,
        "expectations": {
            t: {"evaluated": len(s.outcomes), "failed": len(s.failed), "success": s.success}
            for t, s in a.outcomes.items()
        },
        "failed_expectations": failed,
        "signals": [
            {
                "kind": s.kind,
                "user": s.user,
                "team": s.team,
                "day": s.day,
                "value": s.value,
                "baseline": s.baseline,
                "why": s.why,
            }
            for s in a.signals
        ],  # fmt: skip
        "health": a.metrics,
        "parameters": {k: v for k, v in a.parameters.items() if not k.endswith("_rows_max")}
        | {k: v for k, v in a.parameters.items() if k.endswith("_rows_max") and v != OPEN_MAX},
        "filters": filters,
        "days": [d.isoformat() for d in period_days(period)],
    }


# --- the job contract's steps ---


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
    """A broken suite file or a missing redaction key stops the run before any work."""
    from tasks.quality.chunks import chunk_users_setting
    from tasks.quality.derived import derived_redactor

    load_suites(cfg.quality.suites_dir)
    derived_redactor(_redaction(cfg))
    chunk_users_setting()  # a bad value stops the run before any retry


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
    """One chunk's ingest (in a Dask worker: its own S3 client; clients do not pickle)."""
    from tasks.common.s3 import s3_client
    from tasks.quality.chunks import ingest_chunk

    source, users = unit
    return ingest_chunk(source, users, s3_client=s3_client(settings), period=period)


def merge(settings: StorageSettings, cfg: Any, period: Period, scope: Scope,
          planned: Any, chunks: list) -> Collected:  # fmt: skip
    """The chunks in chunk order, the suites and the expectations' parameters."""
    from tasks.quality import storage
    from tasks.quality.chunks import merge_chunks

    raw = storage.raw_inputs(planned, merge_chunks(chunks))
    filtered = bool(scope.team or scope.user)
    params = expectation_parameters(period, cfg.quality, raw.history, filtered=filtered)
    return Collected(raw, load_suites(cfg.quality.suites_dir), params, period, scope)


def evaluate(c: Collected, cfg: Any) -> JobResult:
    from tasks.quality import bundle

    raw = c.raw
    a = assess(raw.tables, raw.counts, raw.quarantine, c.suites, c.period, cfg.quality,
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

    failed = bundle.failed_expectation_rows(result.state)
    if failed:
        create_table_artifact(table=failed, key="telemetry-quality-failed-expectations",
                              description="Failed expectations of this run")  # fmt: skip
