"""Roo Code auto-approval semantics shared by the agent checks."""

from __future__ import annotations

import re

from tasks.access.snapshot import UserSettings

# Auto-approvals that let the agent act (not just read).
ACTING_APPROVALS = [
    "alwaysAllowWrite",
    "alwaysAllowExecute",
    "alwaysAllowMcp",
    "alwaysAllowSubtasks",
]
WRITE_TOOL = re.compile(
    r"(write|edit|create|delete|remove|update|exec|run|shell|command|push|put|post|deploy|apply|"
    r"terminal|bash|insert|drop|merge|upload|send|modify|patch|move|rename)",
    re.I,
)


def auto_on(us: UserSettings) -> bool:
    """The master switch; individual alwaysAllow* flags do nothing while it is off."""
    return bool(us.g("autoApprovalEnabled", False))
