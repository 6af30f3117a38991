"""Active access key unused for 45 days or never used."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import days_since, key_label
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamUserAccessKeyUnused45Days(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        limit = self.config.thresholds.key_unused_days
        out = []
        for u in snapshot.iam.users.values():
            for k in u.active_keys:
                if k.last_used is not None:
                    age = days_since(k.last_used, snapshot.now)
                    if age >= limit:
                        out.append(
                            self.fail(
                                key_label(u, k.slot, k.key_id),
                                f"active access key {k.slot} of {u.name} unused for {age} days",
                                days_unused=age,
                            )
                        )
                    continue
                # Never used: count from creation (Prowler skips these keys).
                since = k.last_rotated or u.created
                age = days_since(since, snapshot.now)
                if age is not None and age >= limit:
                    out.append(
                        self.fail(
                            key_label(u, k.slot, k.key_id),
                            f"active access key {k.slot} of {u.name} never used in the {age} days since it was created",
                            days_unused=age,
                            never_used=True,
                        )
                    )
        return out
