"""Broad command prefixes auto-approved."""

from __future__ import annotations

from tasks.access.agent import auto_on
from tasks.access.base import Check
from tasks.access.commands import command_decision, find_longest_prefix_match
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RooBroadAllowedCommands(Check):
    requires = ("settings",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for us in snapshot.settings.values():
            if not (auto_on(us) and us.g("alwaysAllowExecute")):
                continue
            allowed, denied = us.g("allowedCommands") or [], us.g("deniedCommands") or []
            hits = {}
            for probe in self.config.risky_commands:
                if command_decision(probe, allowed, denied) == "auto_approve":
                    prefix = find_longest_prefix_match(probe, allowed)
                    hits.setdefault(prefix, []).append(probe.split()[0])
            if hits:
                prefixes = sorted(hits)
                out.append(
                    self.fail(
                        f"roo:{us.user}",
                        f"{us.user}'s agent auto-approves risky commands via {', '.join(repr(p) for p in prefixes)}",
                        prefixes=prefixes,
                        examples=sorted({c for v in hits.values() for c in v}),
                        file=us.settings_file,
                    )
                )
        return out
