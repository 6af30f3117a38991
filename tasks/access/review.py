"""Evaluate every registered check over a snapshot, then apply the mute list."""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase

from tasks.access.config import AccessConfig, Mute
from tasks.access.registry import discover
from tasks.access.snapshot import AccessSnapshot
from tasks.common.errors import ConfigError
from tasks.common.models import SEVERITY_RANK, Finding, FindingStatus


def evaluate_checks(snapshot: AccessSnapshot, config: AccessConfig) -> list[Finding]:
    registry = discover()
    wanted = config.checks or sorted(registry)
    unknown = sorted(set(wanted) - set(registry))
    if unknown:
        raise ConfigError(f"access.checks: unknown check ids {unknown}")
    findings: list[Finding] = []
    for check_id in wanted:
        findings.extend(registry[check_id](config).run(snapshot))
    return sort_findings(findings)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    order = {FindingStatus.error: 0, FindingStatus.fail: 1, FindingStatus.passed: 2}
    return sorted(
        findings, key=lambda f: (order[f.status], -SEVERITY_RANK[f.severity], f.check, f.resource)
    )


def apply_mutes(findings: list[Finding], mutes: list[Mute], today: date) -> dict[str, int]:
    """Mark matching failures muted (details.muted=true, never removed). Expired mutes stop."""
    stats = {"muted": 0, "expired_mutes": sum(1 for m in mutes if m.expires < today)}
    for f in findings:
        if f.status != FindingStatus.fail:
            continue
        for m in mutes:
            if not (fnmatchcase(f.check, m.check) and fnmatchcase(f.resource, m.resource)):
                continue
            mute = {
                "justification": m.justification,
                "owner": m.owner,
                "expires": m.expires.isoformat(),
            }
            if m.expires < today:
                f.details["expired_mute"] = mute  # shown so the owner renews or fixes it
                continue
            f.details["muted"] = True
            f.details["mute"] = mute
            stats["muted"] += 1
            break
    return stats


def scope_snapshot(
    snapshot: AccessSnapshot, team: str | None = None, user: str | None = None
) -> AccessSnapshot:
    """Restrict a snapshot to one team or one user (roster people, their IAM users, settings)."""
    if not team and not user:
        return snapshot
    roster = snapshot.roster or {}
    people = {
        name
        for name, p in roster.items()
        if (not team or p.team == team) and (not user or name == user)
    }
    if user and user not in roster:
        people.add(user)  # a user not on the roster can still be reviewed by name
    aws_users = {roster[p].aws_user for p in people if p in roster and roster[p].aws_user}
    iam = snapshot.iam
    if iam is not None:
        iam = iam.model_copy(
            update={"users": {n: u for n, u in iam.users.items() if n in aws_users}, "root": None}
        )
    return snapshot.model_copy(
        update={
            "iam": iam,
            "settings": {u: s for u, s in snapshot.settings.items() if u in people},
            "roster": {n: p for n, p in roster.items() if n in people}
            if snapshot.roster is not None
            else None,
            "errors": [
                e
                for e in snapshot.errors
                if e.scope != "settings" or any(f"raw/roo/{p}/" in e.source for p in people)
            ],
        }
    )
