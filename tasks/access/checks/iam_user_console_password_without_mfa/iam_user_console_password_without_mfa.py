"""IAM user has a console password but no MFA."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import user_resource
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamUserConsolePasswordWithoutMfa(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        return [
            self.fail(user_resource(u), f"IAM user {u.name} can sign in to the console without MFA")
            for u in snapshot.iam.users.values()
            if u.password_enabled and not u.mfa_active
        ]
