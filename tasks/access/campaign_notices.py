"""Campaign reviewers told of their items and due date, and reminded as it nears.

One message per reviewer and run: the items they must decide (kind, resource, subject, item
id — never a grant's `detail`, which may name key ids or settings values) and the due date.
Each item is announced once (`assigned`), reminded once per threshold in
`notifications.reviewers.remind_days` (`due-in-3d`, `due-in-1d`) and once when `overdue`;
decided items drop out. What was sent lives in the same state file and under the same
cooldown as the job's alerts (state/access-review/alerts.json, tasks/common/alerts.py): a
reviewer's destination that got a message within the cooldown gets nothing new until it ends.
URLs hold tokens and SMTP passwords: errors and logs name the reviewer and the service only.
"""

from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tasks.access.campaign import CampaignItem, Directory
from tasks.access.snapshot import RosterEntry
from tasks.common import alerts
from tasks.common.models import to_utc
from tasks.common.notify import NotificationsConfig, ReviewerNotices

log = logging.getLogger(__name__)

JOB = "access-review"  # the state file and cooldown the job's alerts use
NOTICE = "access_campaign.notice"


@dataclass(frozen=True)
class Mark:
    """What alerts.record_sent keeps per destination: an id, a check and a resource."""

    id: str
    check: str
    resource: str


def stage_of(due: datetime, now: datetime, remind_days: list[int]) -> str:
    left = due - now
    if left < timedelta(0):
        return "overdue"
    hit = [d for d in remind_days if left <= timedelta(days=d)]
    return f"due-in-{min(hit)}d" if hit else "assigned"


def _due(item: CampaignItem) -> datetime | None:
    try:
        return to_utc(datetime.fromisoformat(item.due.replace("Z", "+00:00")))
    except ValueError:
        return None


def with_to(url: str, address: str) -> str:
    """The reviewer's address as the mail URL's `to` (any `to` in the URL is replaced)."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "to"]
    query.append(("to", address))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def message(reviewer: str, items: list[tuple[CampaignItem, str]]) -> tuple[str, str, dict]:
    """(title, markdown body, JSON payload) listing the reviewer's items and due dates."""
    dues = sorted({i.due for i, _ in items})
    stages = {s for _, s in items}
    lead = "overdue" if "overdue" in stages else f"due {dues[0]}"
    title = f"[compliance] access review: {len(items)} item(s) for {reviewer}, {lead}"
    lines = [f"{reviewer}, please certify or revoke these grants by {', '.join(dues)}:"]
    for item, stage in items:
        who = item.subject or item.aws_user or "an unknown owner"
        note = "" if stage == "assigned" else f" ({stage.replace('-', ' ')})"
        lines.append(f"- `{item.kind}` {item.resource} of {who}, item {item.item_id}{note}")
    lines.append("\nDecide with `compliance access-review decide --decisions FILE.csv`.")
    payload = {
        "event": "access_review.reviewer_notice",
        "reviewer": reviewer,
        "due": dues,
        "items": [{"item_id": i.item_id, "campaign_id": i.campaign_id, "kind": i.kind,
                   "resource": i.resource, "subject": i.subject, "due": i.due, "stage": s}
                  for i, s in items],
    }  # fmt: skip
    return title, "\n".join(lines), payload


def send(url: str, title: str, body: str, payload: dict[str, Any]) -> str | None:
    """None when delivered, else a reason without the URL."""
    alerts.SCRUB.add(url)
    kind = alerts.url_kind(url)
    try:
        if kind == "json-webhook":
            alerts.post_json(url, payload)
            return None
        plugin = alerts._apprise_plugin(url)
        if plugin is None:
            return "not a supported URL"
        from apprise import NotifyFormat, NotifyType

        ok = plugin.notify(body=body, title=title, notify_type=NotifyType.INFO,
                           body_format=NotifyFormat.MARKDOWN)  # fmt: skip
        return None if ok else f"{kind} refused or unreachable"
    except Exception as exc:  # one reviewer's failure never stops the others
        return f"{kind}: {type(exc).__name__}"


def _destinations(reviewer: str, person: RosterEntry | None, cfg: ReviewerNotices):
    """(state key, URL) per place this reviewer's message goes; the e-mail needs an address."""
    out = []
    if cfg.email_url is not None and person is not None and person.email:
        out.append(
            (f"reviewer:{reviewer}#email", with_to(cfg.email_url.get_secret_value(), person.email))
        )
    for i, url in enumerate(cfg.urls):
        out.append((f"reviewer:{reviewer}#{i}", url.get_secret_value()))
    return out  # fmt: skip


