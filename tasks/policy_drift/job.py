"""policy-drift's steps (the job contract, tasks/common/contract.py): collect (I/O),
evaluate (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tasks.common.contract import JobResult, Scope
from tasks.common.models import Finding, Period
from tasks.common.settings import StorageSettings
from tasks.policy_drift.config import PolicyDriftConfig
from tasks.policy_drift.evaluate import evaluate as find_drift
from tasks.policy_drift.model import Inputs
from tasks.reports import Table
from tasks.reports.summary import fmt  # values as a person reads them (no True/None/[…])

TABLE_ROWS = 200


@dataclass
class Collected:
    data: Inputs
    users: set[str] | None  # None: everyone


def collect(settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> Collected:
    redaction = cfg.redaction.model_dump(exclude_unset=True)
    data = collect_inputs(settings, period, cfg.policy_drift, redaction)
    return Collected(data, scope_users(settings, scope.team, scope.user))


def evaluate(inputs: Collected, cfg: Any) -> JobResult:
    findings, summary = find_drift(inputs.data, cfg.policy_drift, inputs.users)
    return JobResult(findings, summary, inputs=inputs.data.inputs, tables=tables(findings))


def collect_inputs(
    settings: StorageSettings, period: Period, cfg: PolicyDriftConfig,
    redaction: dict[str, Any] | None,
) -> Inputs:  # fmt: skip
    from tasks.audit.commands import command_redactor
    from tasks.common.s3 import s3_client
    from tasks.common.storage import S3Store
    from tasks.evidence.trust import job_anchors, resolve_trust
    from tasks.policy_drift.collect import collect as collect_all

    client = s3_client(settings)
    # only versions signed by our own key or a pinned one count as approved
    trust, _ = resolve_trust(S3Store(client, settings.reports_bucket), job_anchors(settings))
    redact, _ = command_redactor(redaction=redaction, deployment=settings.data_bucket)
    return collect_all(
        client, settings.data_bucket, settings.reports_bucket, trust, period, cfg, redact
    )


def scope_users(settings: StorageSettings, team: str | None, user: str | None) -> set[str] | None:
    """--user and --team (from the roster); None: everyone."""
    if not team:
        return {user} if user else None
    from tasks.access.sources import collect_roster
    from tasks.common.errors import InputError
    from tasks.common.s3 import s3_client
    from tasks.common.storage import S3Store

    roster, errors = collect_roster(S3Store(s3_client(settings), settings.data_bucket))
    if roster is None:
        raise InputError(f"{errors[0].source}: {errors[0].problem} (--team needs the roster)")
    members = {u for u, e in roster.items() if e.team == team}
    return members & {user} if user else members


def _when(iso: str | None) -> str:
    """A first-seen time as a reader wants it: to the second, UTC (report.json keeps it whole)."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return str(iso)[:32]


def tables(findings: list[Finding]) -> list[Table]:
    rows = [
        [f.details["user"], f.details["setting"], fmt(f.details["expected"]),
         fmt(f.details["actual"]), _when(f.details.get("first_seen"))]
        for f in findings if f.check == "policy.drift"
    ]  # fmt: skip
    return [Table("Deviations from the approved policy",
                  ["user", "setting", "expected", "actual", "first seen"], rows[:TABLE_ROWS],
                  total=len(rows))]  # fmt: skip
