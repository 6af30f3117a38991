"""Console password unused for 45 days."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import days_since, user_resource
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamUserConsolePasswordUnused45Days(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        limit = self.config.thresholds.password_unused_days
        out = []
        for u in snapshot.iam.users.values():
            if not u.password_enabled:
                continue
            ref = u.password_last_used or u.password_last_changed or u.created
            age = days_since(ref, snapshot.now)
            if age is not None and age >= limit:
                never = u.password_last_used is None
                what = "never used since it was set" if never else "unused"
                out.append(
                    self.fail(
                        user_resource(u),
                        f"console password of {u.name} {what} for {age} days",
                        days_unused=age,
                        never_used=never,
                    )
                )
        return out
