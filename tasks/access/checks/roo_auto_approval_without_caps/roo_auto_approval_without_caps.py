"""Auto-approval without request or cost cap."""

from __future__ import annotations

from tasks.access.agent import ACTING_APPROVALS, auto_on
from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RooAutoApprovalWithoutCaps(Check):
    requires = ("settings",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for us in snapshot.settings.values():
            acting = [k for k in ACTING_APPROVALS if us.g(k)]
            if not (auto_on(us) and acting):
                continue
            if not _cap(us.g("allowedMaxRequests")) and not _cap(us.g("allowedMaxCost")):
                out.append(
                    self.fail(
                        f"roo:{us.user}",
                        f"{us.user}'s agent auto-approves {', '.join(acting)} with no request or cost cap",
                        approvals=acting,
                    )
                )
        return out


def _cap(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
