"""Agent may write outside the workspace or to protected files."""

from __future__ import annotations

from tasks.access.agent import auto_on
from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RooWriteOutsideWorkspace(Check):
    requires = ("settings",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for us in snapshot.settings.values():
            if not (auto_on(us) and us.g("alwaysAllowWrite")):
                continue
            scopes = [
                s
                for s, key in (
                    ("outside the workspace", "alwaysAllowWriteOutsideWorkspace"),
                    ("protected files", "alwaysAllowWriteProtected"),
                )
                if us.g(key)
            ]
            if scopes:
                out.append(
                    self.fail(
                        f"roo:{us.user}",
                        f"{us.user}'s agent auto-approves writes to {' and '.join(scopes)}",
                        scopes=scopes,
                        file=us.settings_file,
                    )
                )
        return out
