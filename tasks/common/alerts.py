"""Alerts for every job: routes, dedupe with a cooldown, one digest per destination and run.

After a job publishes its bundle, its open findings at or above a route's severity floor go
to that route's URLs. A finding (by its stable id) already sent to a destination within the
cooldown is not sent there again; what is new goes out as one digest message per destination
(the worst first, at most `digest_max` listed). State lives in the data bucket
(state/<job>/alerts.json), never in the locked reports. Each new alert is also emitted as a
Prefect event `compliance.alert.<check>` so Prefect automations can act on it.

URLs embed tokens: log lines and errors name the route and the service, never the URL, and a
filter scrubs every configured URL's secret parts from Apprise's and urllib3's debug logs.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.common.errors import StorageError
from tasks.common.layout import state_key
from tasks.common.models import Finding, FindingStatus, Severity
from tasks.common.notify import NotificationsConfig, Route
from tasks.common.storage import get_or_none, put_object

log = logging.getLogger(__name__)

EVENTS_DEST = "prefect-events"
STATE_VERSION = 2
FORGET_AFTER = timedelta(days=90)


# -- secrets never leave through logs ----------------------------------------------------


class _Scrub(logging.Filter):
    """Replaces registered secret fragments in a record's message before any handler sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.fragments: set[str] = set()
        self.lock = threading.Lock()

    def add(self, url: str) -> None:
        with self.lock:
            self.fragments |= secret_parts(url)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "apprise" and str(record.msg).startswith("Unparseable URL"):
            return False  # every plain http(s) webhook is first offered to Apprise: not an error
        if not self.fragments:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: drop its arguments rather than risk them
            text = str(record.msg)
        scrubbed = text
        for frag in sorted(self.fragments, key=len, reverse=True):
            scrubbed = scrubbed.replace(frag, "***")
        if scrubbed != text or record.args:
            record.msg, record.args = scrubbed, None
        return True


SCRUB = _Scrub()
for _name in ("apprise", "urllib3.connectionpool", "urllib3.connection", __name__):
    logging.getLogger(_name).addFilter(SCRUB)


