"""The end of every job: render the report, publish the signed bundle, leave artifacts.

The job template (flows/template.py) calls `finish_job` last, so every job's bundle has the same shape and every run
shows the same summary in the Prefect UI.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tasks.common.contract import JobResult
from tasks.common.ids import new_run_id
from tasks.common.models import Period, RunStatus, overall_status, severity_counts
from tasks.common.notify import (
    NotificationsConfig,
    notifications_for_run,
    notify_result,
    run_webhook,
)
from tasks.common.settings import StorageSettings
from tasks.reports import (
    build_report,
    findings_csv_bytes,
    render_html,
    report_json_bytes,
)
from tasks.reports.oscal import FILENAME as OSCAL_FILE
from tasks.reports.oscal import oscal_json_bytes
from tasks.runbooks.catalog import attach_runbooks

log = logging.getLogger(__name__)

TOP_FINDINGS = 20


def in_prefect_run() -> bool:
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:  # pragma: no cover - prefect is a hard dependency
        return False
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def summary_markdown(result: dict[str, Any], report: dict[str, Any]) -> str:
    counts = result["counts"]
    lines = [
        f"# {result['job']}: **{result['status'].upper()}**",
        "",
        f"Run `{result['run_id']}`, period {report['period']['start']} → {report['period']['end']}.",
        "",
        "| severity | open findings |",
        "|---|---|",
        *[f"| {s} | {counts.get(s, 0)} |" for s in ("critical", "high", "medium", "low", "info")],
        "",
        f"Bundle: `{result['bundle']}`" if result["bundle"] else "Dry run: no bundle published.",
    ]
    scalars = {k: v for k, v in report["summary"].items() if isinstance(v, (int, float, str, bool))}
    if scalars:
        lines += [
            "",
            "| figure | value |",
            "|---|---|",
            *[f"| {k} | {v} |" for k, v in scalars.items()],
        ]
    return "\n".join(lines)


def _publish_artifacts(result: dict[str, Any], report: dict[str, Any]) -> None:
    from prefect.artifacts import (
        create_link_artifact,
        create_markdown_artifact,
        create_table_artifact,
    )

    slug = result["job"].lower()
    create_markdown_artifact(markdown=summary_markdown(result, report), key=f"{slug}-summary")
    top = [f for f in report["findings"] if f["status"] != "pass"][:TOP_FINDINGS]
    if top:
        create_table_artifact(
            table=[
                {k: f[k] for k in ("severity", "status", "check", "resource", "message")}
                for f in top
            ],
            key=f"{slug}-top-findings",
            description=f"Top {len(top)} open findings, worst first",
        )
    if result["bundle"]:
        create_link_artifact(
            link=result["bundle"], link_text="attestation.dsse.json", key=f"{slug}-bundle"
        )


def finish_job(
    job: str,
    period: Period,
    result: JobResult,
    settings: StorageSettings,
    *,
    dry_run: bool = False,
    run_id: str | None = None,
    notifications: NotificationsConfig | None = None,
) -> dict[str, Any]:
    """Build report.json/report.html/findings.csv, publish the bundle, create artifacts.

    `notifications`: the run's own config (the flow passes it; None: read from the
    flow's config_path, tolerant of a broken section since the bundle is published)."""
    generated_at = datetime.now(UTC)
    run_id = run_id or new_run_id(generated_at)
    period = result.period or period
    findings = result.findings
    status = RunStatus(result.status or overall_status(findings))
    attach_runbooks(findings)  # every alert signal and high finding names its runbook
    report = build_report(job, run_id, period, generated_at, status.value, result.summary, findings)
    signer = None if dry_run else _signer(settings)  # its fingerprint goes into report.html
    files = {
        "report.json": report_json_bytes(report),
        "report.html": render_html(
            report, result.charts, result.tables, signer.keyid if signer else None
        ),
        "findings.csv": findings_csv_bytes(findings),
        OSCAL_FILE: oscal_json_bytes(report),
    }
    files.update(result.files)  # a job may supply its own findings.csv shape
    counts = severity_counts(findings) | result.counts_extra
    bundle_uri = None
    if not dry_run:
        bundle_uri = _publish(
            job,
            period,
            files,
            status.value,
            counts,
            list(result.inputs),
            settings,
            run_id,
            generated_at,
            signer,
        )
    out = {
        "job": job,
        "run_id": run_id,
        "status": status.value,
        "bundle": bundle_uri,
        "counts": counts,
    }
    notif = notifications_for_run(notifications)
    if not dry_run:  # a dry run sends nothing and records nothing
        from tasks.common.alerts import run_alerts

        out["alerts"] = run_alerts(job, out, findings, settings, notif)
    notify_result(out, run_webhook(notif))
    if in_prefect_run():
        try:
            _publish_artifacts(out, report)
        except Exception as exc:  # artifacts are a convenience; the bundle is the record
            log.warning("could not create Prefect artifacts for %s: %s", job, type(exc).__name__)
    return out


def _signer(settings: StorageSettings) -> Any:
    from tasks.evidence import load_signer

    settings.require("reports_bucket", "signing_key")
    return load_signer(settings.signing_key, password_env=settings.signing_key_password_env)


def _publish(
    job: str,
    period: Period,
    files: dict[str, bytes],
    status: str,
    counts: dict[str, int],
    inputs: list[dict[str, Any]],
    settings: StorageSettings,
    run_id: str,
    generated_at: datetime,
    signer: Any,
) -> str:
    from tasks.common.s3 import s3_client
    from tasks.evidence import publish_bundle
    from tasks.evidence.trust import job_trust

    client = s3_client(settings)
    published = publish_bundle(
        client,
        settings.reports_bucket,
        job,
        files,
        signer=signer,
        period=period,
        status=status,
        counts=counts,
        inputs=inputs,
        retention_days=settings.retention_days,
        run_id=run_id,
        generated_at=generated_at,
        trust=job_trust(client, settings.reports_bucket, settings),  # links across rotations
    )
    return published.envelope_uri
