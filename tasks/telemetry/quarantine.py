"""Quarantine rows: where, why, one line of detail, and a short redacted excerpt.

A record may carry secrets (prompts, command lines, tool arguments), so the excerpt is
at most 200 characters, control characters are flattened, and anything that looks like
a token or key (long runs of key-like characters, key=value pairs) is masked.
"""

from __future__ import annotations

import re

EXCERPT_MAX = 200
DETAIL_MAX = 300

# long runs of base64/hex/key characters (API keys, tokens, hashes)
_TOKENISH = re.compile(r"[A-Za-z0-9_\-+/=.]{20,}")
_ASSIGN = re.compile(
    r"(?i)((?:api[_-]?key|secret|token|password|passwd|authorization|bearer)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',}]+"
)
_CTRL = re.compile(r"[\x00-\x1f\x7f]+")

Row = tuple[str, str, str, str, str, str | None]


def redact_excerpt(raw: bytes | str | None) -> str | None:
    """At most 200 characters of `raw`, on one line, with key-like material masked."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw[: EXCERPT_MAX * 4].decode("utf-8", "replace")
    text = raw[: EXCERPT_MAX * 2]
    text = _ASSIGN.sub(r"\1[redacted]", text)
    text = _TOKENISH.sub("[redacted]", text)
    text = _CTRL.sub(" ", text)
    return text[:EXCERPT_MAX]


def one_line(text: str) -> str:
    return _CTRL.sub(" ", text)[:DETAIL_MAX]


def qrow(
    source: str,
    position: str,
    reason: str,
    detail: str,
    excerpt: bytes | str | None = None,
    stage: str = "parse",
) -> Row:
    """A QUARANTINE_SCHEMA row (source, position, reason, detail, stage, record_excerpt)."""
    return (source, position, reason, one_line(detail), stage, redact_excerpt(excerpt))