def notify_reviewers(
    items: list[CampaignItem],
    decided: set[str],
    roster: dict[str, RosterEntry],
    cfg: NotificationsConfig,
    client: Any,
    bucket: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Plan, send, record. Returns counts and one-line problems (never raises for delivery)."""
    rc = cfg.reviewers
    out: dict[str, Any] = {"reviewers": 0, "items": 0, "suppressed": 0, "no_address": []}
    if not rc.enabled:
        return out
    now = to_utc(now)
    directory = Directory(roster)
    open_items: dict[str, list[tuple[CampaignItem, str]]] = {}
    for item in items:
        due = _due(item)
        if item.item_id in decided or not item.reviewer:
            continue
        if due is None:  # a sheet edited by hand: said, not guessed
            out.setdefault("bad_due", []).append(item.item_id)
            continue
        open_items.setdefault(item.reviewer, []).append((item, stage_of(due, now, rc.remind_days)))
    if not open_items:
        return out
    state = (
        alerts.load_state(client, bucket, JOB)
        if bucket
        else {"version": alerts.STATE_VERSION, "sent": {}}
    )
    cutoff = now - timedelta(hours=cfg.cooldown_hours)
    errors, changed, notified, held = [], False, set(), set()
    for reviewer, todo in sorted(open_items.items()):
        person = directory.find(reviewer)
        dests = _destinations(reviewer, person, rc)
        if rc.email_url is not None and not (person and person.email):
            out["no_address"].append(reviewer)
        sent_here = False
        for dest, url in dests:
            marks = state["sent"].get(dest, {})
            new = [(i, s) for i, s in todo if f"{i.item_id}:{s}" not in marks]
            recent = any(datetime.fromisoformat(v["last_sent"]) > cutoff for v in marks.values()
                         if isinstance(v, dict) and "last_sent" in v)  # fmt: skip
            if not new:
                continue
            if recent:
                held |= {i.item_id for i, _ in new}
                continue
            why = send(url, *message(reviewer, new))
            if why is not None:  # not recorded: the next run tries again
                errors.append(f"reviewer {reviewer} {dest.rsplit('#', 1)[1]}: {why}")
                log.warning("reviewer notice not delivered: %s", errors[-1])
                continue
            alerts.record_sent(state, dest, [Mark(f"{i.item_id}:{s}", NOTICE, i.resource)
                                             for i, s in new], now)  # fmt: skip
            sent_here = changed = True
            notified |= {i.item_id for i, _ in new}
        out["reviewers"] += sent_here
    out["items"], out["suppressed"] = len(notified), len(held - notified)
    if bucket and changed:
        alerts.save_state(client, bucket, JOB, state)
    if errors:
        out["errors"] = errors
    return out


def reviewer_notices_for_run(
    items: list[CampaignItem],
    decided: set[str],
    roster: dict[str, RosterEntry],
    settings: Any,
    cfg: NotificationsConfig | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The flows' step (access-review after its campaign, access-review-decisions after the
    decisions): the run's notifications config, the data bucket's state; a failure is one
    logged line in the result, never raised (the bundle is the record)."""
    from datetime import UTC

    from tasks.common.errors import StorageError
    from tasks.common.notify import notifications_for_run
    from tasks.common.s3 import s3_client

    try:
        cfg = notifications_for_run(cfg)
        client = s3_client(settings) if settings.data_bucket else None
        return notify_reviewers(items, decided, roster, cfg, client, settings.data_bucket,
                                now or datetime.now(UTC))  # fmt: skip
    except Exception as exc:  # storage down or similar
        why = str(exc).splitlines()[0] if isinstance(exc, StorageError) else type(exc).__name__
        log.warning("reviewer notices not sent: %s", why)
        return {"reviewers": 0, "items": 0, "suppressed": 0, "errors": [why]}


def remind_latest_campaign(
    settings: Any, access: Any, cfg: NotificationsConfig | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Reminders on the latest verified access-review campaign, between reviews (a daily
    step): its items less the accepted decisions on it, the roster's addresses."""
    from tasks.access import job
    from tasks.access.campaign import parse_campaign
    from tasks.access.sources import collect_roster
    from tasks.common.s3 import s3_client
    from tasks.common.storage import S3Store

    latest, why = job.previous_for_settings(settings, access)
    if latest is None or "campaign.csv" not in latest.files:
        return {"reviewers": 0, "items": 0, "suppressed": 0,
                "problem": why or "no verified access-review campaign"}  # fmt: skip
    decided, _, _ = job.decided_for_previous(settings, access, latest)
    items = parse_campaign(latest.files["campaign.csv"], latest.envelope_uri)
    roster, _ = collect_roster(S3Store(s3_client(settings), settings.data_bucket))
    return reviewer_notices_for_run(items, decided or set(), roster or {}, settings, cfg, now)
