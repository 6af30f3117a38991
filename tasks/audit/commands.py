"""How a shell command is written into the ledger (never a secret in clear).

Preferred: the retention job's redaction engine (`tasks.retention`), which replaces
secrets inside the command and leaves the rest readable. When that engine is absent, the
command is stored as its first word plus a keyed HMAC-SHA256 of the rest
(`git <hmac:…>`): the same command always gives the same text (so the ledger stays
deterministic and searchable by equality), and nobody without the key can test guesses.
Without a key either, only the first word is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Any

HMAC_KEY_ENV = "COMPLIANCE_AUDIT_HMAC_KEY"


def _engine(
    redaction: dict[str, Any] | None, deployment: str | None
) -> Callable[[str], str] | None:
    """The retention job's redaction engine with the same `redaction:` config and key, so a
    secret gets the same marker in the ledger as in the redacted task logs."""
    try:
        from tasks.retention.config import parse_redaction, redaction_key
        from tasks.retention.engine import Redactor
    except ImportError:
        return None
    cfg = parse_redaction(redaction)
    redactor = Redactor(cfg, key=redaction_key(cfg, deployment))
    return lambda text: redactor.redact_text(text.encode()).decode("utf-8", "replace")


def hmac_redactor(key: bytes | None) -> Callable[[str], str]:
    def redact(command: str) -> str:
        first, _, rest = command.strip().partition(" ")
        rest = rest.strip()
        if not rest:
            return first
        if key is None:
            return f"{first} <withheld>"
        digest = hmac.new(key, rest.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{first} <hmac:{digest}>"

    return redact


def command_redactor(
    key_env: str = HMAC_KEY_ENV,
    redaction: dict[str, Any] | None = None,
    deployment: str | None = None,
) -> tuple[Callable[[str], str], str]:
    """(redact function, method name for the report summary). `deployment` seeds the
    retention engine's derived key when none is configured (the data bucket's name)."""
    engine = _engine(redaction, deployment)
    if engine is not None:
        return engine, "redaction-engine"
    raw = os.environ.get(key_env)
    if raw:
        return hmac_redactor(raw.encode()), "first-word+hmac-sha256"
    return hmac_redactor(None), "first-word-only (no HMAC key)"
