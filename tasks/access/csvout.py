"""findings.csv with Prowler's column names (a subset), enriched from each check's metadata."""

from __future__ import annotations

import io
import json
from datetime import datetime

from tasks.access.registry import discover
from tasks.common.csvsafe import SafeWriter
from tasks.common.models import Finding, iso_z

COLUMNS = [
    "TIMESTAMP",
    "FINDING_UID",
    "CHECK_ID",
    "CHECK_TITLE",
    "CATEGORIES",
    "STATUS",
    "STATUS_EXTENDED",
    "MUTED",
    "SEVERITY",
    "RESOURCE_TYPE",
    "RESOURCE_UID",
    "DESCRIPTION",
    "RISK",
    "REMEDIATION_RECOMMENDATION_TEXT",
    "COMPLIANCE",
    "DETAILS",
]


def findings_csv(findings: list[Finding], generated_at: datetime) -> bytes:
    from tasks.access.ocsf import _resource_type

    registry = discover()
    buf = io.StringIO()
    writer = SafeWriter(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    ts = iso_z(generated_at)
    for f in findings:
        cls = registry.get(f.check)
        m = cls.metadata if cls else None
        compliance = (
            " | ".join(
                [f"CIS-AWS: {', '.join(m.mappings.cis_aws)}"] * bool(m.mappings.cis_aws)
                + [f"SOC2: {', '.join(m.mappings.soc2)}"]
            )
            if m
            else ""
        )
        details = {k: v for k, v in f.details.items() if k not in ("muted",)}
        writer.writerow([
            ts, f.id, f.check, m.title if m else f.check, m.category if m else "access-review",
            f.status.value.upper(), f.message, "true" if f.details.get("muted") else "false",
            f.severity.value, _resource_type(f.resource), f.resource,
            m.description if m else "", m.risk if m else "", m.remediation if m else "",
            compliance, json.dumps(details, sort_keys=True, default=str),
        ])  # fmt: skip
    return buf.getvalue().encode()
