"""report.json and findings.csv: deterministic bytes from a job's findings."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from tasks.common.csvsafe import SafeWriter
from tasks.common.models import SEVERITY_RANK, Finding, Period, iso_z

FINDINGS_CSV_COLUMNS = [
    "id",
    "check",
    "severity",
    "status",
    "resource",
    "message",
    "muted",
    "details",
]


def _sorted(findings: list[Finding]) -> list[Finding]:
    # Worst first, then stable by check and resource, so reruns give identical files.
    return sorted(
        findings,
        key=lambda f: (-SEVERITY_RANK[f.severity], f.status.value, f.check, f.resource, f.id),
    )


def build_report(
    job: str,
    run_id: str,
    period: Period,
    generated_at: datetime,
    status: str,
    summary: dict[str, Any],
    findings: list[Finding],
) -> dict[str, Any]:
    """The common shape every job's report.json has (evidence-bundle spec)."""
    return {
        "job": job,
        "run_id": run_id,
        "period": period.as_json(),
        "generated_at": iso_z(generated_at),
        "status": str(status),
        "summary": summary,
        "findings": [f.model_dump(mode="json") for f in _sorted(findings)],
    }


def report_json_bytes(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, indent=2, sort_keys=True, default=str) + "\n").encode()


def findings_csv_bytes(findings: list[Finding]) -> bytes:
    buf = io.StringIO()
    writer = SafeWriter(buf, lineterminator="\n")
    writer.writerow(FINDINGS_CSV_COLUMNS)
    for f in _sorted(findings):
        details = {k: v for k, v in f.details.items() if k != "muted"}
        writer.writerow(
            [
                f.id,
                f.check,
                f.severity.value,
                f.status.value,
                f.resource,
                f.message,
                "true" if f.details.get("muted") else "false",
                json.dumps(details, sort_keys=True, default=str),
            ]
        )
    return buf.getvalue().encode()