def secret_parts(url: str) -> set[str]:
    """The parts of a URL that may be a credential: user, password, path segments, query values."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return {url}
    found = {parts.username or "", parts.password or ""}
    found |= {urllib.parse.unquote(s) for s in parts.path.split("/")} | set(parts.path.split("/"))
    for _, value in urllib.parse.parse_qsl(parts.query):
        found.add(value)
    found.add(parts.netloc.split("@")[0] if "@" in parts.netloc else "")
    if parts.scheme not in ("http", "https"):  # Apprise schemes often carry the token as host
        found |= {parts.netloc, parts.hostname or ""}
    return {f for f in found if len(f) >= 6}  # short pieces (v2, api, hook) are not secrets


# -- what a URL is -----------------------------------------------------------------------


def _apprise_plugin(url: str) -> Any:
    import apprise

    asset = apprise.AppriseAsset(app_id="compliance-jobs", app_desc="compliance-jobs alerts")
    return apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)


def url_kind(url: str) -> str | None:
    """'slack', 'workflows', 'pagerduty', 'email', …, 'json-webhook' for a plain http(s) URL."""
    SCRUB.add(url)  # from the first look on: Apprise logs while parsing
    plugin = _apprise_plugin(url)
    if plugin is not None:
        return type(plugin).__name__.removeprefix("Notify").lower()
    if url.startswith(("http://", "https://")):
        return "json-webhook"
    return None


# -- selection and state -----------------------------------------------------------------


def alertable(f: Finding) -> bool:
    return f.status != FindingStatus.passed


@dataclass
class Plan:
    """Per destination (route#url index): findings to send now and findings in cooldown."""

    send: dict[str, list[Finding]] = field(default_factory=dict)
    suppressed: dict[str, list[Finding]] = field(default_factory=dict)
    events: list[Finding] = field(default_factory=list)


def destinations(route: Route) -> list[str]:
    return [f"{route.name}#{i}" for i in range(len(route.urls))]


def _recent(state: dict[str, Any], dest: str, fid: str, cutoff: datetime) -> bool:
    last = state["sent"].get(dest, {}).get(fid, {}).get("last_sent")
    return bool(last) and datetime.fromisoformat(last) > cutoff


def plan_alerts(
    job: str,
    findings: list[Finding],
    cfg: NotificationsConfig,
    state: dict[str, Any],
    now: datetime,
) -> Plan:
    order = sorted(
        (f for f in findings if alertable(f)), key=lambda f: (-f.severity.rank, f.check, f.resource)
    )
    plan = Plan()
    for route in cfg.routes:
        cutoff = now - timedelta(hours=cfg.cooldown(route))
        taken = [f for f in order if route.match.takes(job, f.check, f.severity)]
        for dest in destinations(route):
            plan.send[dest] = [f for f in taken if not _recent(state, dest, f.id, cutoff)]
            plan.suppressed[dest] = [f for f in taken if _recent(state, dest, f.id, cutoff)]
    if cfg.events:
        cutoff = now - timedelta(hours=cfg.cooldown_hours)
        floor = Severity.medium.rank
        plan.events = [
            f
            for f in order
            if f.severity.rank >= floor and not _recent(state, EVENTS_DEST, f.id, cutoff)
        ]
    return plan


def load_state(client: Any, bucket: str, job: str) -> dict[str, Any]:
    key = state_key(job, "alerts.json")
    body = get_or_none(client, bucket, key)
    if body is None:
        return {"version": STATE_VERSION, "sent": {}}
    try:
        state = json.loads(body)
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError("old or foreign shape")
        if not isinstance(state.get("sent"), dict):
            raise ValueError("no sent map")
    except ValueError:
        # A corrupt or old state file must not silence alerts: start over (worst case a repeat).
        log.warning("s3://%s/%s: alert state unreadable, starting afresh", bucket, key)
        return {"version": STATE_VERSION, "sent": {}, "recovered": True}
    return state


def save_state(client: Any, bucket: str, job: str, state: dict[str, Any]) -> None:
    key = state_key(job, "alerts.json")
    put_object(client, bucket, key, json.dumps(state, sort_keys=True).encode(), "application/json")


def record_sent(state: dict[str, Any], dest: str, sent: list[Any], now: datetime) -> dict[str, Any]:
    """`sent`: findings, or anything with an id, check and resource (reviewer notices)."""
    marks = state["sent"].setdefault(dest, {})
    for f in sent:
        marks[f.id] = {"last_sent": now.isoformat(), "check": f.check, "resource": f.resource}
    horizon = now - FORGET_AFTER  # forget entries far past any cooldown: the file stays small
    for d in list(state["sent"]):
        kept = {
            k: v
            for k, v in state["sent"][d].items()
            if isinstance(v, dict) and datetime.fromisoformat(v["last_sent"]) > horizon
        }
        state["sent"][d] = kept
    return state


# -- messages ----------------------------------------------------------------------------


def _item(f: Finding) -> dict[str, Any]:
    out = {k: v for k, v in f.model_dump(mode="json").items() if k != "details"}
    if f.details.get("runbook"):
        out["runbook"] = f.details["runbook"]
    return out


def json_payload(
    result: dict[str, Any], alerts: list[Finding], suppressed: int, digest_max: int
) -> dict[str, Any]:
    """The generic JSON webhook body (cost-budget's historical shape, plus the digest counts)."""
    return {
        "job": result.get("job"),
        "run_id": result.get("run_id"),
        "status": result.get("status"),
        "bundle": result.get("bundle"),
        "generated_at": datetime.now(UTC).isoformat(),
        "alerts": [_item(f) for f in alerts[:digest_max]],
        "more": max(0, len(alerts) - digest_max),
        "suppressed_by_cooldown": suppressed,
    }


def digest_text(
    result: dict[str, Any], alerts: list[Finding], suppressed: int, digest_max: int
) -> tuple[str, str]:
    """(title, markdown body) of one digest message."""
    worst = alerts[0].severity.value
    title = f"[compliance] {result.get('job')}: {len(alerts)} new alert(s), worst {worst}"
    lines = []
    for f in alerts[:digest_max]:
        runbook = f" (runbook: {f.details['runbook']})" if f.details.get("runbook") else ""
        lines.append(f"- **{f.severity.value}** `{f.check}` {f.resource}: {f.message}{runbook}")
    if len(alerts) > digest_max:
        lines.append(f"- … and {len(alerts) - digest_max} more in the report")
    if suppressed:
        lines.append(f"\n{suppressed} more still open, already alerted within the cooldown.")
    lines.append(f"\nRun `{result.get('run_id')}`, status {result.get('status')}.")
    if result.get("bundle"):
        lines.append(f"Evidence: {result['bundle']}")
    return title, "\n".join(lines)


def _notify_type(severity: Severity) -> Any:
    from apprise import NotifyType

    if severity.rank >= Severity.high.rank:
        return NotifyType.FAILURE
    return NotifyType.WARNING if severity.rank >= Severity.medium.rank else NotifyType.INFO


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> None:
    """POST JSON; raises StorageError naming the HTTP status or error class, never the URL."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("webhook URL must be http(s)")
    req = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "compliance-jobs"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            if not 200 <= resp.status < 300:
                raise StorageError(f"webhook POST failed: HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise StorageError(f"webhook POST failed: HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise StorageError(f"webhook POST failed: {type(exc).__name__}") from None


def deliver(
    url: str, result: dict[str, Any], alerts: list[Finding], suppressed: int, digest_max: int
) -> str | None:
    """Send one digest; None when delivered, else a one-line reason without the URL."""
    SCRUB.add(url)
    kind = url_kind(url)
    try:
        if kind == "json-webhook":
            post_json(url, json_payload(result, alerts, suppressed, digest_max))
            return None
        plugin = _apprise_plugin(url)
        if plugin is None:
            return "not a supported URL"
        from apprise import NotifyFormat

        title, body = digest_text(result, alerts, suppressed, digest_max)
        ok = plugin.notify(
            body=body,
            title=title,
            notify_type=_notify_type(alerts[0].severity),
            body_format=NotifyFormat.MARKDOWN,
        )
        return None if ok else f"{kind} refused or unreachable"
    except Exception as exc:  # one destination's failure never stops the others
        return f"{kind}: {type(exc).__name__}"


def in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def emit_events(job: str, result: dict[str, Any], alerts: list[Finding]) -> int:
    """One Prefect event per new alert; returns how many the worker accepted."""
    from prefect.events import emit_event

    emitted = 0
    for f in alerts:
        event = emit_event(
            event=f"compliance.alert.{f.check}",
            resource={
                "prefect.resource.id": f"compliance.finding.{f.id}",
                "prefect.resource.name": f.resource[:200],
                "compliance.job": job,
                "compliance.severity": f.severity.value,
            },
            related=[
                {
                    "prefect.resource.id": f"compliance.run.{result.get('run_id')}",
                    "prefect.resource.role": "run",
                },
            ],  # fmt: skip
            payload={**_item(f), "bundle": result.get("bundle")},
        )
        emitted += event is not None
    return emitted


def dispatch(
    job: str,
    result: dict[str, Any],
    findings: list[Finding],
    cfg: NotificationsConfig,
    client: Any,
    bucket: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Plan, deliver, record. Returns counts and per-route errors (never raises for delivery)."""
    now = now or datetime.now(UTC)
    if not cfg.routes and not (cfg.events and in_prefect_run()):
        return {"sent": 0, "suppressed": 0, "events": 0}  # nothing to tell: no state touched
    state = load_state(client, bucket, job) if bucket else {"version": STATE_VERSION, "sent": {}}
    plan = plan_alerts(job, findings, cfg, state, now)
    sent_ids: set[str] = set()
    quiet_ids: set[str] = set()
    errors: list[str] = []
    for route in cfg.routes:
        for i, (url, dest) in enumerate(zip(route.urls, destinations(route), strict=True)):
            to_send, quiet = plan.send[dest], plan.suppressed[dest]
            quiet_ids |= {f.id for f in quiet}
            if not to_send:
                continue
            why = deliver(url.get_secret_value(), result, to_send, len(quiet), cfg.digest_max)
            if why is None:
                record_sent(state, dest, to_send, now)
                sent_ids |= {f.id for f in to_send}
            else:  # not recorded: the next run tries again
                errors.append(f"route {route.name} url #{i}: {why}")
                log.warning(
                    "alerts for %s not delivered: route %s url #%d: %s", job, route.name, i, why
                )
    events = 0
    if plan.events and in_prefect_run():  # outside a run there is no Prefect to tell
        try:
            events = emit_events(job, result, plan.events)
            record_sent(state, EVENTS_DEST, plan.events, now)
        except Exception as exc:  # Prefect unreachable: the bundle is the record
            errors.append(f"prefect events: {type(exc).__name__}")
    if bucket and (sent_ids or events):
        save_state(client, bucket, job, state)
    out: dict[str, Any] = {
        "sent": len(sent_ids),
        "suppressed": len(quiet_ids - sent_ids),
        "events": events,
    }
    if errors:
        out["errors"] = errors
    return out


def run_alerts(
    job: str,
    result: dict[str, Any],
    findings: list[Finding],
    settings: Any,
    cfg: NotificationsConfig,
) -> dict[str, Any]:
    """finish_job's step: alerts for a published run; a failure is logged, never raised."""
    from tasks.common.s3 import s3_client

    try:
        client = s3_client(settings) if settings.data_bucket else None
        return dispatch(job, result, findings, cfg, client, settings.data_bucket)
    except Exception as exc:  # storage down or similar: the bundle is the record
        why = str(exc).splitlines()[0] if isinstance(exc, StorageError) else type(exc).__name__
        log.warning("alerts for %s not sent: %s", job, why)
        return {"sent": 0, "suppressed": 0, "errors": [why]}
