"""findings.ocsf.jsonl: one OCSF 1.5.0 Compliance Finding (class_uid 2003) per check result.

Why Compliance Finding and not Detection Finding: every result of a check is reported,
passes included, so an auditor sees what was evaluated. A Detection Finding means
"something was detected"; exporting passes as detections makes SIEM rules on severity
fire on passes. A Compliance Finding carries the result in `compliance.status_id`
(Pass 1 / Warning 2 = not evaluated / Fail 3) and the control mappings in
`compliance.standards` and `compliance.requirements`.

Severity is the check's for a failure and Informational for a pass or a check that could
not be evaluated, so "severity >= High" selects only what needs action. The finding's
workflow status is New (fail, not evaluated), Suppressed (muted) or Resolved (pass).
Records are validated in tests with Prowler's OCSF models (py-ocsf-models, pinned),
no attribute outside the schema allowed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from tasks.common.models import Finding, FindingStatus, iso_z, to_utc
from tasks.reports.catalog import check_info

OCSF_VERSION = "1.5.0"
CLASS_UID, TYPE_UID = 2003, 200301  # Compliance Finding, activity Create
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
COMPLIANCE_STATUS = {"pass": (1, "Pass"), "not_evaluated": (2, "Warning"), "fail": (3, "Fail")}
STANDARDS = {"SOC 2": "AICPA SOC 2 (TSC 2017)", "CIS AWS": "CIS AWS Foundations Benchmark"}
_NOT_EVALUATED = re.compile(r"nothing to check", re.I)


def _resource_type(resource: str) -> str:
    if resource.startswith("iam:"):
        return "AwsIamUser" if "/access_key" not in resource else "AwsIamAccessKey"
    if resource.startswith("roo:org"):
        return "RooCodeOrganization"
    if resource.startswith("roo:"):
        return "RooCodeSettings"
    return resource.split(":", 1)[0] or "Other"


def result_of(f: Finding) -> str:
    """pass | fail | not_evaluated (an error, or a pass with nothing to check)."""
    if f.status == FindingStatus.error or (
        f.status == FindingStatus.passed and _NOT_EVALUATED.search(f.message)
    ):
        return "not_evaluated"
    return "pass" if f.status == FindingStatus.passed else "fail"


def _ms(value: Any, default: datetime) -> int:
    if isinstance(value, str):
        try:
            return int(to_utc(datetime.fromisoformat(value.replace("Z", "+00:00"))).timestamp() * 1000)  # fmt: skip
        except ValueError:
            pass
    return int(default.timestamp() * 1000)


def _static(check: str) -> dict[str, Any]:
    """The per-check part of every record (title, remediation, mappings), built once."""
    info = check_info(check)
    maps = info.mappings()
    return {
        "title": info.title,
        "desc": info.description,
        "remediation": info.remediation,
        "standards": [STANDARDS.get(k, k) for k in maps],
        "requirements": [f"{k} {i}" for k, ids in maps.items() for i in ids],
    }


def to_ocsf(
    f: Finding,
    *,
    run_id: str,
    generated_at: datetime,
    account: str = "",
    _cache: dict | None = None,
) -> dict[str, Any]:
    cache = {} if _cache is None else _cache
    st = cache.get(f.check) or cache.setdefault(f.check, _static(f.check))
    result = result_of(f)
    sev = SEVERITY_ID[f.severity.value] if result == "fail" else 1
    muted = bool(f.details.get("muted"))
    status_id, status = (
        (3, "Suppressed") if muted else (4, "Resolved") if result == "pass" else (1, "New")
    )
    comp_id = COMPLIANCE_STATUS[result][0]
    now = int(generated_at.timestamp() * 1000)
    seen = _ms(f.details.get("first_seen"), generated_at)
    cloud = bool(account) and f.resource.startswith("iam:")
    record: dict[str, Any] = {
        "class_uid": CLASS_UID, "class_name": "Compliance Finding",
        "category_uid": 2, "category_name": "Findings",
        "activity_id": 1, "activity_name": "Create",
        "type_uid": TYPE_UID, "type_name": "Compliance Finding: Create",
        "time": now, "time_dt": iso_z(generated_at),
        "severity_id": sev, "severity": SEVERITY_NAME[sev],
        "status_id": status_id, "status": status,
        "status_code": result.upper(),
        "message": f.message,
        "finding_info": {
            "uid": f.id,
            "title": st["title"],
            "desc": st["desc"] or f.message,
            "types": ["access-review"],
            "first_seen_time": seen, "last_seen_time": now,
            "analytic": {"uid": f.check, "name": f.check, "type_id": 1, "type": "Rule"},
        },
        "compliance": {
            "control": f.check,
            "standards": st["standards"] or ["compliance-jobs access review"],
            "requirements": st["requirements"],
            "status_id": comp_id,
        },
        "resources": [{"uid": f.resource, "name": f.resource, "type": _resource_type(f.resource)}],
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "compliance-jobs", "vendor_name": "compliance-jobs", "feature": {"name": "access-review"}},
            "correlation_uid": run_id,
            "profiles": ["cloud"] if cloud else [],
        },
        "unmapped": {"details": f.details},
    }  # fmt: skip
    if st["remediation"]:
        record["remediation"] = {"desc": st["remediation"]}
    if cloud:  # the AWS account the IAM data came from; agent settings have none
        record["cloud"] = {
            "provider": "AWS",
            "account": {"uid": account, "name": account, "type_id": 10, "type": "AWS Account"},
        }
    return record


def ocsf_jsonl_bytes(
    findings: list[Finding], *, run_id: str, generated_at: datetime, account: str = ""
) -> bytes:
    cache: dict[str, dict[str, Any]] = {}
    opt = orjson.OPT_SORT_KEYS
    return b"".join(
        orjson.dumps(
            to_ocsf(f, run_id=run_id, generated_at=generated_at, account=account, _cache=cache),
            option=opt,
        )
        + b"\n"
        for f in findings
    )
