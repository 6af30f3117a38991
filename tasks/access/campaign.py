"""Review campaigns: one item per privileged grant, an independent reviewer, a due date."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import orjson
from pydantic import BaseModel

from tasks.access.config import CampaignConfig
from tasks.access.grants import Grant
from tasks.access.snapshot import RosterEntry
from tasks.common.csvsafe import SafeDictWriter
from tasks.common.errors import InputError
from tasks.common.models import Finding, FindingStatus, Severity, iso_z, stable_id

CAMPAIGN_COLUMNS = [
    "item_id",
    "campaign_id",
    "grant_id",
    "kind",
    "resource",
    "subject",
    "aws_user",
    "team",
    "reviewer",
    "reviewer_source",
    "due",
    "detail",
]
CAMPAIGN_CHECK = "access_campaign"


class CampaignItem(BaseModel):
    item_id: str
    campaign_id: str
    grant_id: str
    kind: str
    resource: str
    subject: str
    aws_user: str
    team: str
    reviewer: str
    reviewer_source: str  # manager | team_owner | default | none
    due: str
    detail: str


class Directory:
    """Roster lookups by user name or e-mail (managers are often given as e-mails)."""

    def __init__(self, roster: dict[str, RosterEntry]) -> None:
        self.roster = roster
        self.by_email = {p.email.strip().lower(): p for p in roster.values() if p.email}

    def find(self, who: str) -> RosterEntry | None:
        return self.roster.get(who) or self.by_email.get(who.strip().lower())


def assign_reviewer(
    grant: Grant, roster: dict[str, RosterEntry] | Directory, cfg: CampaignConfig
) -> tuple[str, str]:
    """The subject's manager, else the team owner, else the default reviewer; never the subject."""
    directory = roster if isinstance(roster, Directory) else Directory(roster)
    has_roster = bool(directory.roster)
    subject = {grant.subject.lower(), grant.aws_user.lower()} - {""}

    def ok(name: str | None) -> str | None:
        if not name:
            return None
        person = directory.find(name) if has_roster else None
        if has_roster and (person is None or not person.active):
            return None
        resolved = person.user if person else name
        ids = {resolved.lower(), name.lower()} | (
            {person.email.lower(), person.aws_user.lower()} if person else set()
        )
        return None if ids & subject else resolved

    person = directory.roster.get(grant.subject)
    for source, candidate in (
        ("manager", person.manager if person else None),
        ("team_owner", cfg.team_owners.get(grant.team)),
        ("default", cfg.default_reviewer),
    ):
        if reviewer := ok(candidate):
            return reviewer, source
    return "", "none"


def build_campaign(
    grants: list[Grant],
    roster: dict[str, RosterEntry],
    cfg: CampaignConfig,
    campaign_id: str,
    now: datetime,
) -> tuple[list[CampaignItem], list[Finding]]:
    due = iso_z(now + timedelta(days=cfg.due_days))
    items, findings = [], []
    directory = Directory(roster)
    for g in grants:
        reviewer, source = assign_reviewer(g, directory, cfg)
        item = CampaignItem(
            item_id=stable_id(campaign_id, g.id),
            campaign_id=campaign_id,
            grant_id=g.id,
            kind=g.kind,
            resource=g.resource,
            subject=g.subject,
            aws_user=g.aws_user,
            team=g.team,
            reviewer=reviewer,
            reviewer_source=source,
            due=due,
            detail=orjson.dumps(g.detail, option=orjson.OPT_SORT_KEYS).decode(),
        )
        items.append(item)
        if not reviewer:
            findings.append(
                Finding.make(
                    CAMPAIGN_CHECK,
                    Severity.high,
                    FindingStatus.fail,
                    g.resource,
                    f"no independent reviewer for {g.kind} grant of {g.subject or g.aws_user or 'an unknown owner'}",
                    grant_id=g.id,
                    item_id=item.item_id,
                )
            )
    return items, findings


def campaign_csv_bytes(items: list[CampaignItem]) -> bytes:
    buf = io.StringIO()
    writer = SafeDictWriter(buf, fieldnames=CAMPAIGN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in items:
        writer.writerow(item.model_dump())
    return buf.getvalue().encode()


def parse_campaign(content: bytes, source: str = "campaign.csv") -> list[CampaignItem]:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    missing = [c for c in CAMPAIGN_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{source}: not a campaign sheet (missing columns {missing})")
    return [CampaignItem(**{c: row[c] or "" for c in CAMPAIGN_COLUMNS}) for row in reader]
