"""`auto_approved` of a command event: what the task file itself shows, else null.

What each agent writes (read in their source, not guessed):

- **Cline** (cline/cline b1394a381bc6dcec22500c0e56df94f1219cf27e,
  src/core/task/tools/handlers/ExecuteCommandToolHandler.ts, "Auto-approve flow" /
  "Manual approval flow"): an auto-approved command replaces its partial `ask:"command"` with
  `say:"command"`; a command that needs a person stays `ask:"command"`. So `say` -> True,
  `ask` -> False. The published Cline files in tests/telemetry/corpus/real agree: their 60
  `say:"command"` rows are followed by output within 94-937 ms, their 2 `ask:"command"` rows
  by 6 s and 882 s (a person).
- **Roo Code** (RooCodeInc/Roo-Code cb836567180a3ff1da6d082f3178b90c3bd22a70,
  src/core/task/Task.ts `ask()`, src/core/auto-approval/index.ts `checkAutoApproval`): every
  command is an `ask:"command"` saved *before* the auto-approval decision, which then answers
  it with `approveAsk()` — the same `yesButtonClicked` a click sends. `isAnswered` is only
  set on `ask:"tool"` and `ask:"followup"`, never on a command; the ask keeps the `ts` of its
  first streamed chunk, so the gap to the output mixes streaming, start-up and the wait and
  proves nothing; Roo's telemetry (`Tool Used`: taskId, tool) carries no approval either.
  The one mark a person leaves: text typed with the answer is saved as `say:"user_feedback"`
  right after the ask (presentAssistantMessage.ts `askApproval`); auto-approval sends none.
  So `user_feedback` next -> False; anything else -> null (unknown).

policy-drift adds what the user's settings snapshot shows for Roo's nulls (evaluate.py).
"""

from __future__ import annotations


def command_approval(agent: str, typ: str, next_kind: str | None) -> bool | None:
    """True/False where the file shows it; None where it cannot (see the module's text)."""
    if agent == "cline":
        return typ == "say"
    if typ == "ask" and next_kind == "user_feedback":
        return False
    return None


def next_kind_of(msgs: list, seq: int) -> str | None:
    """The ask/say kind of the message after `seq`, if it is a well-formed one."""
    if seq + 1 >= len(msgs):
        return None
    m = msgs[seq + 1]
    if type(m) is not dict or m.get("type") not in ("ask", "say"):
        return None
    kind = m.get(m["type"])
    return kind if type(kind) is str else None
