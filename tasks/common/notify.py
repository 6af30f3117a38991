"""Webhook notifications: a failed run, or a run whose status is `fail`.

The payload carries only the job, run, status, counts and bundle URI — never report
content, so no secret can leave through it.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

WEBHOOK_ENV = "COMPLIANCE_WEBHOOK_URL"


def webhook_url(config_sections: dict[str, Any] | None = None) -> str | None:
    if os.environ.get(WEBHOOK_ENV):
        return os.environ[WEBHOOK_ENV]
    section = (config_sections or {}).get("notifications") or {}
    return section.get("webhook_url") if isinstance(section, dict) else None


def post_json(url: str, payload: dict[str, Any], timeout: float = 5.0) -> bool:
    """POST the payload; a notification failure is logged, never raised (the run stands)."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError) as exc:
        log.warning("webhook notification failed: %s", type(exc).__name__)
        return False


def notify_result(result: dict[str, Any], url: str | None) -> bool:
    """Notify when a completed run's status is fail."""
    if not url or result.get("status") != "fail":
        return False
    keys = ("job", "run_id", "status", "bundle", "counts")
    return post_json(url, {"event": "run.status.fail", **{k: result.get(k) for k in keys}})


def notify_failure(job: str, flow_run_id: str | None, error: str, url: str | None) -> bool:
    """Notify when a run could not complete (crash, exception, storage down)."""
    if not url:
        return False
    return post_json(
        url, {"event": "run.failed", "job": job, "flow_run_id": flow_run_id, "error": error[:300]}
    )


def flow_failure_hook(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect on_failure/on_crashed hook for every job flow."""
    from tasks.common.settings import load_config

    try:
        sections = load_config().sections
    except Exception:  # a broken config must not stop the failure notice
        sections = {}
    message = getattr(state, "message", None) or state.type.value
    notify_failure(flow.name, str(flow_run.id), str(message).splitlines()[0], webhook_url(sections))
