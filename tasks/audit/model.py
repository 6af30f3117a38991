"""What counts as a mutating action, and how a ledger entry is written down.

Edit-capable modes come from Roo Code's built-in modes (packages/types/src/mode.ts,
DEFAULT_MODES): `code` and `debug` have the `edit` group, `architect` has it restricted
to Markdown (`fileRegex: \\.md$`); `ask` has no edit group and `orchestrator` has no
groups at all (it only delegates). Custom modes are added through the config
(`audit: edit_modes`), since the events do not carry a mode's groups.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from tasks.telemetry.classify import WRITE_TOOL_IDS, WRITE_TOOLS

JOB = "audit-trail"

KINDS = ("file_write", "command", "mcp_call", "rollback", "mode_switch")

# The write tools are ingestion's own classification, so the ledger and the
# `mutates` flag it is checked against can never disagree.
UI_WRITE_TOOLS = WRITE_TOOLS
TELEMETRY_WRITE_TOOLS = WRITE_TOOL_IDS
TELEMETRY_COMMAND_TOOLS = frozenset({"execute_command"})
TELEMETRY_MCP_TOOLS = frozenset({"use_mcp_tool"})
MODE_SWITCH_TOOLS = frozenset({"switchMode", "switch_mode"})

# Built-in modes that hold the `edit` group; the value is the group's fileRegex, if any.
BUILTIN_EDIT_MODES: dict[str, str | None] = {"code": None, "debug": None, "architect": r"\.md$"}

UI_SOURCE = "ui_messages"

# Field order of ledger.csv (and the complete set of keys of a ledger line).
ENTRY_FIELDS = (
    "seq",
    "entry_id",
    "ts",
    "kind",
    "action",
    "user",
    "team",
    "task_id",
    "workspace",
    "path",
    "command",
    "mcp_server",
    "mcp_tool",
    "target_mode",
    "auto_approved",
    "source",
    "source_seq",
)
CONTENT_FIELDS = tuple(f for f in ENTRY_FIELDS if f not in ("seq", "entry_id"))


def canonical(obj: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 (orjson never escapes non-ASCII)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def entry_id(content: dict[str, Any]) -> str:
    """A stable id: the SHA-256 (first 128 bits, hex) of the entry's canonical content."""
    return hashlib.sha256(canonical(content)).hexdigest()[:32]


def sort_key(entry: dict[str, Any]) -> tuple:
    # ts strings are fixed-width ISO 8601 with milliseconds, so they sort as times do.
    return (
        entry["ts"],
        entry["user"] or "",
        entry["task_id"] or "",
        entry["source_seq"] or 0,
        entry["entry_id"],
    )
