"""Notifications: where alerts go (`notifications` in compliance.yaml) and run-level notices.

Two kinds of message leave the jobs:
- **alerts** — open findings, routed by job, check and severity to Apprise URLs (Slack,
  Microsoft Teams, PagerDuty, email, a generic JSON webhook), deduplicated with a cooldown and
  sent as one digest per route and run (tasks/common/alerts.py);
- **run notices** — `notifications.webhook_url` (or COMPLIANCE_WEBHOOK_URL) hears about a run
  that failed or whose status is `fail`; the payload carries only the job, run, status, counts
  and bundle URI — never report content, so no secret can leave through it.

URLs hold tokens: they are SecretStr here, and no log line or error ever names one.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator

from tasks.common.models import Severity

log = logging.getLogger(__name__)

WEBHOOK_ENV = "COMPLIANCE_WEBHOOK_URL"
LEGACY_BUDGET_ROUTE = "budget.webhook_url"


class RouteMatch(BaseModel):
    """Which alerts a route takes: job and check are glob lists (empty: any); severity is a floor."""

    model_config = {"extra": "forbid"}

    job: list[str] = Field(default_factory=list, description="job slug globs; empty: any job")
    check: list[str] = Field(default_factory=list, description="check id globs; empty: any check")
    severity: Severity = Field(
        default=Severity.medium, description="lowest severity the route takes"
    )

    @field_validator("job", "check", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    def takes(self, job: str, check: str, severity: Severity) -> bool:
        return (
            severity.rank >= self.severity.rank
            and (not self.job or any(fnmatch.fnmatchcase(job, p) for p in self.job))
            and (not self.check or any(fnmatch.fnmatchcase(check, p) for p in self.check))
        )


class Route(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="route name (letters, digits, _.:-)",
    )
    match: RouteMatch = Field(
        default_factory=RouteMatch, description="which alerts this route takes"
    )
    urls: list[SecretStr] = Field(
        min_length=1,
        description="Apprise or http(s) URLs (hold tokens: keep them in a secret store)",
    )
    cooldown_hours: float | None = Field(
        default=None, ge=0, description="override of notifications.cooldown_hours for this route"
    )

    @field_validator("urls")
    @classmethod
    def _known(cls, urls: list[SecretStr]) -> list[SecretStr]:
        from tasks.common.alerts import url_kind  # apprise is imported only when routes exist

        for i, url in enumerate(urls):
            if url_kind(url.get_secret_value()) is None:
                # name the position, never the URL: it holds a token
                raise ValueError(
                    f"urls[{i}]: not an Apprise URL this install supports, nor http(s)"
                )
        return urls


class ReviewerNotices(BaseModel):
    """Access-review campaign reviewers told of their items and due date (tasks/access/
    campaign_notices.py): by e-mail to each reviewer's roster address, and/or to shared URLs."""

    model_config = {"extra": "forbid"}

    email_url: SecretStr | None = Field(
        default=None,
        description="Apprise mailto(s):// URL (SMTP server, from); `to` is set per reviewer "
        "from the roster's e-mail",
    )
    urls: list[SecretStr] = Field(
        default_factory=list,
        description="Apprise or http(s) URLs that also get each reviewer's message "
        "(a reviewers' channel)",
    )
    remind_days: list[int] = Field(
        default_factory=lambda: [3, 1],
        description="reminders when the due date is this many days away or fewer",
    )

    @field_validator("email_url")
    @classmethod
    def _email(cls, v: SecretStr | None) -> SecretStr | None:
        from tasks.common.alerts import url_kind

        if v is not None and url_kind(v.get_secret_value()) != "email":
            raise ValueError("not an Apprise mailto:// or mailtos:// URL")  # never the URL
        return v

    @field_validator("urls")
    @classmethod
    def _known(cls, urls: list[SecretStr]) -> list[SecretStr]:
        return Route._known(urls)

    @field_validator("remind_days")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        if any(d < 0 or d > 365 for d in days):
            raise ValueError("days between 0 and 365")
        return sorted(set(days), reverse=True)

    @property
    def enabled(self) -> bool:
        return self.email_url is not None or bool(self.urls)


