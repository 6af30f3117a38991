"""MCP server auto-approves write or execute tools."""

from __future__ import annotations

from tasks.access.agent import WRITE_TOOL, auto_on
from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RooMcpAlwaysAllowWrite(Check):
    requires = ("settings",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for us in snapshot.settings.values():
            effective = auto_on(us) and bool(us.g("alwaysAllowMcp"))
            for server in us.effective_mcp():
                risky = sorted(
                    t for t in server.always_allow if WRITE_TOOL.search(str(t)) or str(t) == "*"
                )
                if server.disabled or not risky:
                    continue
                sev = None if effective else "medium"
                out.append(
                    self.fail(
                        f"roo:{us.user}/mcp/{server.source}/{server.name}",
                        f"MCP server {server.name} ({server.source}) of {us.user} always allows write/execute tools {', '.join(risky)}",
                        severity=sev,
                        tools=risky,
                        auto_approval_effective=effective,
                    )
                )
        return out
