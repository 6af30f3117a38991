"""Credentials stored in agent settings."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import days_since
from tasks.access.secrets import find_credentials
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RooCredentialsInSettings(Check):
    requires = ("settings",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        keys = snapshot.iam.key_index() if snapshot.iam else {}
        rotation = self.config.thresholds.key_rotation_days
        out = []
        for us in snapshot.settings.values():
            for cred in find_credentials(us):
                details = {
                    "location": cred.location,
                    "kind": cred.kind,
                    "fingerprint": cred.fingerprint,
                }
                sev = None
                match = keys.get(cred.aws_key_id) if cred.aws_key_id else None
                if match:
                    iam_user, key = match
                    age = days_since(key.last_rotated, snapshot.now)
                    details.update(iam_user=iam_user.name, key_active=key.active, key_age_days=age)
                    if key.active and (age or 0) >= rotation:
                        sev = "critical"
                elif cred.aws_key_id and cred.aws_key_id.startswith("AKIA"):
                    details["long_lived_aws_key"] = True
                out.append(
                    self.fail(
                        f"roo:{us.user}/{cred.location}",
                        f"{cred.kind} stored in {us.user}'s settings ({cred.fingerprint})",
                        severity=sev,
                        **details,
                    )
                )
        return out
