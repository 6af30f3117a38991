"""Commands that ran auto-approved although the approved policy's allow-list does not admit
them (`behaviour.command_auto_approved`), and what each "auto-approved" rests on.

- **task file**: the event's `auto_approved` is true — what the ui messages show
  (tasks/telemetry/approval.py: Cline writes an auto-approved command as `say:"command"`).
- **settings snapshot**: Roo Code saves the same `ask:"command"` whether it auto-approves or
  not, so its events say null. Roo's rule (src/core/auto-approval/index.ts at
  cb836567180a3ff1da6d082f3178b90c3bd22a70) approves a command by itself exactly when
  `autoApprovalEnabled` and `alwaysAllowExecute` are on and getCommandDecision over
  `allowedCommands`/`deniedCommands` says auto_approve (tasks/access/commands.py is the port).
  When the user's collected settings say so, the command is taken as auto-approved — as of
  that snapshot (its file and collection time are in the finding); anything else stays
  unknown and is only counted.
"""

from __future__ import annotations

from typing import Any

from tasks.access.commands import command_decision
from tasks.access.snapshot import UserSettings
from tasks.policy.schema import PolicyDoc
from tasks.policy_drift.model import Inputs
from tasks.reports.summary import fmt

SETTING = "behaviour.command_auto_approved"
AUTO, UNKNOWN = "command_auto", "command_unknown"  # Usage kinds (collect.usage_of)


def settings_auto_approve(us: UserSettings | None, command: str) -> bool:
    """Would Roo Code have approved this command by itself under these settings?"""
    if us is None or us.g("autoApprovalEnabled") is not True:
        return False
    if us.g("alwaysAllowExecute") is not True:
        return False
    allowed, denied = us.g("allowedCommands") or [], us.g("deniedCommands") or []
    if not isinstance(allowed, list) or not isinstance(denied, list):
        return False
    # Roo's schema takes strings only (z.array(z.string())): anything else is no prefix
    allowed = [a for a in allowed if isinstance(a, str)]
    denied = [d for d in denied if isinstance(d, str)]
    return command_decision(command, allowed, denied) == "auto_approve"


def policy_admits(doc: PolicyDoc, command: str) -> bool:
    """The approved allow-list read as Roo reads allowedCommands (None: any command)."""
    allow = doc.rules.commands.allow
    if allow is None:
        return True
    return command_decision(command, allow, doc.rules.commands.deny) == "auto_approve"


def auto_approved(c: Any, doc: PolicyDoc, inputs: Inputs, users: set[str] | None) -> dict:
    """Findings through the collector `c`; returns the counts by evidence for the summary."""
    counts = {"task_file": 0, "settings_snapshot": 0, "unknown": 0}
    for u in sorted(inputs.usage, key=lambda u: (u.user, u.kind, u.value)):
        if u.kind not in (AUTO, UNKNOWN) or (users is not None and u.user not in users):
            continue
        us = inputs.settings.get(u.user)
        if u.kind == AUTO:
            evidence = "task file"
            counts["task_file"] += u.count
        elif settings_auto_approve(us, u.value):
            seen = inputs.settings_seen.get(us.settings_file or "") if us else None
            when = f" collected {seen:%Y-%m-%d %H:%M}" if seen else ""
            evidence = f"settings snapshot {us.settings_file}{when}" if us else ""
            counts["settings_snapshot"] += u.count
        else:
            counts["unknown"] += u.count
            continue
        if policy_admits(doc, u.value):
            continue
        c.drift(u.user, SETTING, f"only commands {fmt(doc.rules.commands.allow)} auto-approved",
                u.shown, u.first_seen, "validated/events", count=u.count,
                evidence=evidence)  # fmt: skip
    return counts
