"""readiness's steps (the job contract, tasks/common/contract.py): a weekly period,
collect (the latest verified bundle of every job), evaluate (grades, the scorecard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.common.contract import JobResult, Scope
from tasks.common.models import Period
from tasks.common.periods import resolve_period
from tasks.common.settings import StorageSettings
from tasks.readiness.collect import JOB as JOB
from tasks.readiness.collect import Inputs
from tasks.readiness.grade import Grade
from tasks.readiness.grade import evaluate as grade_all
from tasks.reports import Table


def period(since: str | None, until: str | None) -> Period:
    """A weekly job: the week up to `until` unless --since says otherwise."""
    p = resolve_period(since, until)
    return p if since else p.model_copy(update={"start": p.end - timedelta(days=7)})


def check_scope(team: str | None, user: str | None) -> None:
    """Every criterion grades the organisation: --team/--user are refused in one line."""
    from tasks.readiness.collect import refuse_scope

    refuse_scope(team, user)


def collect(settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> Inputs:
    return collect_inputs(settings, scope.now)


def evaluate(inputs: Inputs, cfg: Any) -> JobResult:
    findings, summary, grades = grade_all(inputs)
    return JobResult(findings, summary, inputs=inputs_manifest(inputs),
                     tables=scorecard(grades, summary))  # fmt: skip


def schedules() -> dict[str, list[str]]:
    """Every scheduled job but this one, with its crons (flows/registry.py)."""
    from flows.registry import JOBS

    return {s: [j.schedule, *j.extra_schedules] for s, j in JOBS.items() if s != JOB and j.schedule}


def collect_inputs(settings: StorageSettings, now: datetime | None = None) -> Inputs:
    from tasks.common.s3 import s3_client
    from tasks.common.storage import S3Store
    from tasks.evidence.trust import job_anchors, resolve_trust
    from tasks.readiness.collect import collect as collect_latest

    client = s3_client(settings)
    anchors = job_anchors(settings)  # our own key and the pinned ones, never the bucket's keys/
    trust, _ = resolve_trust(S3Store(client, settings.reports_bucket), anchors)
    return collect_latest(
        client, settings.reports_bucket, trust, schedules(), now or datetime.now(UTC), anchors
    )


def scorecard(grades: list[Grade], summary: dict[str, Any]) -> list[Table]:
    rows = [[g.area, g.title, g.grade.upper(), " · ".join(g.evidence[:8]) or "-",
             "; ".join(g.missing[:8]) or "-"] for g in grades]  # fmt: skip
    stage = [[summary["stage"], "; ".join(summary["stage_reasons"])]]
    return [
        Table("Readiness scorecard", ["area", "criterion", "grade", "evidence", "missing"], rows),
        Table("Maturity stage", ["stage", "reasons"], stage),
    ]


def inputs_manifest(inputs: Inputs) -> list[dict[str, Any]]:
    return [{"uri": x.uri, "digest": {"sha256": x.sha256}} for x in inputs.latest.values()]
