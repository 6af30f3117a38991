"""The pure half of readiness: verified bundles -> criteria, controls and the maturity stage.

A criterion is `met` when every job it rests on has a verified bundle inside its schedule
and that evidence shows the thing done; `partial` when some of it is there or stale; `not
met` when none is. A job with no fresh bundle lowers every criterion that rests on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cronsim import CronSim

from tasks.common.models import Finding, FindingStatus, Severity
from tasks.readiness.collect import Inputs

GRACE = timedelta(hours=6)  # a run may take a while after its cron time
MET, PARTIAL, NOT_MET = "met", "partial", "not met"
STAGES = ("pilot", "standardized", "managed", "enterprise")


@dataclass
class Grade:
    id: str
    area: str  # production | governance
    title: str
    grade: str = NOT_MET
    evidence: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def fresh_after(crons: list[str], now: datetime) -> datetime:
    """The oldest a bundle may be: the second-last scheduled time (one missed run is late)."""
    oldest = now
    for cron in crons:
        it = CronSim(cron, now, reverse=True)
        next(it)
        oldest = min(oldest, next(it))
    return oldest - GRACE


def _jobs(g: Grade, inputs: Inputs, jobs: tuple[str, ...]) -> int:
    """Adds evidence and gaps for `jobs`; returns how many have a fresh verified bundle."""
    ok = 0
    for job in jobs:
        got = inputs.latest.get(job)
        if got is None:
            g.missing.append(f"{job}: no verified bundle")
            continue
        g.evidence.append(got.uri)
        crons = inputs.schedules.get(job)
        if crons and got.generated_at < fresh_after(crons, inputs.now):
            g.missing.append(
                f"{job}: last verified bundle {got.generated_at:%Y-%m-%d} is outside its schedule"
            )
            continue
        ok += 1
    return ok


def _from(ok: int, total: int, extra_gap: bool = False) -> str:
    if ok == total and not extra_gap:
        return MET
    return PARTIAL if ok else NOT_MET


def _open_high(inputs: Inputs, job: str) -> int:
    got = inputs.latest.get(job)
    return (got.counts.get("critical", 0) + got.counts.get("high", 0)) if got else 0


def grade(inputs: Inputs) -> list[Grade]:
    out = []
    g = Grade("identity_access", "production", "Identity and access boundaries enforced")
    ok = _jobs(g, inputs, ("access-review",))
    if _open_high(inputs, "access-review"):
        g.missing.append(
            f"access-review: {_open_high(inputs, 'access-review')} critical/high findings open"
        )
    g.grade = _from(ok, 1, _open_high(inputs, "access-review") > 0)
    out.append(g)

    g = Grade(
        "policy_governed", "production", "Mode, tool and provider policies centrally governed"
    )
    ok = _jobs(g, inputs, ("policy-drift",))
    if "policy" in inputs.latest:
        g.evidence.append(inputs.latest["policy"].uri)
        ok += 1
    else:
        g.missing.append("no applied policy version (compliance policy propose/approve/apply)")
    drift = _open_high(inputs, "policy-drift")
    if drift:  # high deviations or a policy file in effect that no approval covers
        g.missing.append(f"policy-drift: {drift} critical/high findings open")
    g.grade = _from(ok, 2, drift > 0)
    out.append(g)

    g = Grade("observable", "production", "Task actions observable and auditable")
    g.grade = _from(_jobs(g, inputs, ("telemetry-quality", "audit-trail")), 2)
    out.append(g)

    g = Grade("runbooks", "production", "Incidents have documented and tested runbooks")
    g.evidence += inputs.drills
    drilled = len(inputs.runbooks) - len(inputs.undrilled)
    if not inputs.runbooks:
        g.missing.append("no runbooks in runbooks/")
    if inputs.undrilled:
        g.missing.append(
            f"{len(inputs.undrilled)} of {len(inputs.runbooks)} runbooks without a passing drill "
            f"in 90 days: {', '.join(inputs.undrilled)}"
        )
    g.grade = _from(drilled, len(inputs.runbooks)) if inputs.runbooks else NOT_MET
    out.append(g)

    g = Grade("retention_redaction", "governance", "Retention and redaction")
    g.grade = _from(_jobs(g, inputs, ("log-retention",)), 1)
    out.append(g)

    g = Grade("access_review", "governance", "Periodic access review")
    g.grade = _from(_jobs(g, inputs, ("access-review",)), 1)
    out.append(g)

    g = Grade("immutable_audit", "governance", "Immutable audit records")
    scheduled = tuple(inputs.schedules)
    have = [j for j in scheduled if j in inputs.latest]
    g.evidence += [inputs.latest[j].uri for j in have]
    g.missing += [
        f"{j}: no verified (signed, Object-Locked) bundle"
        for j in scheduled
        if j not in inputs.latest
    ]
    g.missing += inputs.rejected[:10]
    g.grade = _from(len(have), len(scheduled), bool(inputs.rejected))
    out.append(g)

    g = Grade("approval_chain", "governance", "A documented approval chain for policy changes")
    applied = inputs.latest.get("policy")
    if applied and applied.counts.get("approvals", 0) >= 1:
        g.evidence.append(applied.uri)
        g.grade = MET
    elif "policy-change" in inputs.latest:
        g.evidence.append(inputs.latest["policy-change"].uri)
        g.missing.append("proposals exist but no approved version was applied")
        g.grade = PARTIAL
    else:
        g.missing.append("no signed policy proposal, approval or applied version")
    out.append(g)
    return out


def stage(grades: list[Grade]) -> tuple[str, list[str]]:
    """pilot → standardized → managed → enterprise, and why not the next one."""
    by = {g.id: g for g in grades}
    prod = [g for g in grades if g.area == "production"]
    gov = [g for g in grades if g.area == "governance"]
    steps = [
        ("standardized", [by["policy_governed"], by["observable"]], (MET, PARTIAL)),
        ("managed", prod, (MET,)),
        ("enterprise", prod + gov, (MET,)),
    ]
    reached, reasons = "pilot", []
    for name, needs, ok in steps:
        short = [g for g in needs if g.grade not in ok]
        if short:
            reasons += [f"not {name}: {g.title} is {g.grade}" for g in short]
            break
        reached = name
        reasons.append(f"{name}: " + ", ".join(f"{g.title} {g.grade}" for g in needs))
    return reached, reasons


# One check per criterion (its own line in report.html's passed checks and in OSCAL).
CHECKS: dict[str, Callable[..., Finding]] = {
    "identity_access": lambda *a, **k: Finding.make("readiness.identity_access", *a, **k),
    "policy_governed": lambda *a, **k: Finding.make("readiness.policy_governed", *a, **k),
    "observable": lambda *a, **k: Finding.make("readiness.observable", *a, **k),
    "runbooks": lambda *a, **k: Finding.make("readiness.runbooks", *a, **k),
    "retention_redaction": lambda *a, **k: Finding.make("readiness.retention_redaction", *a, **k),
    "access_review": lambda *a, **k: Finding.make("readiness.access_review", *a, **k),
    "immutable_audit": lambda *a, **k: Finding.make("readiness.immutable_audit", *a, **k),
    "approval_chain": lambda *a, **k: Finding.make("readiness.approval_chain", *a, **k),
}


def evaluate(inputs: Inputs) -> tuple[list[Finding], dict[str, Any], list[Grade]]:
    grades = grade(inputs)
    reached, reasons = stage(grades)
    findings = []
    for g in grades:
        if g.grade == MET:
            status, sev = FindingStatus.passed, Severity.info
        else:
            status, sev = (
                FindingStatus.fail,
                Severity.medium if g.grade == NOT_MET else Severity.low,
            )
        message = f"{g.title}: {g.grade}" + (f" ({'; '.join(g.missing[:3])})" if g.missing else "")
        findings.append(CHECKS[g.id](sev, status, f"readiness/{g.id}", message, area=g.area,
                                     grade=g.grade, evidence=g.evidence, missing=g.missing))  # fmt: skip
    summary = {
        "stage": reached,
        "stage_reasons": reasons,
        "grades": {g.id: g.grade for g in grades},
        "met": sum(g.grade == MET for g in grades),
        "jobs_with_verified_bundle": sorted(inputs.latest),
        "rejected_bundles": len(inputs.rejected),
    }
    return findings, summary, grades
