"""Access held by terminated or unknown people."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import user_resource
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RosterTerminatedOrUnknownAccess(Check):
    requires = ("roster",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        roster = snapshot.roster
        by_aws = snapshot.roster_by_aws_user()
        out = []
        for u in snapshot.iam.users.values() if snapshot.iam else []:
            if not u.has_credentials:
                continue
            person = by_aws.get(u.name)
            if person is None:
                out.append(
                    self.fail(
                        user_resource(u),
                        f"IAM user {u.name} has credentials but no one on the roster owns it",
                        reason="unknown",
                    )
                )
            elif not person.active:
                out.append(
                    self.fail(
                        user_resource(u),
                        f"IAM user {u.name} of {person.status} {person.user} still has credentials",
                        reason=person.status,
                        person=person.user,
                    )
                )
        for us in snapshot.settings.values():
            person = roster.get(us.user)
            if person is None:
                out.append(
                    self.fail(
                        f"roo:{us.user}",
                        f"Roo Code settings for {us.user}, who is not on the roster",
                        reason="unknown",
                    )
                )
            elif not person.active:
                out.append(
                    self.fail(
                        f"roo:{us.user}",
                        f"{person.status} user {us.user} still has Roo Code agent settings",
                        reason=person.status,
                        person=us.user,
                    )
                )
        return out
