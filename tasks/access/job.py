"""access-review's steps (the job contract, tasks/common/contract.py): its period, collect
(the snapshot, the previous verified review and its decisions), evaluate (the review)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.access.config import AccessConfig
from tasks.access.iam import iam_client
from tasks.access.previous import (
    PreviousBundle,
    PreviousBundleError,
    decided_items,
    load_previous,
    trusted_keys,
)
from tasks.access.run import JOB, ReviewResult, collect_snapshot, review
from tasks.access.snapshot import AccessSnapshot
from tasks.common.contract import JobResult, Scope
from tasks.common.errors import ComplianceError, ConfigError
from tasks.common.models import FindingStatus, Period
from tasks.common.s3 import make_session, s3_client
from tasks.common.settings import StorageSettings
from tasks.common.storage import open_store
from tasks.reports import Table

DEFAULT_DAYS = 7  # the review runs weekly


@dataclass
class Collected:
    snapshot: AccessSnapshot
    inputs: list[dict[str, Any]]
    previous: PreviousBundle | None
    previous_error: str | None
    decisions: tuple[set[str] | None, list[dict], list[str]]
    scope: Scope


def period(since: str | None, until: str | None) -> Period:
    return review_period(since, until)


def collect(settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> Collected:
    snapshot, inputs = collect_for_settings(settings, cfg.access, scope.now)
    previous, previous_error = previous_for_settings(settings, cfg.access)
    decisions = decided_for_previous(settings, cfg.access, previous)
    return Collected(snapshot, inputs, previous, previous_error, decisions, scope)


def evaluate(c: Collected, cfg: Any) -> JobResult:
    decided, decision_inputs, untrusted = c.decisions
    s = c.scope
    result = review(c.snapshot, cfg.access, run_id=s.run_id, now=s.now, team=s.team, user=s.user, previous=c.previous, previous_error=c.previous_error, decided=decided, untrusted_decisions=untrusted)  # fmt: skip
    inputs = list(c.inputs)
    if c.previous is not None:
        inputs += [
            {"uri": c.previous.envelope_uri, "digest": {"sha256": c.previous.envelope_sha256}},
            *decision_inputs,  # the decisions bundles on its campaign
        ]
    return JobResult(result.findings, result.summary, inputs=inputs, files=result.files,
                     tables=tables_for(result))  # fmt: skip


def after_publish(settings: StorageSettings, cfg: Any, c: Collected, result: JobResult,
                  published: dict[str, Any], scope: Scope) -> None:  # fmt: skip
    """Reviewers hear of their open items and due dates: this campaign's and the previous
    one's not yet decided (one message each, the alerts' cooldown state). Never raises."""
    from tasks.access.campaign import parse_campaign
    from tasks.access.campaign_notices import reviewer_notices_for_run

    if scope.dry_run:
        return
    items = []
    if "campaign.csv" in result.files:
        items += parse_campaign(result.files["campaign.csv"], str(published.get("bundle") or ""))
    if c.previous is not None and "campaign.csv" in c.previous.files:
        items += parse_campaign(c.previous.files["campaign.csv"], c.previous.envelope_uri)
    if items:
        reviewer_notices_for_run(items, c.decisions[0] or set(), c.snapshot.roster or {},
                                 settings, scope.notifications, scope.now)  # fmt: skip


def _moment(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--{name}: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 time"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def review_period(since: str | None, until: str | None, now: datetime | None = None) -> Period:
    now = now or datetime.now(UTC)
    end = (
        _moment(until, "until")
        if until
        else now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    )
    start = _moment(since, "since") if since else end - timedelta(days=DEFAULT_DAYS)
    if end <= start:
        raise ConfigError(
            f"--until {until or end.date()} is not after --since {since or start.date()}"
        )
    return Period(start=start, end=end)


def data_location(settings: StorageSettings, cfg: AccessConfig) -> str:
    if cfg.source:
        return cfg.source
    settings.require("data_bucket")
    return f"s3://{settings.data_bucket}/"


def collect_for_settings(
    settings: StorageSettings, cfg: AccessConfig, now: datetime
) -> tuple[AccessSnapshot, list[dict[str, Any]]]:
    store = open_store(data_location(settings, cfg), s3_client(settings))
    iam = (
        iam_client(make_session(settings), cfg.iam_endpoint_url or settings.endpoint_url)
        if cfg.collect_iam
        else None
    )
    return collect_snapshot(store, cfg, now, iam)


def previous_for_settings(
    settings: StorageSettings, cfg: AccessConfig, job: str = JOB
) -> tuple[PreviousBundle | None, str | None]:
    """The last verified review, or (None, why it is not trusted)."""
    if not settings.reports_bucket:
        return None, None
    try:
        trusted = trusted_keys(settings, cfg.trusted_public_keys)
        return load_previous(s3_client(settings), settings.reports_bucket, job, trusted), None
    except (PreviousBundleError, ComplianceError, OSError) as exc:
        return None, str(exc)[:300]


def decided_for_previous(
    settings: StorageSettings, cfg: AccessConfig, previous: PreviousBundle | None
) -> tuple[set[str] | None, list[dict], list[str]]:
    """Accepted decisions on the previous review's campaign (None: no campaign to follow)."""
    if previous is None or "campaign.csv" not in previous.files or not settings.reports_bucket:
        return None, [], []
    trusted = trusted_keys(settings, cfg.trusted_public_keys)
    return decided_items(s3_client(settings), settings.reports_bucket, previous, trusted)


def tables_for(result: ReviewResult) -> list[Table]:
    per_check: dict[str, list[int]] = {}
    for f in result.findings:
        row = per_check.setdefault(f.check, [0, 0, 0])
        row[
            0
            if f.status == FindingStatus.fail and not f.details.get("muted")
            else 1
            if f.details.get("muted")
            else 2
        ] += 1
    kinds: dict[str, int] = {}
    for g in result.grants:
        kinds[g.kind] = kinds.get(g.kind, 0) + 1
    return [
        Table(
            "Findings by check",
            ["check", "open", "muted", "pass/error"],
            [[c, *v] for c, v in sorted(per_check.items())],
        ),
        Table(
            "Privileged grants under review",
            ["kind", "grants"],
            sorted([k, n] for k, n in kinds.items()),
        ),
    ]
