"""Alerts without noise: a finding that already alerted is not re-sent within a cooldown.

State lives in the data bucket (state/cost-budget/alerts.json), never in the locked
reports. The webhook URL may embed a token: it is never logged or put in a message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.common.errors import StorageError
from tasks.common.layout import state_key
from tasks.common.models import Finding, FindingStatus, Severity

JOB = "cost-budget"
ALERTS_KEY = state_key(JOB, "alerts.json")
ALERT_MIN_SEVERITY = Severity.medium


def load_state(client, bucket: str) -> dict[str, Any]:
    try:
        body = client.get_object(Bucket=bucket, Key=ALERTS_KEY)["Body"].read()
    except client.exceptions.NoSuchKey:
        return {"version": 1, "sent": {}}
    try:
        state = json.loads(body)
    except ValueError:
        # A corrupt state file must not silence alerts: start over (worst case a repeat).
        return {"version": 1, "sent": {}, "recovered": True}
    state.setdefault("sent", {})
    return state


def save_state(client, bucket: str, state: dict[str, Any]) -> None:
    try:
        client.put_object(
            Bucket=bucket,
            Key=ALERTS_KEY,
            Body=json.dumps(state, sort_keys=True).encode(),
            ContentType="application/json",
        )
    except Exception as exc:  # botocore errors carry no secrets, but keep the line short
        raise StorageError(
            f"s3://{bucket}/{ALERTS_KEY}: could not save alert state ({type(exc).__name__})"
        ) from None


def alertable(f: Finding) -> bool:
    return f.status != FindingStatus.passed and f.severity.rank >= ALERT_MIN_SEVERITY.rank


def select_alerts(
    findings: list[Finding], state: dict[str, Any], now: datetime, cooldown_hours: float
) -> tuple[list[Finding], list[Finding]]:
    """(to send, suppressed). Marks each alertable finding's details["alert"]."""
    send, suppressed = [], []
    cutoff = now - timedelta(hours=cooldown_hours)
    for f in findings:
        if not alertable(f):
            continue
        last = state["sent"].get(f.id, {}).get("last_sent")
        if last and datetime.fromisoformat(last) > cutoff:
            f.details["alert"] = "suppressed"
            f.details["alert_last_sent"] = last
            suppressed.append(f)
        else:
            f.details["alert"] = "sent"
            send.append(f)
    return send, suppressed


def record_sent(state: dict[str, Any], sent: list[Finding], now: datetime) -> dict[str, Any]:
    for f in sent:
        state["sent"][f.id] = {
            "last_sent": now.isoformat(),
            "check": f.check,
            "resource": f.resource,
        }
    # Forget entries far past any cooldown so the file stays small.
    horizon = now - timedelta(days=90)
    state["sent"] = {
        k: v for k, v in state["sent"].items() if datetime.fromisoformat(v["last_sent"]) > horizon
    }
    return state


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST JSON; returns the HTTP status. Errors name the status, never the URL."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("budget.webhook_url must be an http(s) URL")
    req = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "compliance-jobs/cost-budget"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            return resp.status
    except urllib.error.HTTPError as exc:
        raise StorageError(f"webhook POST failed: HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise StorageError(f"webhook POST failed: {type(exc).__name__}") from None


def webhook_payload(job_result: dict[str, Any], alerts: list[Finding]) -> dict[str, Any]:
    return {
        "job": job_result.get("job", JOB),
        "run_id": job_result.get("run_id"),
        "status": job_result.get("status"),
        "bundle": job_result.get("bundle"),
        "generated_at": datetime.now(UTC).isoformat(),
        "alerts": [
            {k: v for k, v in f.model_dump(mode="json").items() if k != "details"} for f in alerts
        ],
    }
