"""Small helpers shared by checks."""

from __future__ import annotations

from datetime import datetime

from tasks.access.policies import admin_policies
from tasks.access.snapshot import AccessSnapshot, IamUser


def days_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else (now - moment).days


def key_label(user: IamUser, slot: int, key_id: str | None) -> str:
    suffix = f"/{key_id}" if key_id else ""
    return f"iam:user/{user.name}/access_key_{slot}{suffix}"


def user_resource(user: IamUser) -> str:
    return f"iam:user/{user.name}"


def admin_users(snapshot: AccessSnapshot) -> dict[str, IamUser]:
    return {
        n: u for n, u in (snapshot.iam.users if snapshot.iam else {}).items() if admin_policies(u)
    }
