"""Retention planner: which objects are past their data class's retention and free of holds.

Pure decisions over listings (`decide`), plus the S3 reads that feed them (versions,
legal holds, Object Lock retention). Nothing here deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.common.layout import QUARANTINE, RAW_ROO, REDACTED_ROO
from tasks.common.models import iso_z, to_utc
from tasks.common.safepath import UnsafeKeyError, key_problem
from tasks.common.storage import S3Store, check_key, iter_version_pages
from tasks.retention.config import RetentionConfig
from tasks.retention.reads import head_version

CLASSES = {"raw": RAW_ROO, "redacted": REDACTED_ROO, "quarantine": QUARANTINE}


@dataclass
class Version:
    version_id: str
    size: int
    last_modified: str
    delete_marker: bool = False
    legal_hold: str | None = None  # "ON" / "OFF" / None (not checked or no lock)
    retain_until: str | None = None
    sha256: str | None = None  # filled before deletion, so the manifest can prove content


@dataclass
class PlanItem:
    bucket: str
    key: str
    data_class: str
    user: str | None
    task_id: str | None
    newest: str  # ISO time of the newest version
    age_days: float
    rule: str
    decision: str = "keep"  # "delete" | "keep"
    reason: str = ""
    versions: list[Version] = field(default_factory=list)
    source_redacted: str | None = None  # the collector's mark, as checked (tasks/retention/job.py)

    def as_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every leaf (~1.5 ms an item, per call)
        data = dict(vars(self))
        data["versions"] = [dict(vars(v)) for v in self.versions]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanItem:
        versions = [Version(**v) for v in data.get("versions", [])]
        return cls(**{**data, "versions": versions})


def data_class_of(key: str) -> str | None:
    if key.startswith(RAW_ROO):
        return "raw" if "/tasks/" in key else None  # settings exports are not task logs
    if key.startswith(REDACTED_ROO):
        return "redacted"
    if key.startswith(QUARANTINE):
        return "quarantine"
    return None


def user_and_task(key: str) -> tuple[str | None, str | None]:
    """raw/roo/<user>/tasks/<taskId>/… (same under redacted/roo/)."""
    parts = key.split("/")
    if len(parts) >= 5 and parts[0] in ("raw", "redacted") and parts[1] == "roo":
        user = parts[2]
        task = parts[4] if parts[3] == "tasks" else None
        return user, task
    return None, None


def redacted_key(raw_key: str) -> str:
    return REDACTED_ROO + raw_key[len(RAW_ROO) :]


def config_hold(cfg: RetentionConfig, user: str | None, task: str | None) -> str | None:
    holds = cfg.legal_holds
    if user and user in holds.users:
        return f"legal_hold:config:user:{user}"
    if task and task in holds.tasks:
        return f"legal_hold:config:task:{task}"
    for matter, members in holds.matters.items():
        if (user and user in members) or (task and task in members):
            return f"legal_hold:config:matter:{matter}"
    return None


def days_for(cfg: RetentionConfig, data_class: str) -> int:
    return {
        "raw": cfg.raw_days,
        "redacted": cfg.redacted_days,
        "quarantine": cfg.quarantine_days,
    }[data_class]


def list_versions(client, bucket: str, prefix: str) -> Iterator[tuple[str, list[Version]]]:
    """(key, versions) for every key under prefix, delete markers included, page by page."""
    current_key, current = None, []
    for entries in iter_version_pages(client, bucket, prefix):
        for entry, marker in entries:
            if entry["Key"] != current_key:
                if current_key is not None:
                    yield current_key, current
                current_key, current = entry["Key"], []
            current.append(
                Version(
                    version_id=entry.get("VersionId") or "null",
                    size=int(entry.get("Size", 0)),
                    last_modified=iso_z(entry["LastModified"]),
                    delete_marker=marker,
                )
            )
    if current_key is not None:
        yield current_key, current


def hold_of(v: Version, head: dict[str, Any], now: datetime) -> str | None:
    """The hold a HEAD or GET response shows on one version (it carries the same headers)."""
    v.legal_hold = head.get("ObjectLockLegalHoldStatus")
    until = head.get("ObjectLockRetainUntilDate")
    v.retain_until = iso_z(until) if until else None
    if v.legal_hold == "ON":
        return "legal_hold:s3"
    if until and to_utc(until) > now:
        return f"object_lock:{head.get('ObjectLockMode', 'retention')}:{iso_z(until)}"
    return None


def version_hold(client, bucket: str, key: str, v: Version, now: datetime) -> str | None:
    """One versioned HEAD through the storage layer (reads.head_version); a version gone
    since listing (404) holds nothing; any other failure is raised."""
    if v.delete_marker:
        return None
    head = head_version(client, bucket, key, v.version_id)
    return None if head is None else hold_of(v, head, now)


def s3_hold(client, bucket: str, key: str, versions: list[Version], now: datetime) -> str | None:
    """Legal hold or unexpired Object Lock retention on any version (a HEAD per version)."""
    for v in versions:
        if hold := version_hold(client, bucket, key, v, now):
            return hold
    return None


def unsafe_key(key: str) -> str | None:
    """Why the storage layer refuses to read `key` (a key that could climb out of a
    root), or None."""
    try:
        check_key(key)
    except UnsafeKeyError:
        return key_problem(key)
    return None


def plan_prefix(
    client,
    bucket: str,
    prefix: str,
    cfg: RetentionConfig,
    now: datetime | None = None,
    *,
    s3_holds: bool = True,
    listing: list[tuple[str, list[Version]]] | None = None,
) -> list[PlanItem]:
    """Decide every object under one prefix (typically one user's raw/roo/<user>/).

    s3_holds=False leaves S3 holds of expired objects to the caller, which reads them from
    the GET it makes of every version anyway (a HEAD each saved); the dry run HEADs.
    `listing`: the prefix's (key, versions) when listed already (see `listed_work`).
    """
    now = to_utc(now or datetime.now(UTC))
    items = []
    listed = listing if listing is not None else list_versions(client, bucket, prefix)
    for key, versions in listed:
        data_class = data_class_of(key)
        if data_class is None:
            continue
        user, task = user_and_task(key)
        newest = max(datetime.fromisoformat(v.last_modified) for v in versions)
        days = days_for(cfg, data_class)
        item = PlanItem(
            bucket=bucket,
            key=key,
            data_class=data_class,
            user=user,
            task_id=task,
            newest=iso_z(newest),
            age_days=round((now - newest).total_seconds() / 86400, 3),
            rule=f"retention.{data_class}_days={days}",
            versions=versions,
        )
        if now - newest < timedelta(days=days):
            item.reason = "young"
        elif problem := unsafe_key(key):  # never read, so neither copied nor hashed
            item.reason = f"unsafe_key: {problem}"
        elif hold := (
            config_hold(cfg, user, task)
            or (s3_holds and s3_hold(client, bucket, key, versions, now))
        ):
            item.reason = hold
        else:
            item.decision, item.reason = "delete", "expired"
        items.append(item)
    return items


def user_prefixes(client, bucket: str, users: list[str] | None = None) -> list[str]:
    """One prefix per user under raw/roo/ and redacted/roo/, plus quarantine/."""
    if users:
        return [f"{root}{u}/" for root in (RAW_ROO, REDACTED_ROO) for u in users]
    store = S3Store(client, bucket)
    prefixes = [
        f"{root}{user}/" for root in (RAW_ROO, REDACTED_ROO) for user in store.children(root)[0]
    ]
    return prefixes + [QUARANTINE]


@dataclass
class PrefixWork:
    """One unit of planning: a user prefix with its versions listed already, and (for a
    raw prefix) the user's redacted copies that exist. One ListObjectVersions per root
    page instead of one listing per user prefix (on moto each call copies the bucket)."""

    prefix: str
    listing: list[tuple[str, list[Version]]] = field(default_factory=list)
    copies: set[str] = field(default_factory=set)


def _owner(key: str) -> str:
    for root in (RAW_ROO, REDACTED_ROO):
        if key.startswith(root):
            return root + key[len(root) :].split("/", 1)[0] + "/"
    return QUARANTINE if key.startswith(QUARANTINE) else ""


def listed_work(client, bucket: str, prefixes: list[str]) -> list[PrefixWork]:
    """The prefixes (as `user_prefixes` gives them) with their listings, made per root."""
    work = {p: PrefixWork(p) for p in prefixes}
    roots = [r for r in (RAW_ROO, REDACTED_ROO, QUARANTINE) if any(p.startswith(r) for p in work)]
    for root in roots:
        for key, versions in list_versions(client, bucket, root):
            owner = work.get(_owner(key))
            if owner is not None:
                owner.listing.append((key, versions))
            newest = max(versions, key=lambda v: v.last_modified)
            raw = work.get(RAW_ROO + _owner(key)[len(REDACTED_ROO) :])
            if root == REDACTED_ROO and raw is not None and not newest.delete_marker:
                raw.copies.add(key)
    return list(work.values())
