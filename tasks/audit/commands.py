"""How a shell command is written into the ledger (never a secret in clear).

Commands pass through the log-retention redaction engine (`tasks.retention`) with the same
`redaction:` config and key, which replaces secrets inside the command and leaves the rest
readable, so a secret gets the same marker in the ledger as in the redacted task logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasks.retention.config import parse_redaction, redaction_key
from tasks.retention.engine import Redactor

METHOD = "redaction-engine"


def command_redactor(
    redaction: dict[str, Any] | None = None, deployment: str | None = None
) -> tuple[Callable[[str], str], str]:
    """(redact function, method name for the report summary). `deployment` seeds the
    engine's derived key when none is configured (the data bucket's name)."""
    cfg = parse_redaction(redaction)
    redactor = Redactor(cfg, key=redaction_key(cfg, deployment))
    return (lambda text: redactor.redact_text(text.encode()).decode("utf-8", "replace")), METHOD
