"""Agent may run any command unattended (god mode)."""

from __future__ import annotations

from tasks.access.agent import auto_on
from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RooGodModeAutoApprove(Check):
    requires = ("settings",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for us in snapshot.settings.values():
            allowed = [str(c).strip().lower() for c in us.g("allowedCommands") or []]
            if (
                auto_on(us)
                and us.g("alwaysAllowExecute")
                and "*" in allowed
                and not (us.g("deniedCommands") or [])
            ):
                out.append(
                    self.fail(
                        f"roo:{us.user}",
                        f"{us.user}'s agent auto-approves every command ('*' allowed, nothing denied)",
                        file=us.settings_file,
                    )
                )
        return out
