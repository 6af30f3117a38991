"""IAM user can escalate privileges."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import user_resource
from tasks.access.policies import admin_policies, privesc_paths
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamPrivilegeEscalationActions(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for u in snapshot.iam.users.values():
            if admin_policies(u):
                continue  # admins are reported by iam_administrator_policy_attached
            paths = privesc_paths(u)
            if paths:
                shown = "; ".join(" + ".join(p) for p in paths[:3])
                out.append(
                    self.fail(
                        user_resource(u),
                        f"IAM user {u.name} can escalate privileges via {shown}",
                        paths=paths,
                    )
                )
        return out
