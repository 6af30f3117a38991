"""Project MCP config overrides a global server."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class RooProjectMcpOverridesGlobal(Check):
    requires = ("settings",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for us in snapshot.settings.values():
            for project, servers in sorted(us.mcp_projects.items()):
                for name, server in sorted(servers.items()):
                    glob = us.mcp_global.get(name)
                    if glob is None:
                        continue
                    changed = [
                        f
                        for f in ("command", "args", "url", "type", "always_allow")
                        if getattr(glob, f) != getattr(server, f)
                    ]
                    if sorted(glob.env) != sorted(server.env):
                        changed.append("env")
                    if changed:
                        out.append(
                            self.fail(
                                f"roo:{us.user}/project/{project}/mcp/{name}",
                                f"project {project} of {us.user} overrides global MCP server {name} ({', '.join(changed)} differ)",
                                changed=changed,
                            )
                        )
        return out
