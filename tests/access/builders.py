"""Small snapshot builders for check tests (pure data, no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.access.snapshot import (
    AccessKey,
    AccessSnapshot,
    CollectError,
    IamSnapshot,
    IamUser,
    McpServer,
    OrgSettings,
    Policy,
    RootAccount,
    RosterEntry,
    UserSettings,
)

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
ADMIN_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
READ_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
}
PRIVESC_DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}
    ],
}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def key(
    slot: int = 1,
    *,
    active: bool = True,
    age: float = 10,
    used: float | None = 1,
    key_id: str | None = None,
) -> AccessKey:
    return AccessKey(
        key_id=key_id or f"AKIA{'TEST' * 3}{slot:04d}",
        slot=slot,
        active=active,
        last_rotated=ago(age),
        last_used=None if used is None else ago(used),
    )


def user(name: str = "u1", **kw: Any) -> IamUser:
    base: dict[str, Any] = {"arn": f"arn:aws:iam::123456789012:user/{name}", "created": ago(400)}
    base.update(kw)
    return IamUser(name=name, **base)


def policy(
    name: str,
    doc: dict | None,
    *,
    via: str = "group:devs",
    inline: bool = False,
    arn: str | None = None,
) -> Policy:
    return Policy(name=name, document=doc, via=via, inline=inline, arn=arn)


def roo(
    name: str = "u1",
    *,
    mcp: dict[str, McpServer] | None = None,
    projects: dict | None = None,
    profiles: dict | None = None,
    **gs: Any,
) -> UserSettings:
    return UserSettings(
        user=name,
        settings_file=f"raw/roo/{name}/settings/roo-code-settings.json",
        global_settings=gs,
        provider_profiles=profiles
        or {
            "currentApiConfigName": "default",
            "apiConfigs": {"default": {"id": "x", "apiProvider": "anthropic"}},
        },
        mcp_global=mcp or {},
        mcp_projects=projects or {},
    )


def server(name: str, *, source: str = "global", **kw: Any) -> McpServer:
    return McpServer(name=name, source=source, **kw)


def person(
    name: str = "u1",
    *,
    manager: str = "boss",
    status: str = "active",
    aws_user: str | None = None,
    team: str = "core",
) -> RosterEntry:
    return RosterEntry(
        user=name,
        email=f"{name}@example.com",
        team=team,
        manager=manager,
        status=status,
        aws_user=aws_user if aws_user is not None else name,
    )


def snap(
    users: list[IamUser] | None = None,
    *,
    root: RootAccount | None = None,
    settings: list[UserSettings] | None = None,
    org: OrgSettings | None = None,
    roster: list[RosterEntry] | None = None,
    errors: list[CollectError] | None = None,
    iam: bool = True,
) -> AccessSnapshot:
    people = (
        roster
        if roster is not None
        else [person("boss", manager="ceo"), person("ceo", manager="board")]
    )
    return AccessSnapshot(
        now=NOW,
        iam=IamSnapshot(users={u.name: u for u in users or []}, root=root) if iam else None,
        settings={s.user: s for s in settings or []},
        org=org,
        roster={p.user: p for p in people},
        errors=errors or [],
    )
