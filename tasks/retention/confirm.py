"""What the confirm step needs besides a rule's value checks: which compiled pattern
confirms a rule, which prefilter hits are worth a window, and the context around a match
that says it is not a secret after all (engine.Redactor.spans runs them in this order)."""

from __future__ import annotations

import re

from tasks.retention.pem import PemPattern


def confirm_pattern(pattern: str) -> re.Pattern[bytes] | PemPattern:
    """The compiled confirm pattern; the PEM rule's text gets its linear-time twin."""
    return PemPattern() if pattern == PemPattern.pattern else re.compile(pattern.encode())


def thin(hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A prefilter ending in an open repeat reports every byte of a long token: keep the
    first and last end of each such run (their windows cover the run; both lie in the same
    JSON string), not the bytes between."""
    seen = set(hits)
    return [
        (end, rid) for end, rid in hits if (end - 1, rid) not in seen or (end + 1, rid) not in seen
    ]


def masked_after(data: bytes, e: int) -> bool:
    """`xoxp-5723…-####`: the rest of the token was masked for display."""
    return _MASK_AFTER.match(data, e) is not None


def unquoted_interpolation(data: bytes, s: int, value: bytes) -> bool:
    """`password = pre$fix` outside quotes: a shell expands `$fix`."""
    return data[s - 1 : s] not in (b'"', b"'", b"`") and _INTERP.search(value) is not None


def inside_word(data: bytes, s: int, e: int) -> bool:
    """data[s:e] has a letter or digit on either side (a source regex without boundaries)."""
    return (s > 0 and data[s - 1] in _ALNUM) or (e < len(data) and data[e] in _ALNUM)


def inside_marker(data: bytes, i: int) -> bool:
    """True if i falls inside an earlier `[REDACTED:<kind>:<hex>]` (reruns are no-ops)."""
    m = data.rfind(b"[REDACTED:", max(0, i - 64), i)
    return m >= 0 and data.find(b"]", m, i) < 0


_INTERP = re.compile(rb"\$[A-Za-z_{]")
_MASK_AFTER = re.compile(rb"#{4}|\*{4}|(?:\xe2\x80\xa2){4}")
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
