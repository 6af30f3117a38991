"""findings.ocsf.jsonl: OCSF 1.3 Detection Finding (class_uid 2004), one per line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from tasks.access.registry import discover
from tasks.common.models import Finding, FindingStatus

OCSF_VERSION = "1.3.0"
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}


def _resource_type(resource: str) -> str:
    if resource.startswith("iam:"):
        return "AwsIamUser" if "/access_key" not in resource else "AwsIamAccessKey"
    if resource.startswith("roo:org"):
        return "RooCodeOrganization"
    if resource.startswith("roo:"):
        return "RooCodeSettings"
    return resource.split(":", 1)[0] or "Other"


def _static(check: str) -> dict[str, Any]:
    """The per-check part of every record (title, remediation, mappings), built once."""
    cls = discover().get(check)
    m = cls.metadata if cls is not None else None
    return {
        "title": m.title if m else check,
        "desc": m.description if m else "",
        "types": [m.category if m else "access-review"],
        "remediation": {"desc": m.remediation if m else ""},
        "risk": m.risk if m else None,
        "mappings": m.mappings.model_dump() if m else {},
    }


def to_ocsf(
    f: Finding, *, run_id: str, generated_at: datetime, _cache: dict | None = None
) -> dict[str, Any]:
    cache = {} if _cache is None else _cache
    st = cache.get(f.check) or cache.setdefault(f.check, _static(f.check))
    sev = SEVERITY_ID[f.severity.value]
    muted = bool(f.details.get("muted"))
    status_id, status = (
        (3, "Suppressed")
        if muted
        else ((4, "Resolved") if f.status == FindingStatus.passed else (1, "New"))
    )
    return {
        "class_uid": 2004, "class_name": "Detection Finding",
        "category_uid": 2, "category_name": "Findings",
        "activity_id": 1, "activity_name": "Create",
        "type_uid": 200401, "type_name": "Detection Finding: Create",
        "time": int(generated_at.timestamp() * 1000),
        "severity_id": sev, "severity": SEVERITY_NAME[sev],
        "status_id": status_id, "status": status,
        "status_code": f.status.value.upper(),
        "message": f.message,
        "finding_info": {
            "uid": f.id,
            "title": st["title"],
            "desc": st["desc"] or f.message,
            "types": st["types"],
            "analytic": {"uid": f.check, "name": f.check, "type_id": 1, "type": "Rule"},
        },
        "resources": [{"uid": f.resource, "name": f.resource, "type": _resource_type(f.resource)}],
        "remediation": st["remediation"],
        "risk_details": st["risk"],
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "compliance-jobs", "vendor_name": "compliance-jobs", "feature": {"name": "access-review"}},
            "correlation_uid": run_id,
        },
        "unmapped": {"mappings": st["mappings"], "details": f.details},
    }  # fmt: skip


def ocsf_jsonl_bytes(findings: list[Finding], *, run_id: str, generated_at: datetime) -> bytes:
    cache: dict[str, dict[str, Any]] = {}
    opt = orjson.OPT_SORT_KEYS
    return b"".join(
        orjson.dumps(to_ocsf(f, run_id=run_id, generated_at=generated_at, _cache=cache), option=opt)
        + b"\n"
        for f in findings
    )
