"""The policy a generated fleet (tasks/telemetry/generator) is meant to follow: what the demo
proposes and approves, and what the tests plant deviations against. Its baseline is the
generator's safe settings; its organisation settings the generator's, with no allowAll."""

from __future__ import annotations

from typing import Any

from tasks.telemetry.generator import content
from tasks.telemetry.generator.catalog import MODES
from tasks.telemetry.generator.people import org_settings

DENY = ["rm -rf", "sudo", "git push --force"]


def fleet_policy(execute: bool = True) -> dict[str, Any]:
    """`execute=False` forbids auto-approved commands (the demo's stricter change)."""
    return {
        "version": 1,
        "baseline": {
            "providerProfiles": {
                "currentApiConfigName": "default",
                "apiConfigs": {
                    "default": {
                        "apiProvider": "anthropic",
                        "apiModelId": "claude-sonnet-4-5-20250929",
                    }
                },
            },  # fmt: skip
            "globalSettings": {
                "autoApprovalEnabled": True,
                "alwaysAllowReadOnly": True,
                "alwaysAllowWrite": True,
                "alwaysAllowWriteOutsideWorkspace": False,
                "alwaysAllowExecute": False,
                "alwaysAllowMcp": False,
                "allowedMaxRequests": 50,
                "allowedMaxCost": 5,
                "allowedCommands": ["git status", "git diff", "npm test"],
                "deniedCommands": DENY,
                "mode": "code",
            },  # fmt: skip
        },
        "organization": org_settings(allow_all=False, public_sharing=False),
        "rules": {
            "allowedModes": [*MODES, "docs-writer"],
            "commands": {"allow": list(content.SAFE_ALLOWED), "deny": DENY},
            "mcpServers": sorted(content.MCP_SERVERS),
            "autoApprove": {
                "allowedMaxRequests": 100,
                "allowedMaxCost": 10,
                "execute": execute,
                "write": True,
                "writeOutsideWorkspace": False,
                "mcp": True,
            },
        },  # fmt: skip
    }
