"""The findings sorted for people, and one sentence saying why the status is what it is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tasks.reports.catalog import check_info, job_checks
from tasks.reports.summary import fmt

# A check that found nothing to look at passed nothing: it was not evaluated.
_NOT_EVALUATED = re.compile(r"nothing to check|not evaluated|no input|cannot run", re.I)
SEVERITIES = ("critical", "high", "medium", "low", "info")
FAIL_AT = {"critical", "high"}


@dataclass
class Sorted:
    open: list[dict[str, Any]] = field(default_factory=list)  # fail, not muted
    muted: list[dict[str, Any]] = field(default_factory=list)
    not_evaluated: list[dict[str, Any]] = field(default_factory=list)  # error or nothing to check
    passed: list[dict[str, Any]] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)  # the job's checks that raised nothing


def sort_findings(job: str, findings: list[dict[str, Any]]) -> Sorted:
    s = Sorted()
    for f in findings:
        if f.get("details", {}).get("muted"):
            s.muted.append(f)
        elif f["status"] == "error" or (
            f["status"] == "pass" and _NOT_EVALUATED.search(f.get("message", ""))
        ):
            s.not_evaluated.append(f)
        elif f["status"] == "pass":
            s.passed.append(f)
        else:
            s.open.append(f)
    seen = {f["check"] for f in findings}
    s.quiet = [c.id for c in job_checks(job) if c.id not in seen]
    return s


def _count_phrase(items: list[dict[str, Any]]) -> str:
    counts = {sev: sum(1 for f in items if f["severity"] == sev) for sev in SEVERITIES}
    return ", ".join(f"{n} {sev}" for sev, n in counts.items() if n)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _titles(items: list[dict[str, Any]], limit: int = 3) -> str:
    names: list[str] = []
    for f in items:
        t = check_info(f["check"]).title
        if t not in names:
            names.append(t)
    more = len(names) - limit
    return "; ".join(names[:limit]) + (f"; and {more} more" if more > 0 else "")


def _gate_sentence(summary: dict[str, Any], s: Sorted) -> str:
    """telemetry-quality: say whether the *data* is bad or only what agents did is."""
    gate = summary.get("gate")
    if not isinstance(gate, dict) or "status" not in gate:
        return ""
    counts = summary.get("counts", {})
    quarantined = f"{fmt(counts.get('quarantined', 0))} of {fmt(counts.get('records_in', 0))} records quarantined"  # fmt: skip
    if gate["status"] == "fail":
        return f"The data quality gate FAILED ({quarantined}): downstream jobs will not use these days."
    behaviour = [f for f in s.open if f["check"].startswith("quality.signal.")]
    sentence = (
        f"The data itself passed its quality gate"
        f"{' with a warning' if gate['status'] == 'warn' else ''} ({quarantined}); "
        "downstream jobs use it."
    )
    if behaviour:
        sentence += (
            f" The findings are about what agents did ({_plural(len(behaviour), 'behaviour signal')}),"
            " not about the quality of the data."
        )
    return sentence


def headline(report: dict[str, Any], s: Sorted) -> str:
    """One or two sentences: the status and the reason for it."""
    status = report["status"].upper()
    blocking = [f for f in s.open if f["severity"] in FAIL_AT]
    errors = [f for f in s.not_evaluated if f["status"] == "error"]
    if status == "FAIL" and (blocking or errors):
        parts = []
        if blocking:
            parts.append(f"{_plural(len(blocking), 'finding')} of high severity or worse "
                         f"{'is' if len(blocking) == 1 else 'are'} open ({_count_phrase(blocking)}): {_titles(blocking)}")  # fmt: skip
        if errors:
            parts.append(f"{_plural(len(errors), 'check')} could not be evaluated")
        text = f"{status} because " + ", and ".join(parts) + "."
    elif status == "FAIL":
        text = f"{status}: the job's own criteria failed (see the summary below)."
    elif s.open:
        text = (
            f"{status}: nothing high or critical is open, but "
            f"{_plural(len(s.open), 'lesser finding')} {'is' if len(s.open) == 1 else 'are'} "
            f"open ({_count_phrase(s.open)}): {_titles(s.open)}."
        )
    else:
        checks = len({f["check"] for f in s.passed}) + len(s.quiet)
        text = f"{status}: no finding is open" + (
            f"; {_plural(checks, 'check')} passed." if checks else "."
        )
    if s.muted:
        text += f" {_plural(len(s.muted), 'finding')} muted by an accepted exception."
    nothing = [f for f in s.not_evaluated if f["status"] == "pass"]
    if nothing:
        text += f" {_plural(len(nothing), 'check')} had nothing to evaluate."
    gate = _gate_sentence(report.get("summary", {}), s)
    return f"{text} {gate}".strip()
