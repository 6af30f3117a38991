"""IAM user has two active access keys."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import user_resource
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamUserTwoActiveAccessKeys(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        return [
            self.fail(
                user_resource(u), f"IAM user {u.name} has {len(u.active_keys)} active access keys"
            )
            for u in snapshot.iam.users.values()
            if len(u.active_keys) >= 2
        ]
