"""The audit-trail job: one ledger and one bundle per day of the period (its steps, the
job contract of tasks/common/contract.py, at the end), and the plain functions that read
the day's validated events, build and check the ledger.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.audit.bundles import (
    LedgerBundle,
    Verifier,
    list_ledger_bundles,
    read_ledger,
    verify_ledger_bundle,
)
from tasks.audit.commands import command_redactor
from tasks.audit.config import AuditConfig
from tasks.audit.ledger import READ_COLUMNS, Ledger, count_ledger_lines, task_workspaces
from tasks.audit.modes import custom_edit_modes
from tasks.audit.spool import SpooledFile
from tasks.audit.stream import StreamedLedger, stream_ledger
from tasks.common.contract import JobResult, Scope
from tasks.common.errors import InputError
from tasks.common.layout import VALIDATED
from tasks.common.models import Finding, FindingStatus, Period, RunStatus, Severity, overall_status
from tasks.common.periods import period_days
from tasks.common.storage import get_bytes, iter_objects
from tasks.telemetry.schema import EVENTS_SCHEMA


@dataclass
class DayResult:
    day: date
    period: Period
    ledger: StreamedLedger
    findings: list[Finding]
    summary: dict[str, Any]
    files: dict[str, bytes | SpooledFile]  # the ledger's files are temporary files
    inputs: list[dict[str, Any]]
    status: RunStatus
    previous: list[LedgerBundle] = field(default_factory=list)

    @property
    def counts_extra(self) -> dict[str, int]:
        """Into the signed statement: lets rerun checks and search skip partial ledgers."""
        return {
            "ledger_entries": self.ledger.stats["entries"],
            "scoped": int(self.summary["scope"] != {"team": None, "user": None}),
        }


def day_period(day: date) -> Period:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Period(start=start, end=start + timedelta(days=1))


def _day_keys(client: Any, bucket: str, table: str, day: date) -> list[str]:
    prefix = f"{VALIDATED}{table}/date={day.isoformat()}/"
    return sorted(
        o["Key"] for o in iter_objects(client, bucket, prefix) if o["Key"].endswith(".parquet")
    )


def _get(client: Any, bucket: str, key: str, inputs: list[dict[str, Any]]) -> bytes:
    data = get_bytes(client, bucket, key)
    inputs.append(
        {"uri": f"s3://{bucket}/{key}", "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
    )
    return data


def _unreadable(uri: str, exc: Exception) -> InputError:
    return InputError(f"{uri}: not a readable parquet file ({type(exc).__name__})")


def read_table(
    client: Any, bucket: str, table: str, day: date, schema: pa.Schema | None = None
) -> tuple[pa.Table | None, list[dict[str, Any]]]:
    """All parquet parts of validated/<table>/date=<day>/, and their digests as inputs
    (the tasks table: one row per task, small beside the events); with `schema`, each part
    in the contract's columns and types (a part lacking one is an InputError naming it)."""
    parts, inputs = [], []
    for key in _day_keys(client, bucket, table, day):
        data = _get(client, bucket, key, inputs)
        uri = f"s3://{bucket}/{key}"
        try:
            part = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(uri, exc) from None
        if schema is not None:
            missing = [f.name for f in schema if f.name not in part.column_names]
            if missing:
                raise InputError(f"{uri}: lacks columns {', '.join(missing)}")
            try:
                part = part.select(schema.names).cast(schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise _unreadable(uri, exc) from None
        parts.append(part)
    if not parts:
        return None, inputs
    return pa.concat_tables(parts), inputs


# The event columns the ledger reads; the others (message text, figures) are never decoded.
_LEDGER_SCHEMA = pa.schema([EVENTS_SCHEMA.field(c) for c in READ_COLUMNS])


def event_batches(
    parts: Iterable[tuple[str, bytes]], team: str | None = None, user: str | None = None
) -> Iterator[pa.Table]:
    """The ledger's columns of each Parquet part (uri, bytes), row group by row group, in
    the contract's types and scoped: the events are never held whole."""
    for uri, data in parts:
        try:
            f = pq.ParquetFile(io.BytesIO(data))
            missing = [n for n in EVENTS_SCHEMA.names if n not in f.schema_arrow.names]
            if missing:
                raise InputError(f"{uri}: lacks columns {', '.join(missing)}")
            for i in range(f.num_row_groups):
                t = f.read_row_group(i, columns=list(READ_COLUMNS))
                yield scope(t.cast(_LEDGER_SCHEMA), team, user)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise _unreadable(uri, exc) from None


def read_events(
    client: Any, bucket: str, day: date, team: str | None = None, user: str | None = None
) -> tuple[Iterator[pa.Table], list[dict[str, Any]]]:
    """The day's event batches, one Parquet part (object) in memory at a time; `inputs`
    receives each part's digest as it is read."""
    inputs: list[dict[str, Any]] = []
    parts = (
        (f"s3://{bucket}/{key}", _get(client, bucket, key, inputs))
        for key in _day_keys(client, bucket, "events", day)
    )
    return event_batches(parts, team, user), inputs


def scope(table: pa.Table, team: str | None, user: str | None) -> pa.Table:
    if team:
        table = table.filter(pc.fill_null(pc.equal(table["team"], team), False))
    if user:
        table = table.filter(pc.fill_null(pc.equal(table["user"], user), False))
    return table


def completeness(
    rows: int, ledger: Ledger | StreamedLedger, ledger_gz: bytes | Iterable[bytes]
) -> tuple[dict[str, Any], list[Finding]]:
    """Ledger entries (read back from the written bytes) against the events' mutating rows
    (`rows`: count_mutating_rows, gathered as the events were read)."""
    dup = ledger.stats["exact_duplicates"] + ledger.stats["telemetry_duplicates"]
    written = count_ledger_lines(ledger_gz)
    figures = {
        "mutating_rows": rows,
        "duplicates_dropped": dup,
        "expected_entries": rows - dup,
        "ledger_entries": written,
        "unclassified_mutating_rows": ledger.stats["unclassified_mutating_rows"],
    }
    figures["complete"] = written == rows - dup and figures["unclassified_mutating_rows"] == 0
    if figures["complete"]:
        return figures, []
    examples = sorted(
        {(r.get("source"), r.get("kind"), r.get("tool")) for r in ledger.unclassified}
    )[:10]
    return figures, [
        Finding.make(
            "audit.completeness",
            Severity.critical,
            FindingStatus.fail,
            "ledger",
            f"ledger holds {written} entries but the validated events hold {rows - dup} mutating actions",
            unclassified_examples=[list(e) for e in examples],
            **{k: v for k, v in figures.items() if k != "complete"},
        )
    ]


@dataclass
class Previous:
    """The day's earlier ledger bundles, what the verifier says of the last, and its
    entry ids (read only when it verifies)."""

    bundles: list[LedgerBundle]
    problems: list[str] = field(default_factory=list)
    entry_ids: set[str] = field(default_factory=set)


def read_previous(client: Any, reports_bucket: str, day: date, verify: Verifier) -> Previous:
    bundles, _broken = list_ledger_bundles(client, reports_bucket, [day])
    if not bundles:
        return Previous([])
    problems = verify(client, bundles[-1])
    ids = set() if problems else {e["entry_id"] for e in read_ledger(client, bundles[-1])}
    return Previous(bundles, problems, ids)


def compare_previous(
    day: date, new_sha: str, new_entries: Iterable[dict[str, Any]], prev: Previous
) -> tuple[dict[str, Any], list[Finding]]:
    """A second run for a day: identical ledger (said in the summary) or a finding."""
    previous = prev.bundles
    if not previous:
        return {"previous_bundles": 0}, []
    last = previous[-1]
    info: dict[str, Any] = {
        "previous_bundles": len(previous),
        "previous_bundle": last.uri,
        "previous_ledger_sha256": last.ledger_sha256,
    }
    problems = prev.problems
    if problems:
        info["identical"] = None
        return info, [
            Finding.make(
                "audit.previous_bundle_invalid",
                Severity.high,
                FindingStatus.error,
                last.uri,
                f"the previous ledger bundle for {day} does not verify: {problems[0]}",
                problems=problems[:5],
            )
        ]
    info["identical"] = last.ledger_sha256 == new_sha
    if info["identical"]:
        return info, []
    old_ids = prev.entry_ids
    new_ids = {e["entry_id"] for e in new_entries}
    added, removed = sorted(new_ids - old_ids), sorted(old_ids - new_ids)
    return info, [
        Finding.make(
            "audit.ledger_changed",
            Severity.high,
            FindingStatus.fail,
            f"ledger {day.isoformat()}",
            f"this run's ledger for {day} differs from {last.uri}: {len(added)} entries added, {len(removed)} removed",
            previous_bundle=last.uri,
            previous_sha256=last.ledger_sha256,
            new_sha256=new_sha,
            added=len(added),
            removed=len(removed),
            added_ids=added[:50],
            removed_ids=removed[:50],
        )
    ]


@dataclass
class DayInputs:
    """What one day's ledger is built from: everything read, nothing judged."""

    day: date
    cfg: AuditConfig  # with the custom edit-capable modes found in the data bucket
    team: str | None
    user: str | None
    ledger: StreamedLedger  # built out of core as the events streamed (temporary files)
    has_events: bool  # any validated events part for the day
    inputs: list[dict[str, Any]]
    workspaces: Any
    redact: Any  # the command redactor (the retention engine's, or HMAC)
    method: str
    unreadable: list[str]
    previous: Previous | None  # None: not compared (scoped run, no reports bucket)


def read_day(
    client: Any,
    data_bucket: str,
    reports_bucket: str | None,
    day: date,
    cfg: AuditConfig,
    *,
    team: str | None = None,
    user: str | None = None,
    verify: Verifier = verify_ledger_bundle,
    redaction: dict[str, Any] | None = None,
) -> DayInputs:
    """Every read of one day: tasks, custom modes, the events (streamed into the ledger's
    spool, never held whole) and, for a whole-fleet run, the day's earlier ledger bundles."""
    tasks, task_inputs = read_table(client, data_bucket, "tasks", day)
    workspaces = task_workspaces(
        tasks if tasks is not None and "workspace" in tasks.column_names else None
    )
    custom, unreadable = custom_edit_modes(client, data_bucket)
    cfg = cfg.model_copy(update={"edit_modes": sorted(set(cfg.edit_modes) | custom)})
    redact, method = command_redactor(cfg.hmac_key_env, redaction, deployment=data_bucket)
    batches, inputs = read_events(client, data_bucket, day, team, user)
    ledger = stream_ledger(  # out of core: memory does not grow with the day's actions
        batches,
        edit_modes=cfg.all_edit_modes(),  # custom ones included
        redact_command=redact,
        workspaces=workspaces,
        deny_patterns=cfg.deny_patterns(),
        write_burst=cfg.write_burst,
    )  # `inputs` holds each part's digest once the batches are read
    scoped = bool(team or user)
    previous = read_previous(client, reports_bucket, day, verify) if reports_bucket and not scoped else None  # fmt: skip
    return DayInputs(day, cfg, team, user, ledger, bool(inputs), inputs + task_inputs,
                     workspaces, redact, method, unreadable, previous)  # fmt: skip


def run_day(
    client: Any,
    data_bucket: str,
    reports_bucket: str | None,
    day: date,
    cfg: AuditConfig,
    *,
    team: str | None = None,
    user: str | None = None,
    verify: Verifier = verify_ledger_bundle,
    redaction: dict[str, Any] | None = None,
) -> DayResult:
    """Read, build, check and compare one day's ledger; publishing is the caller's."""
    d = read_day(client, data_bucket, reports_bucket, day, cfg, team=team, user=user,
                 verify=verify, redaction=redaction)  # fmt: skip
    return build_day(d)


def build_day(d: DayInputs) -> DayResult:
    """The ledger's checks, completeness and comparison from what read_day read (no S3)."""
    day, cfg, team, user, ledger = d.day, d.cfg, d.team, d.user, d.ledger
    method, unreadable = d.method, d.unreadable
    sha = ledger.sha256
    findings: list[Finding] = []
    if not d.has_events:
        findings.append(
            Finding.make(
                "audit.no_input",
                Severity.low,
                FindingStatus.error,
                f"validated/events/date={day}",
                f"no validated events for {day}: the ledger is empty",
            )
        )
    for uri in unreadable:  # a mode we cannot read might be edit-capable
        findings.append(
            Finding.make(
                "audit.custom_modes_unreadable",
                Severity.low,
                FindingStatus.error,
                uri,
                "custom modes file is not valid YAML/JSON; its edit-capable modes are unknown",
            )
        )
    findings += ledger.findings  # outside workspace, denied commands, write bursts
    figures, missing = completeness(ledger.mutating_rows, ledger, ledger.gz.chunks())
    findings += missing
    previous: list[LedgerBundle] = []
    if d.previous is not None:
        previous = d.previous.bundles
        rerun, changed = compare_previous(day, sha, ledger.entries_iter(), d.previous)
        findings += changed
    else:
        scoped = bool(team or user)
        rerun = {"checked": False, "reason": "scoped run" if scoped else "no reports bucket"}
    summary = {
        "day": day.isoformat(),
        "scope": {"team": team, "user": user},
        **ledger.summary,
        "ledger_sha256": sha,
        "completeness": figures,
        "rerun": rerun,
        "command_redaction": method,
        "edit_modes": sorted(cfg.all_edit_modes()),
        "writes_with_unknown_place": ledger.writes_with_unknown_place,
        "custom_mode_files_unreadable": unreadable,
        "dedupe": {k: ledger.stats[k] for k in ("exact_duplicates", "telemetry_duplicates")},
        "rows_in": ledger.stats["rows_in"],
    }
    status = RunStatus.fail if not figures["complete"] else overall_status(findings)
    files: dict[str, bytes | SpooledFile] = {"ledger.jsonl.gz": ledger.gz, "ledger.csv": ledger.csv}
    return DayResult(
        day,
        day_period(day),
        ledger,
        findings,
        summary,
        files,
        d.inputs,
        status,
        previous,
    )


# --- the job contract's steps ---


def units(period: Period) -> list[Period]:
    """One ledger, one bundle per UTC day that starts inside the period."""
    return [day_period(d) for d in period_days(period)]


def collect(settings: Any, cfg: Any, period: Period, scope: Scope) -> DayInputs:
    """The day's reads (the events gathered as they stream, never held whole)."""
    from tasks.audit.bundles import job_verifier
    from tasks.common.s3 import s3_client

    verify = job_verifier(settings)  # earlier ledgers: trusted when signed by our key or a pin
    redaction = cfg.redaction.model_dump(exclude_unset=True)  # as log-retention redacts
    return read_day(s3_client(settings), settings.data_bucket, settings.reports_bucket,
                   period.start.date(), cfg.audit, team=scope.team, user=scope.user,
                   verify=verify, redaction=redaction)  # fmt: skip


def evaluate(inputs: DayInputs, cfg: Any) -> JobResult:
    """The day's ledger, checks and comparison (build_day), as the bundle shows them."""
    return result_of(build_day(inputs))


def result_of(r: DayResult) -> JobResult:
    from tasks.audit.report import charts_and_tables

    charts, tables = charts_and_tables(r)
    return JobResult(r.findings, r.summary, inputs=r.inputs, files=r.files, charts=charts,
                     tables=tables, status=r.status, counts_extra=r.counts_extra)  # fmt: skip
