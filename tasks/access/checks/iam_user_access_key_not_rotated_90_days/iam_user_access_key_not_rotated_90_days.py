"""Active access key not rotated in 90 days."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import days_since, key_label
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamUserAccessKeyNotRotated90Days(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        limit = self.config.thresholds.key_rotation_days
        out = []
        for u in snapshot.iam.users.values():
            for k in u.active_keys:
                age = days_since(k.last_rotated, snapshot.now)
                if age is not None and age >= limit:
                    out.append(
                        self.fail(
                            key_label(u, k.slot, k.key_id),
                            f"active access key {k.slot} of {u.name} is {age} days old",
                            age_days=age,
                        )
                    )
        return out
