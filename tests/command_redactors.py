"""A deterministic stand-in for the ledger's command redactor in unit tests that build
ledgers from hand-made tables (the product always uses the redaction engine:
tasks/audit/commands.py)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable


def hmac_redactor(key: bytes) -> Callable[[str], str]:
    """First word kept, the rest replaced by a keyed digest: same command, same text."""

    def redact(command: str) -> str:
        first, _, rest = command.strip().partition(" ")
        rest = rest.strip()
        if not rest:
            return first
        return f"{first} <hmac:{hmac.new(key, rest.encode(), hashlib.sha256).hexdigest()[:32]}>"

    return redact
