"""One day of audit-trail: every read (read_day) and, from what was read, the ledger's
checks, completeness and the comparison with an earlier run (build_day, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tasks.audit.bundles import LedgerBundle, Verifier, verify_ledger_bundle
from tasks.audit.commands import command_redactor
from tasks.audit.config import AuditConfig
from tasks.audit.ledger import Ledger, count_ledger_lines, task_workspaces
from tasks.audit.modes import custom_edit_modes
from tasks.audit.reader import read_events, read_table
from tasks.audit.rerun import Previous, compare_previous, read_previous
from tasks.audit.stream import StreamedLedger, stream_ledger
from tasks.common.models import Finding, FindingStatus, Period, RunStatus, Severity, overall_status
from tasks.common.storage import Body


@dataclass
class DayResult:
    day: date
    period: Period
    ledger: StreamedLedger
    findings: list[Finding]
    summary: dict[str, Any]
    files: dict[str, Body]  # the ledger's files are temporary files
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
    spool, never held whole) and, for a whole-fleet run, the day's earlier ledger bundles
    (the last one's ledger downloaded to a temporary file only when it differs)."""
    tasks, task_inputs = read_table(client, data_bucket, "tasks", day)
    workspaces = task_workspaces(
        tasks if tasks is not None and "workspace" in tasks.column_names else None
    )
    custom, unreadable = custom_edit_modes(client, data_bucket)
    cfg = cfg.model_copy(update={"edit_modes": sorted(set(cfg.edit_modes) | custom)})
    redact, method = command_redactor(redaction, deployment=data_bucket)
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
    previous = None
    if reports_bucket and not scoped:
        previous = read_previous(client, reports_bucket, day, verify, ledger.sha256)
    return DayInputs(day, cfg, team, user, ledger, bool(inputs), inputs + task_inputs,
                     workspaces, redact, method, unreadable, previous)  # fmt: skip


def _input_findings(d: DayInputs) -> list[Finding]:
    findings: list[Finding] = []
    if not d.has_events:
        findings.append(
            Finding.make(
                "audit.no_input",
                Severity.low,
                FindingStatus.error,
                f"validated/events/date={d.day}",
                f"no validated events for {d.day}: the ledger is empty",
            )
        )
    for uri in d.unreadable:  # a mode we cannot read might be edit-capable
        findings.append(
            Finding.make(
                "audit.custom_modes_unreadable",
                Severity.low,
                FindingStatus.error,
                uri,
                "custom modes file is not valid YAML/JSON; its edit-capable modes are unknown",
            )
        )
    return findings


def build_day(d: DayInputs) -> DayResult:
    """The ledger's checks, completeness and comparison from what read_day read (no S3)."""
    day, cfg, team, user, ledger = d.day, d.cfg, d.team, d.user, d.ledger
    sha = ledger.sha256
    findings = _input_findings(d)
    findings += ledger.findings  # outside workspace, denied commands, write bursts
    figures, missing = completeness(ledger.mutating_rows, ledger, ledger.gz.chunks())
    findings += missing
    previous: list[LedgerBundle] = []
    if d.previous is not None:
        previous = d.previous.bundles
        rerun, changed = compare_previous(day, sha, ledger.gz, d.previous)
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
        "command_redaction": d.method,
        "edit_modes": sorted(cfg.all_edit_modes()),
        "writes_with_unknown_place": ledger.writes_with_unknown_place,
        "custom_mode_files_unreadable": d.unreadable,
        "dedupe": {k: ledger.stats[k] for k in ("exact_duplicates", "telemetry_duplicates")},
        "rows_in": ledger.stats["rows_in"],
    }
    status = RunStatus.fail if not figures["complete"] else overall_status(findings)
    files: dict[str, Body] = {"ledger.jsonl.gz": ledger.gz, "ledger.csv": ledger.csv}
    return DayResult(day, day_period(day), ledger, findings, summary, files, d.inputs, status,
                     previous)  # fmt: skip
