"""`compliance access-review decide`: record reviewer decisions as a signed bundle."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from tasks.access.campaign import parse_campaign
from tasks.access.config import AccessConfig
from tasks.access.decisions import apply_decisions, execute_remediation, parse_decisions
from tasks.access.previous import load_previous, trusted_keys
from tasks.access.run import JOB
from tasks.common.contract import JobResult
from tasks.common.csvsafe import SafeDictWriter
from tasks.common.errors import InputError
from tasks.common.jobrun import finish_job
from tasks.common.models import Period
from tasks.common.s3 import S3Uri, is_s3, s3_client
from tasks.common.settings import StorageSettings
from tasks.common.storage import get_or_none

DECISIONS_JOB = "access-review-decisions"


def _read(path: str, client: Any) -> bytes:
    if is_s3(path):
        uri = S3Uri.parse(path)
        body = get_or_none(client, uri.bucket, uri.key)
        if body is None:
            raise InputError(f"{path}: no such object")
        return body
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None


def load_campaign(
    settings: StorageSettings, cfg: AccessConfig, campaign: str | None, client: Any
) -> tuple[bytes, dict[str, Any]]:
    """The campaign sheet and the link to it (the verified review bundle, or the file's digest)."""
    if campaign:
        data = _read(campaign, client)
        return data, {
            "uri": campaign if is_s3(campaign) else Path(campaign).resolve().as_uri(),
            "digest": {"sha256": hashlib.sha256(data).hexdigest()},
        }
    if not settings.reports_bucket:
        raise InputError("no --campaign given and no reports bucket configured")
    prev = load_previous(
        client,
        settings.reports_bucket,
        JOB,
        trusted_keys(settings, cfg.trusted_public_keys),
        names=("campaign.csv",),
    )
    if prev is None or "campaign.csv" not in prev.files:
        raise InputError(
            f"no verified {JOB} bundle with a campaign.csv in s3://{settings.reports_bucket}/reports/{JOB}/"
        )
    return prev.files["campaign.csv"], {
        "uri": prev.envelope_uri,
        "digest": {"sha256": prev.envelope_sha256},
    }


def _rows_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    writer = SafeDictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def run_decide(
    decisions_path: str,
    settings: StorageSettings,
    cfg: AccessConfig,
    *,
    campaign: str | None = None,
    apply: bool = False,
    dry_run: bool = False,
    iam_client: Any = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    client = s3_client(settings)
    sheet, link = load_campaign(settings, cfg, campaign, client)
    items = parse_campaign(sheet, link["uri"])
    raw = _read(decisions_path, client)
    outcome = apply_decisions(items, parse_decisions(raw, decisions_path), now)
    if apply and iam_client is None:
        from tasks.access.iam import iam_client as make_iam
        from tasks.common.s3 import make_session

        iam_client = make_iam(make_session(settings), cfg.iam_endpoint_url or settings.endpoint_url)
    remediation = execute_remediation(iam_client, outcome.remediation, apply=apply)
    cols = [
        "item_id",
        "reviewer",
        "decision",
        "justification",
        "kind",
        "resource",
        "subject",
        "decided_at",
        "status",
        "reason",
        "line",
    ]
    rows = [{**r, "status": "accepted"} for r in outcome.accepted] + [
        {**r, "status": "rejected"} for r in outcome.rejected
    ]
    files = {
        "decisions.csv": _rows_csv(rows, cols),
        "remediation.json": orjson.dumps(
            {"applied": apply, "actions": remediation},
            option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
        ),
    }
    summary = {
        "campaign": link["uri"],
        "campaign_items": len(items),
        **outcome.counts,
        "undecided": len(items) - len(outcome.accepted),
        "keys_deactivated": sum(1 for r in remediation if r.get("result") == "deactivated"),
        "applied": apply,
    }
    inputs = [
        link,
        {
            "uri": Path(decisions_path).resolve().as_uri()
            if not is_s3(decisions_path)
            else decisions_path,
            "digest": {"sha256": hashlib.sha256(raw).hexdigest()},
        },
    ]
    period = Period(start=now - timedelta(days=cfg.campaign.due_days), end=now)
    published = JobResult(outcome.findings, summary, inputs=inputs, files=files)
    result = finish_job(DECISIONS_JOB, period, published, settings, dry_run=dry_run)
    return {**result, "summary": summary, "remediation": remediation}
