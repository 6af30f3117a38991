"""Administrator without MFA."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import admin_users, user_resource
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RosterAdminWithoutMfa(Check):
    requires = ("iam", "roster")

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        by_aws = snapshot.roster_by_aws_user()
        out = []
        for name, u in sorted(admin_users(snapshot).items()):
            if u.mfa_active:
                continue
            person = by_aws.get(name)
            who = person.user if person else "no one on the roster"
            out.append(
                self.fail(
                    user_resource(u),
                    f"administrator {name} (owned by {who}) has no MFA",
                    person=person.user if person else None,
                )
            )
        return out
