"""assessment-results.oscal.json: a run's results as OSCAL 1.1.3 Assessment Results.

One result per run (its period), one observation per check (what was tested, on which
resources, with the bundle files as evidence) and one finding per check and control it
maps to (SOC 2 criterion `cc6.1`, CIS AWS `cis-aws-1.4`, the operating model's
`om-cost-governance`; a check without a mapping targets its own id). The objective is
`satisfied` when the check passed and `not-satisfied` when it failed, was muted (the
exception is in remarks) or could not be evaluated (no evidence, no satisfaction).

UUIDs are derived from the run id, so the same run always gives the same bytes. Tests
validate the file with compliance-trestle's OSCAL 1.1.3 models (pinned).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tasks.reports.catalog import check_info
from tasks.reports.headline import sort_findings

OSCAL_VERSION = "1.1.3"
FILENAME = "assessment-results.oscal.json"
_NS = uuid.UUID("6f1c7b9e-2d4a-4c1e-9a53-0c8e2f6d1b77")  # this project's UUIDv5 namespace
MAX_RESOURCES = 50  # per observation; every resource is in findings.csv
_PREFIX = {"SOC 2": "", "CIS AWS": "cis-aws-", "Operating model": "om-"}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join(parts)))


def control_ids(check: str) -> list[tuple[str, str]]:
    """(OSCAL control id, label) for every control the check maps to."""
    out = []
    for framework, ids in check_info(check).mappings().items():
        for i in ids:
            token = _PREFIX.get(framework, "x-") + re.sub(r"[^A-Za-z0-9._-]+", "-", i).lower()
            out.append((token, f"{framework} {i}"))
    return out or [(re.sub(r"[^A-Za-z0-9._-]+", "-", check), f"check {check}")]


def _group(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """check -> its results: state, resources, messages."""
    s = sort_findings(report["job"], report.get("findings", []))
    checks: dict[str, dict[str, Any]] = {}
    rank = {"satisfied": 0, "not-evaluated": 1, "muted": 2, "not-satisfied": 3}
    sets = [("not-satisfied", s.open), ("muted", s.muted), ("not-evaluated", s.not_evaluated),
            ("satisfied", s.passed)]  # fmt: skip
    for state, items in sets:
        for f in items:
            c = checks.setdefault(f["check"], {"state": state, "resources": [], "messages": []})
            if rank[state] > rank[c["state"]]:
                c["state"] = state
            c["resources"].append((state, f["resource"], f["message"]))
    for cid in s.quiet:
        checks.setdefault(cid, {"state": "satisfied", "resources": [], "messages": []})
    return dict(sorted(checks.items()))


def _observation(run_id: str, check: str, c: dict[str, Any], collected: str) -> dict[str, Any]:
    info = check_info(check)
    lines = [f"{state}: {res} — {msg}" for state, res, msg in c["resources"][:MAX_RESOURCES]]
    more = len(c["resources"]) - MAX_RESOURCES
    if more > 0:
        lines.append(f"… and {more} more (see findings.csv)")
    description = f"Automated check `{check}`: {info.title}." + (
        "\n\n" + "\n".join(lines) if lines else " No resource raised a finding."
    )
    return {
        "uuid": _uuid(run_id, "observation", check),
        "title": info.title,
        "description": description,
        "methods": ["TEST"],
        "types": ["finding"] if c["state"] == "not-satisfied" else ["control-objective"],
        "collected": collected,
        "relevant-evidence": [
            {"href": "report.json", "description": "report.json of this signed bundle"},
            {"href": "findings.csv", "description": "every finding of the run, one per row"},
        ],
    }


def _finding(run_id: str, check: str, c: dict[str, Any], control: tuple[str, str]) -> dict[str, Any]:  # fmt: skip
    info = check_info(check)
    token, label = control
    state = "satisfied" if c["state"] == "satisfied" else "not-satisfied"
    status: dict[str, Any] = {"state": state, "reason": "pass" if state == "satisfied" else "fail"}
    if c["state"] == "not-evaluated":
        status |= {"reason": "other", "remarks": "The check could not be evaluated."}
    elif c["state"] == "muted":
        status |= {"reason": "other", "remarks": "Failed; muted by an accepted exception."}
    finding = {
        "uuid": _uuid(run_id, "finding", check, token),
        "title": f"{info.title} ({label})",
        "description": f"Result of `{check}` for {label}: {c['state'].replace('-', ' ')}.",
        "target": {"type": "objective-id", "target-id": token, "status": status},
        "related-observations": [{"observation-uuid": _uuid(run_id, "observation", check)}],
    }
    if info.remediation and state != "satisfied":
        finding["remarks"] = f"Remediation: {info.remediation}"
    return finding


def assessment_results(report: dict[str, Any]) -> dict[str, Any]:
    run_id, job = report["run_id"], report["job"]
    checks = _group(report)
    observations = [_observation(run_id, k, c, report["generated_at"]) for k, c in checks.items()]
    findings = [_finding(run_id, k, c, ctl) for k, c in checks.items() for ctl in control_ids(k)]
    controls = sorted({ctl[0] for k in checks for ctl in control_ids(k)})
    plan = _uuid(run_id, "plan")
    result: dict[str, Any] = {
        "uuid": _uuid(run_id, "result"),
        "title": f"{job} run {run_id}",
        "description": f"Automated {job} assessment; overall status {report['status'].upper()}.",
        "start": report["period"]["start"],
        "end": report["period"]["end"],
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": c} for c in controls]}
                if controls
                else {"include-all": {}}
            ]
        },
        "observations": observations,
    }
    if findings:
        result["findings"] = findings
    if not observations:
        result.pop("observations")
    return {
        "assessment-results": {
            "uuid": _uuid(run_id, "assessment-results"),
            "metadata": {
                "title": f"{job} assessment results, run {run_id}",
                "last-modified": report["generated_at"],
                "version": run_id,
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": {"href": f"#{plan}"},
            "results": [result],
            "back-matter": {
                "resources": [
                    {
                        "uuid": plan,
                        "title": f"{job} assessment plan",
                        "description": "The job's checks and configuration; the checks run are listed in report.json.",
                        "rlinks": [{"href": "report.json"}],
                    }
                ]
            },
        }
    }


def oscal_json_bytes(report: dict[str, Any]) -> bytes:
    return (json.dumps(assessment_results(report), indent=2, ensure_ascii=False) + "\n").encode()