class NotificationsConfig(BaseModel):
    model_config = {"extra": "forbid"}

    webhook_url: SecretStr | None = Field(
        default=None,
        description="one http(s) webhook for failed runs and runs whose status is fail",
    )
    cooldown_hours: float = Field(
        default=24.0, ge=0, description="hours before the same alert is sent again"
    )
    digest_max: int = Field(
        default=20, ge=1, le=500, description="alerts listed in one message at most"
    )
    events: bool = Field(
        default=True, description="emit compliance.alert.<check> Prefect events"
    )  # emit compliance.alert.<check> Prefect events
    routes: list[Route] = Field(
        default_factory=list, description="alert routes: which alerts go to which URLs"
    )
    reviewers: ReviewerNotices = Field(
        default_factory=ReviewerNotices,
        description="access-review campaign reviewers: their items, due date and reminders",
    )

    @field_validator("webhook_url")
    @classmethod
    def _http(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("routes")
    @classmethod
    def _unique(cls, routes: list[Route]) -> list[Route]:
        names = [r.name for r in routes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"route names must be unique (repeated: {', '.join(dupes)})")
        return routes

    def cooldown(self, route: Route) -> float:
        return self.cooldown_hours if route.cooldown_hours is None else route.cooldown_hours


def parse_notifications(
    raw: dict[str, Any] | None, source: str, budget: dict[str, Any] | None = None
) -> NotificationsConfig:
    """Validate `notifications`; cost-budget's `budget.webhook_url` becomes one more route."""
    from tasks.common.settings import validate_section

    cfg = validate_section(NotificationsConfig, "notifications", raw, source)
    url = (budget or {}).get("webhook_url") if isinstance(budget, dict) else None
    if url and not any(r.name == LEGACY_BUDGET_ROUTE for r in cfg.routes):
        hours = (budget or {}).get("cooldown_hours")
        route = Route(
            name=LEGACY_BUDGET_ROUTE,
            match=RouteMatch(job=["cost-budget"], severity=Severity.medium),
            urls=[SecretStr(str(url))],
            cooldown_hours=24.0 if hours is None else float(hours),
        )
        cfg = cfg.model_copy(update={"routes": [*cfg.routes, route]})
    return cfg


def notifications_from(sections: dict[str, Any] | None, source: str) -> NotificationsConfig:
    sections = sections or {}
    raw = sections.get("notifications") or {}
    budget = sections.get("budget") or {}
    return parse_notifications(raw if isinstance(raw, dict) else {}, source, budget)


def load_notifications(config_path: str | None = None) -> NotificationsConfig:
    """The notifications of the config a flow was given (or the default config)."""
    from tasks.common.settings import load_config

    app = load_config(config_path)
    return notifications_from(app.sections, app.source or "environment")


def flow_config_path(flow_run: Any = None) -> str | None:
    """The `config_path` parameter of the current (or given) flow run, if any."""
    if flow_run is None:
        try:
            from prefect.context import FlowRunContext

            ctx = FlowRunContext.get()
        except ImportError:  # pragma: no cover - prefect is a hard dependency
            return None
        flow_run = ctx.flow_run if ctx is not None else None
    params = getattr(flow_run, "parameters", None) or {}
    value = params.get("config_path") if isinstance(params, dict) else None
    return str(value) if value else None


def webhook_url(config_sections: dict[str, Any] | None = None) -> str | None:
    if os.environ.get(WEBHOOK_ENV):
        return os.environ[WEBHOOK_ENV]
    section = (config_sections or {}).get("notifications") or {}
    url = section.get("webhook_url") if isinstance(section, dict) else None
    return str(url) if url else None


def run_webhook(cfg: NotificationsConfig | None) -> str | None:
    """The run-notice webhook: the environment wins over the file."""
    if os.environ.get(WEBHOOK_ENV):
        return os.environ[WEBHOOK_ENV]
    return cfg.webhook_url.get_secret_value() if cfg and cfg.webhook_url else None


def post_json(url: str, payload: dict[str, Any], timeout: float = 5.0) -> bool:
    """POST the payload; a notification failure is logged, never raised (the run stands)."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
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
    """Prefect on_failure/on_crashed hook for every job flow: the flow's own config file."""
    try:
        url = run_webhook(load_notifications(flow_config_path(flow_run)))
    except Exception:  # a broken config must not stop the failure notice
        url = os.environ.get(WEBHOOK_ENV)
    message = getattr(state, "message", None) or state.type.value
    notify_failure(flow.name, str(flow_run.id), str(message).splitlines()[0], url)


def notifications_for_run(explicit: NotificationsConfig | None = None) -> NotificationsConfig:
    """The running flow's notifications (its config_path), tolerant: a broken section is logged
    and only the environment's webhook stays (the bundle is published already)."""
    if explicit is not None:
        return explicit
    try:
        return load_notifications(flow_config_path())
    except Exception as exc:
        log.warning("notifications not loaded, alerts not routed: %s", str(exc).splitlines()[0])
        return NotificationsConfig(routes=[], events=False)
