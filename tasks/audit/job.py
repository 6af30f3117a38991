"""The audit-trail job's contract hooks (tasks/common/contract.py): one ledger and one
bundle per day of the period. The reads are day.read_day's, the ledger stream.py's, the
checks and the comparison with an earlier run day.build_day's."""

from __future__ import annotations

from typing import Any

from tasks.audit.day import DayInputs, DayResult, build_day, day_period, read_day
from tasks.common.contract import JobResult, Scope
from tasks.common.models import Period
from tasks.common.periods import period_days


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
