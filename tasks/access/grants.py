"""Privileged grants: what a reviewer certifies or revokes, and what the diff compares."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tasks.access.agent import WRITE_TOOL, auto_on
from tasks.access.helpers import key_label, user_resource
from tasks.access.policies import admin_policies, privesc_paths
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import stable_id


class Grant(BaseModel):
    id: str
    kind: str  # iam_admin | iam_privilege_escalation | iam_access_key | roo_auto_execute | …
    resource: str
    subject: str  # roster person ("" = unknown)
    aws_user: str = ""
    team: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def make(cls, kind: str, resource: str, **kw: Any) -> Grant:
        return cls(id=stable_id("grant", kind, resource), kind=kind, resource=resource, **kw)


def collect_grants(snapshot: AccessSnapshot) -> list[Grant]:
    roster = snapshot.roster or {}
    by_aws = snapshot.roster_by_aws_user()
    grants: list[Grant] = []
    for u in snapshot.iam.users.values() if snapshot.iam else []:
        person = by_aws.get(u.name)
        who = {
            "subject": person.user if person else "",
            "aws_user": u.name,
            "team": person.team if person else "",
        }
        admin = admin_policies(u)
        if admin:
            grants.append(
                Grant.make(
                    "iam_admin",
                    user_resource(u),
                    detail={"policies": sorted(p.name for p in admin)},
                    **who,
                )
            )
        elif paths := privesc_paths(u):
            grants.append(
                Grant.make(
                    "iam_privilege_escalation", user_resource(u), detail={"paths": paths}, **who
                )
            )
        for k in u.active_keys:
            grants.append(
                Grant.make(
                    "iam_access_key",
                    key_label(u, k.slot, k.key_id),
                    detail={"key_id": k.key_id, "slot": k.slot},
                    **who,
                )
            )
    for us in snapshot.settings.values():
        person = roster.get(us.user)
        who = {
            "subject": us.user if person else "",
            "aws_user": person.aws_user if person else "",
            "team": person.team if person else "",
        }
        if not auto_on(us):
            continue
        if us.g("alwaysAllowExecute"):
            grants.append(
                Grant.make(
                    "roo_auto_execute",
                    f"roo:{us.user}",
                    detail={
                        "allowedCommands": sorted(map(str, us.g("allowedCommands") or [])),
                        "deniedCommands": sorted(map(str, us.g("deniedCommands") or [])),
                    },
                    **who,
                )
            )
        if us.g("alwaysAllowWrite") and (
            us.g("alwaysAllowWriteOutsideWorkspace") or us.g("alwaysAllowWriteProtected")
        ):
            grants.append(
                Grant.make(
                    "roo_write_outside_workspace",
                    f"roo:{us.user}",
                    detail={
                        "outside": bool(us.g("alwaysAllowWriteOutsideWorkspace")),
                        "protected": bool(us.g("alwaysAllowWriteProtected")),
                    },
                    **who,
                )
            )
        for server in us.effective_mcp():
            risky = sorted(
                t for t in server.always_allow if WRITE_TOOL.search(str(t)) or str(t) == "*"
            )
            if risky and not server.disabled:
                grants.append(
                    Grant.make(
                        "roo_mcp_always_allow",
                        f"roo:{us.user}/mcp/{server.source}/{server.name}",
                        detail={"tools": risky},
                        **who,
                    )
                )
    return sorted(grants, key=lambda g: (g.kind, g.resource))
