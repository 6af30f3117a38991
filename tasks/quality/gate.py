"""Findings from expectation outcomes, and the gate: may downstream jobs trust this data?

The gate fails when any critical expectation fails (or cannot be evaluated) or when the
quarantine rate is above `quality.max_quarantine_rate`; its reasons say exactly which.
It warns when anything else is open (warning expectations, quarantined rows, signals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.common.models import Finding, FindingStatus, RunStatus, Severity
from tasks.quality.gx_runner import ExpectationOutcome, SuiteOutcome

SUITE_SEVERITY = {"critical": Severity.critical, "warning": Severity.medium}
_LONG_KWARGS = ("value_set", "column_list", "column_set", "type_list")


@dataclass
class Gate:
    status: str  # pass | warn | fail
    reasons: list[str] = field(default_factory=list)

    def record(self, run_id: str) -> dict[str, Any]:
        return {"status": self.status, "run_id": run_id, "reasons": self.reasons}


def _describe(o: ExpectationOutcome, rows: int) -> str:
    if o.raised:
        return f"could not be evaluated: {o.raised.splitlines()[0][:200]}"
    if o.unexpected_count is not None:
        pct = o.unexpected_percent if o.unexpected_percent is not None else 0.0
        return f"{o.unexpected_count} of {rows} rows unexpected ({pct:.2f}%)"
    return f"observed {str(o.observed_value)[:200]}"


def _safe_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (f"<{len(v)} values>" if k in _LONG_KWARGS and isinstance(v, list) else v)
        for k, v in kwargs.items()
    }


def expectation_findings(outcome: SuiteOutcome) -> list[Finding]:
    """One finding per failed (or unevaluable) expectation of a suite."""
    findings = []
    for o in outcome.failed:
        desc = _describe(o, outcome.rows)
        findings.append(
            Finding.make(
                f"quality.expectation.{o.spec.name}",
                SUITE_SEVERITY[o.spec.severity],
                FindingStatus.error if o.raised else FindingStatus.fail,
                f"expectations/{outcome.suite_file}#{o.spec.name}",
                f"{o.spec.severity} expectation {o.spec.name} ({o.spec.type}) failed on "
                f"{outcome.table}: {desc}",
                table=outcome.table,
                expectation_type=o.spec.type,
                suite_severity=o.spec.severity,
                kwargs=_safe_kwargs(o.kwargs),
                unexpected_count=o.unexpected_count,
                unexpected_percent=o.unexpected_percent,
                observed_value=o.observed_value if o.unexpected_count is None else None,
            )
        )
    return findings


def quarantine_finding(
    quarantined: int, records: int, by_reason: dict[str, int], max_rate: float
) -> tuple[Finding | None, str | None]:
    """A critical finding (and a gate reason) above the limit; a low one for any quarantine."""
    if not quarantined:
        return None, None
    rate = quarantined / records if records else 1.0
    top = dict(sorted(by_reason.items(), key=lambda kv: -kv[1])[:20])
    if rate > max_rate:
        reason = (
            f"quarantine rate {rate:.2%} ({quarantined} of {records} records) is above "
            f"quality.max_quarantine_rate {max_rate:.2%}"
        )
        sev = Severity.critical
    else:
        reason = None
        sev = Severity.low
    msg = reason or f"{quarantined} of {records} records quarantined ({rate:.2%})"
    finding = Finding.make(
        "quality.quarantine_rate", sev, FindingStatus.fail, "quarantine", msg,
        rate=round(rate, 6), quarantined=quarantined, records=records,
        max_rate=max_rate, by_reason=top,
    )  # fmt: skip
    return finding, reason


def decide(findings: list[Finding], quarantine_reason: str | None) -> Gate:
    reasons = [
        f.message
        for f in findings
        if f.check.startswith("quality.expectation.")
        and f.details.get("suite_severity") == "critical"
        and f.details.get("table") != "roster"
    ]
    if quarantine_reason:
        reasons.append(quarantine_reason)
    if reasons:
        return Gate("fail", reasons)
    open_ = [f for f in findings if f.status != FindingStatus.passed]
    return Gate("warn", [f.message for f in open_][:20]) if open_ else Gate("pass", [])


def run_status(gate: Gate, findings: list[Finding]) -> RunStatus:
    """fail when the gate fails; otherwise the common rule (any open high finding fails)."""
    from tasks.common.models import overall_status

    return RunStatus.fail if gate.status == "fail" else overall_status(findings)
