"""Person would approve their own access."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RosterSelfApproval(Check):
    requires = ("roster",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for person in snapshot.roster.values():
            if not person.active:
                continue
            mgr = person.manager.strip().lower()
            if mgr and mgr in {person.user.lower(), person.email.lower(), person.aws_user.lower()}:
                out.append(
                    self.fail(
                        f"roster:{person.user}",
                        f"{person.user} is listed as their own manager",
                        team=person.team,
                    )
                )
        return out
