"""Policies attached directly to an IAM user."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import user_resource
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamPolicyAttachedDirectlyToUser(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for u in snapshot.iam.users.values():
            direct = sorted(p.name for p in u.policies if p.via == "user")
            if direct:
                out.append(
                    self.fail(
                        user_resource(u),
                        f"IAM user {u.name} has {len(direct)} policies attached directly",
                        policies=direct,
                    )
                )
        return out
