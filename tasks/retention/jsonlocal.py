"""Local JSON structure: the string around a byte, found without parsing from the start.

The redaction engine meets a prefilter hit at some byte of a (possibly huge) JSON text and
needs the string token holding it, or the `"key": "value"` around an operator, in time
bounded by the neighbourhood, not by the text before it.
"""

from __future__ import annotations

import re

WS = b" \t\r\n"


def operator_before(data: bytes, end: int) -> int:
    """The `:` of `"key": "value…` when a keyword hit ends in the first bytes of a value that
    is its own JSON string; otherwise the hit's last byte."""
    q = data.rfind(b'"', max(0, end - _HEAD), end)
    if q > 0 and not escaped(data, q) and not _VALUE_STOP.search(data, q + 1, end):
        i = q - 1
        while i >= 0 and data[i] in WS:
            i -= 1
        if i >= 0 and data[i] == 0x3A:
            return i
    return max(end - 1, 0)


_HEAD = 24  # a keyword prefilter ends at most this far into its value
_VALUE_STOP = re.compile(rb"[\s\"'`,;<>(){}\[\]]")


# --- local JSON structure: find the string around a byte without parsing from the start ---
# Every unescaped quote is a token boundary. One followed by a byte that cannot follow a
# closing quote opens a string for sure; quotes alternate open/close, so walking back to
# such a quote tells whether any quote opens or closes.
AFTER_CLOSE = frozenset(b":,]} \t\r\n")
_MAX_WALK = 4096


def escaped(data: bytes, i: int) -> bool:
    n, j = 0, i - 1
    while j >= 0 and data[j] == 0x5C:
        n, j = n + 1, j - 1
    return n % 2 == 1


def prev_quote(data: bytes, i: int) -> int:
    """Index of the last unescaped quote before i (-1 if none)."""
    q = data.rfind(b'"', 0, i)
    while q >= 0 and escaped(data, q):
        q = data.rfind(b'"', 0, q)
    return q


def next_quote(data: bytes, i: int) -> int:
    """Index of the first unescaped quote at or after i (-1 if none)."""
    q = data.find(b'"', i)
    while q >= 0 and escaped(data, q):
        q = data.find(b'"', q + 1)
    return q


def _opens(data: bytes, q: int) -> bool | None:
    if q + 1 >= len(data):
        return None
    return True if data[q + 1] not in AFTER_CLOSE else None


def _quote_opens(data: bytes, q: int) -> bool:
    steps, cur = 0, q
    while steps < _MAX_WALK:
        if _opens(data, cur):
            return steps % 2 == 0
        prev = prev_quote(data, cur)
        if prev < 0:  # cur is the first quote of the text, which opens
            return steps % 2 == 0
        cur, steps = prev, steps + 1
    # pathological run of ambiguous quotes: count from the start
    total = 0
    i = next_quote(data, 0)
    while 0 <= i < q:
        total += 1
        i = next_quote(data, i + 1)
    return total % 2 == 0


def string_start(data: bytes, p: int) -> int:
    """Opening quote of the string containing byte p, or -1 if p is outside strings."""
    q = prev_quote(data, p)
    if q < 0:
        return -1
    return q if _quote_opens(data, q) else -1


def skip_ws(data: bytes, i: int) -> int:
    n = len(data)
    while i < n and data[i] in WS:
        i += 1
    return i


def next_char(data: bytes, i: int) -> bytes:
    i = skip_ws(data, i)
    return data[i : i + 1]


_NUM = frozenset(b"0123456789+-.eE")


def number_token(data: bytes, p: int) -> tuple[int, int]:
    s = e = p
    while s > 0 and data[s - 1] in _NUM:
        s -= 1
    while e < len(data) and data[e] in _NUM:
        e += 1
    return s, e
