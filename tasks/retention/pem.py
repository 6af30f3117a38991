"""The private_key rule's confirm step without its lazy loop.

`PEM_PATTERN` (the rule's text in rules.py) reads: a BEGIN line, then either (a) 40 to
12,000 body units (a byte of `_BODY` or an escape `\\n`, `\\r`, `\\t` written out) up to
the first END line, or (b) lines of 40+ base64 characters. Python's `re` runs (a) as a lazy
loop that tries the END line after every unit. `PemPattern` finds the same matches, in the
same order, with C-speed scans: the body's first bad byte by one regex search, END lines by
bytes.find. Both caches only move forward, so many BEGIN lines in one body cost one pass
(62 KB of BEGIN lines that never reach a key's END: 50 ms to redact with the regex, 9 ms
with this). tests/retention/test_pem.py compares the two on tricky and random inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

_HEAD = r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
_BODY = r"[A-Za-z0-9+/=:,. \t\r\n-]"
_END = r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
_LINES = r"(?:(?:[ \t\r\n]|\\[nr])+[A-Za-z0-9+/=]{40,})+"
MIN_UNITS, MAX_UNITS = 40, 12000
PEM_PATTERN = (
    _HEAD + rf"(?:(?:{_BODY}|\\[nrt]){{{MIN_UNITS},{MAX_UNITS}}}?{_END}" + "|" + _LINES + ")"
)

_BEGIN, _END_AT = b"-----BEGIN", b"-----END"
_LABEL_RUN = re.compile(rb"[ A-Z0-9_-]*")  # what `[ A-Z0-9_-]{0,100}` may take
_END_LINE = re.compile(_END.encode())
_LINES_RX = re.compile(_LINES.encode())
# the first byte a body unit cannot start at: not in BODY, or `\` not before n/r/t
_BAD = re.compile(rb"[^A-Za-z0-9+/=:,. \t\r\n\\-]|\\(?![nrt])")


class PemMatch(NamedTuple):
    """The part of re.Match the engine reads (group 0 only)."""

    begin: int
    end: int

    def span(self, group: int = 0) -> tuple[int, int]:
        return (self.begin, self.end)

    def start(self, group: int = 0) -> int:
        return self.begin


class PemPattern:
    """Drop-in for the compiled PEM_PATTERN's finditer(data, pos, endpos)."""

    pattern = PEM_PATTERN

    def finditer(self, data: bytes, pos: int = 0, endpos: int | None = None) -> Iterator[PemMatch]:
        hi = len(data) if endpos is None else min(endpos, len(data))
        scan = _Scan(data, hi)
        s = data.find(_BEGIN, pos, hi)
        while s >= 0:
            e = scan.match_at(s)
            if e >= 0:
                yield PemMatch(s, e)
                s = data.find(_BEGIN, e, hi)
            else:
                s = data.find(_BEGIN, s + 1, hi)


class _Scan:
    """One finditer's state: data[:hi] and two forward-only caches."""

    def __init__(self, data: bytes, hi: int) -> None:
        self.data, self.hi = data, hi
        self.bad_from, self.bad = -1, -1  # first bad byte >= bad_from is at bad
        self.end_from, self.end_at = -1, -1  # first END line at >= end_from is at end_at

    def match_at(self, s: int) -> int:
        """End of the pattern's match at s (a `-----BEGIN`), -1 if none."""
        for h in self._heads(s):
            e = self._body(h)
            if e < 0:
                m = _LINES_RX.match(self.data, h, self.hi)
                e = m.end() if m else -1
            if e >= 0:
                return e
        return -1

    def _heads(self, s: int) -> list[int]:
        """Where the BEGIN line may end, in the order the regex backtracks (longest first)."""
        data, hi, lo = self.data, self.hi, s + len(_BEGIN)
        run = _LABEL_RUN.match(data, lo, min(hi, lo + 100)).end()
        heads = []
        k = data.find(b"PRIVATE KEY", lo, min(hi, run + 11))
        while k >= 0:
            for tail in (b"PRIVATE KEY BLOCK-----", b"PRIVATE KEY-----"):
                if data.startswith(tail, k, hi):
                    heads.append(k + len(tail))
                    break
            k = data.find(b"PRIVATE KEY", k + 1, min(hi, run + 11))
        return heads[::-1]

    def _body(self, h: int) -> int:
        """Branch (a) from h: the end of the first END line after 40 to 12,000 body units."""
        data, hi = self.data, self.hi
        if not self.bad_from <= h <= self.bad:  # a later body: search again
            m = _BAD.search(data, h, hi)
            self.bad_from, self.bad = h, m.start() if m else hi
        bad = self.bad  # the body's units stop there: an END line starts at or before it
        p = self._end_line(h + MIN_UNITS)
        while 0 <= p <= bad and p - h < 2 * MIN_UNITS and self._units(h, p) < MIN_UNITS:
            p = self._end_line(p + 1)
        if p < 0 or p > bad or p - h > MAX_UNITS and self._units(h, p) > MAX_UNITS:
            return -1
        return _END_LINE.match(data, p, hi).end()

    def _units(self, h: int, p: int) -> int:
        """Body units in data[h:p] (inside a body every `\\` starts a 2-byte escape); the
        callers count only when bytes alone do not decide (a unit is 1 or 2 bytes)."""
        return p - h - self.data.count(b"\\", h, p)

    def _end_line(self, x: int) -> int:
        """The first p >= x where the END line matches, -1 if none before hi."""
        if self.end_from <= x <= self.end_at or (self.end_at < 0 <= self.end_from <= x):
            return self.end_at
        p = self.data.find(_END_AT, x, self.hi)
        while p >= 0 and not _END_LINE.match(self.data, p, self.hi):
            p = self.data.find(_END_AT, p + 1, self.hi)
        self.end_from, self.end_at = x, p
        return p
