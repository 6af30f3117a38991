"""Organisation allows public task sharing."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class OrgPublicTaskSharing(Check):
    requires = ("org",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        cloud = snapshot.org.cloud_settings
        if cloud.get("enableTaskSharing", True) and cloud.get("allowPublicTaskSharing", True):
            return [
                self.fail(
                    "roo:org/cloudSettings",
                    "organisation allows public task sharing",
                    default=("allowPublicTaskSharing" not in cloud),
                    file=snapshot.org.source,
                )
            ]
        return [self.passed("roo:org/cloudSettings", "public task sharing is off")]
