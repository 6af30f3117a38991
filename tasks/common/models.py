"""Typed core shared by every job: severities, findings, periods."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self]


SEVERITY_RANK = {
    Severity.critical: 4,
    Severity.high: 3,
    Severity.medium: 2,
    Severity.low: 1,
    Severity.info: 0,
}


class FindingStatus(StrEnum):
    fail = "fail"
    passed = "pass"
    error = "error"


class RunStatus(StrEnum):
    passed = "pass"
    warn = "warn"
    fail = "fail"


def stable_id(*parts: object) -> str:
    """A finding id that stays the same across runs for the same check and resource."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Finding(BaseModel):
    """One entry of report.json's `findings` (the evidence-bundle spec's common shape)."""

    id: str
    check: str
    severity: Severity
    status: FindingStatus
    resource: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def make(
        cls,
        check: str,
        severity: Severity | str,
        status: FindingStatus | str,
        resource: str,
        message: str,
        **details: Any,
    ) -> Finding:
        return cls(
            id=stable_id(check, resource),
            check=check,
            severity=Severity(severity),
            status=FindingStatus(status),
            resource=resource,
            message=message,
            details=details,
        )


def to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_z(value: datetime) -> str:
    """ISO 8601 UTC with a trailing Z and whole seconds, as the bundle spec writes times."""
    return to_utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Period(BaseModel):
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return to_utc(v)

    def model_post_init(self, __context: Any) -> None:
        if self.end <= self.start:
            raise ValueError(f"period end {iso_z(self.end)} is not after start {iso_z(self.start)}")

    @classmethod
    def last_days(cls, days: int, until: datetime | None = None) -> Period:
        end = to_utc(until or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
        if until is None:
            end += timedelta(days=1)
        return cls(start=end - timedelta(days=days), end=end)

    def contains(self, moment: datetime) -> bool:
        return self.start <= to_utc(moment) < self.end

    def as_json(self) -> dict[str, str]:
        return {"start": iso_z(self.start), "end": iso_z(self.end)}


def overall_status(findings: list[Finding], fail_at: Severity = Severity.high) -> RunStatus:
    """fail if any failing/error finding at or above `fail_at`, warn if any other fails."""
    failing = [
        f for f in findings if f.status != FindingStatus.passed and not f.details.get("muted")
    ]
    if any(f.severity.rank >= fail_at.rank for f in failing):
        return RunStatus.fail
    return RunStatus.warn if failing else RunStatus.passed


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = {"findings": 0, **{s.value: 0 for s in Severity}}
    for f in findings:
        if f.status == FindingStatus.passed:
            continue
        counts["findings"] += 1
        counts[f.severity.value] += 1
    return counts
