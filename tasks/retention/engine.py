"""The redaction engine: Hyperscan prefilter over raw bytes, precise checks in windows.

Text is redacted in place. JSON is redacted token by token: only string tokens holding a
prefilter hit are decoded (JSON strings inside JSON strings recursively, so escaped
newlines never hide a PEM key), redacted and re-encoded; everything else is copied byte
for byte, so the output is valid JSON with the same messages and fields.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

import hyperscan
import orjson

from tasks.retention import confirm
from tasks.retention.config import RedactionConfig
from tasks.retention.jsonlocal import (
    WS,
    escaped,
    next_char,
    next_quote,
    number_token,
    operator_before,
    prev_quote,
    skip_ws,
    string_start,
)
from tasks.retention.rules import (
    DEFAULT_ALLOW_REGEXES,
    DEFAULT_ALLOW_VALUES,
    REGISTRY,
    RuleSpec,
)
from tasks.retention.sources import loaded_rules
from tasks.retention.validators import PLACEHOLDER_CHECKED, VALIDATORS, is_placeholder

MAX_DEPTH = 4  # JSON-in-JSON nesting we decode
_ASSIGNMENT_RULES = frozenset({"generic_secret", "password_assignment"})
_MEMO_ENTRIES = 4096  # value verdicts kept per Redactor (cleared when full)
_MEMO_VALUE_BYTES = 256  # longer values (PEM keys) are rare and not kept
_DATABASES: dict[tuple, hyperscan.Database] = {}  # read-only once compiled: shared by threads


class Span(NamedTuple):
    start: int
    end: int
    rule: int  # index into Redactor.rules (lower = higher priority)


def custom_rule_spec(rule) -> RuleSpec:
    prefilter = f"(?i){re.escape(rule.keyword)}" if rule.keyword else rule.pattern
    return RuleSpec(
        name=f"custom_{rule.name}",
        kind=rule.kind,
        category="custom",
        pattern=rule.pattern,
        prefilter=prefilter,
        hs_prefilter_mode=not rule.keyword,
        window=1000,
    )


class Redactor:
    """Compiled rules + allowlist + HMAC key. One per thread (Hyperscan scratch is not shared)."""

    def __init__(self, config: RedactionConfig | None = None, key: bytes = b"") -> None:
        cfg = config or RedactionConfig()
        off = set(cfg.disabled_rules)
        # our own rules first (they win overlaps), then the installed rule source's
        rules = [r for n, r in REGISTRY.items() if n not in off]
        rules += [r for r in loaded_rules() if r.name not in off]
        rules += [custom_rule_spec(c) for c in cfg.custom_rules]
        self.rules: list[RuleSpec] = rules
        self.patterns = [confirm.confirm_pattern(r.pattern) for r in rules]
        self.validators = [VALIDATORS[r.validator] if r.validator else None for r in rules]
        self.is_secret = [r.category == "secret" for r in rules]
        # secrets whose validator did not already rule out placeholders
        self.placeholder_check = [
            r.category == "secret" and r.validator not in PLACEHOLDER_CHECKED for r in rules
        ]
        self.unbounded = [r.source != "compliance-jobs" and r.category == "secret" for r in rules]
        self.assignment = {i for i, r in enumerate(rules) if r.name in _ASSIGNMENT_RULES}
        self.key = key or b"compliance-jobs-default"
        self.allow_values = {v.encode() for v in DEFAULT_ALLOW_VALUES | set(cfg.allowlist.values)}
        allow_rx = list(DEFAULT_ALLOW_REGEXES) + list(cfg.allowlist.regexes)
        self.allow_regexes = [re.compile(x.encode()) for x in allow_rx]
        self.counts: Counter[str] = Counter()
        self._verdicts: dict[tuple[int, bytes], int] = {}  # see _value_verdict
        # one multi-pattern database: a single pass over the bytes for every rule
        self.escape_id = len(rules)  # hits of the JSON-escape trigger (not a rule)
        # a prefilter anchored to the buffer's start or end cannot scan many files at once
        # hits found in a JSON text hold for a string inside it unless a prefilter is
        # anchored to a line start (`^`, multi-line)
        self.reuse_hits = not any(re.search(r"(?<!\[)\^", r.prefilter) for r in rules)
        self.batchable = not any(re.search(r"\\[AzZ]", r.prefilter) for r in rules)
        self.db = self._compile(list(range(len(rules))))

    def _compile(self, ids: list[int]) -> tuple[hyperscan.Database, hyperscan.Scratch]:
        rules = [self.rules[i] for i in ids]
        # multi-line: `^` also matches after a newline, so a prefilter never depends on
        # where its buffer starts (batch.py scans many files concatenated)
        ml = hyperscan.HS_FLAG_MULTILINE
        flags = [ml | (hyperscan.HS_FLAG_PREFILTER if r.hs_prefilter_mode else 0) for r in rules]
        # one more expression: an escaped digit or letter (`\u0067`) in a JSON string.
        # Encoders do not write those, so such a string may hide a secret from the raw-byte
        # prefilters: the hit makes json_pieces decode the string and scan its text.
        exprs = tuple(r.prefilter.encode() for r in rules) + (rb"\\u00(?:3[0-9]|[4-7][0-9A-Fa-f])",)
        flags = [*flags, 0]
        ids = [*ids, self.escape_id]
        key = (exprs, tuple(flags), tuple(ids))
        db = _DATABASES.get(key)
        if db is None:  # compiling ~150 expressions takes ~1 s: once per process
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            try:
                db.compile(expressions=list(exprs), ids=ids, elements=len(ids), flags=flags)
            except hyperscan.error as exc:  # one line, names the offending rules
                names = ", ".join(r.name for r in rules)
                raise ValueError(f"redaction prefilter does not compile ({names}): {exc}") from None
            _DATABASES[key] = db
        return db, hyperscan.Scratch(db)

    # --- detection ---------------------------------------------------------------------
    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """Prefilter hits as (end offset, rule index)."""
        hits: list[tuple[int, int]] = []

        def on_match(rid: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            hits.append((end, rid))

        db, scratch = self.db
        db.scan(data, match_event_handler=on_match, scratch=scratch)
        return confirm.thin(hits) if len(hits) > 8 else hits

    def allowed(self, value: bytes) -> bool:
        if value in self.allow_values or b"[REDACTED:" in value:  # idempotent reruns
            return True
        return any(rx.fullmatch(value) for rx in self.allow_regexes)

    def spans(self, data: bytes, hits: Iterable[tuple[int, int]]) -> list[Span]:
        """Confirm hits with the precise pattern in a window; merge overlaps (union)."""
        windows: dict[int, list[list[int]]] = {}
        for end, rid in sorted(hits, key=lambda h: (h[1], h[0])):
            if rid == self.escape_id:
                continue
            w = self.rules[rid].window
            lo, hi = max(0, end - w), min(len(data), end + w)
            ws = windows.setdefault(rid, [])
            if ws and lo <= ws[-1][1]:
                ws[-1][1] = max(ws[-1][1], hi)
            else:
                ws.append([lo, hi])
        found: set[Span] = set()
        loose, verdicts = self.unbounded, self._verdicts
        for rid, ranges in windows.items():
            pattern, group = self.patterns[rid], self.rules[rid].group
            for lo, hi in ranges:
                for m in pattern.finditer(data, lo, hi):
                    s, e = m.span(group)
                    if s < 0 or s == e:
                        continue
                    value = data[s:e]
                    kept = verdicts.get((rid, value))
                    if kept is None:
                        kept = self._value_verdict(rid, value)
                        if e - s <= _MEMO_VALUE_BYTES:
                            if len(verdicts) >= _MEMO_ENTRIES:
                                verdicts.clear()
                            verdicts[(rid, value)] = kept
                    if not kept:
                        continue
                    if kept != e - s:  # the validator trimmed the value
                        e = s + kept
                        value = data[s:e]
                    # the context says it is not a secret after all (confirm.py)
                    if self.is_secret[rid] and confirm.masked_after(data, e):
                        continue
                    if rid in self.assignment and confirm.unquoted_interpolation(data, s, value):
                        continue
                    if loose[rid] and confirm.inside_word(data, s, e):
                        continue
                    if confirm.inside_marker(data, m.start()):
                        continue
                    found.add(Span(s, e, rid))
        merged: list[Span] = []
        for sp in sorted(found):
            if merged and sp.start < merged[-1].end:
                last = merged[-1]
                merged[-1] = Span(last.start, max(last.end, sp.end), min(last.rule, sp.rule))
            else:
                merged.append(sp)
        return merged

    def _value_verdict(self, rid: int, value: bytes) -> int:
        """What the value alone decides (validator, placeholder, allowlist): the length kept
        (a validator may trim it), 0 when it is not redacted. The same decoy or id repeats
        across a fleet, so spans() memoizes this per (rule, value)."""
        check = self.validators[rid]
        if check is not None:
            verdict = check(value.decode("utf-8", "replace"))
            if not verdict:
                return 0
            if verdict is not True:
                value = value[: int(verdict)]
        if self.placeholder_check[rid] and is_placeholder(value.decode("utf-8", "replace")):
            return 0
        return 0 if self.allowed(value) else len(value)

    def marker(self, kind: str, value: bytes) -> bytes:
        digest = hmac.digest(self.key, value, "sha256").hex()[:8]
        self.counts[kind] += 1
        return f"[REDACTED:{kind}:{digest}]".encode()

    # --- text ----------------------------------------------------------------------------
    def apply(self, data: bytes, spans: list[Span]) -> bytes:
        out, last = [], 0
        for sp in spans:
            out.append(data[last : sp.start])
            out.append(self.marker(self.rules[sp.rule].kind, data[sp.start : sp.end]))
            last = sp.end
        out.append(data[last:])
        return b"".join(out)

    def redact_text(self, data: bytes, hits: list[tuple[int, int]] | None = None) -> bytes:
        """`hits`: this text's prefilter hits when a batch scan already found them."""
        hits = self.scan(data) if hits is None else hits
        if not hits:
            return data
        spans = self.spans(data, hits)
        return self.apply(data, spans) if spans else data

    # --- JSON ----------------------------------------------------------------------------
    def redact_json(
        self, data: bytes, depth: int = 0, hits: list[tuple[int, int]] | None = None
    ) -> bytes:
        """Redact the string values of a complete JSON text (or a run of whole tokens)."""
        pieces = self.json_pieces(data, depth, hits)
        return data if pieces is None else b"".join(pieces)

    def json_pieces(
        self, data: bytes, depth: int = 0, hits: list[tuple[int, int]] | None = None
    ) -> list[bytes] | None:
        """Output as pieces to write in order, or None when nothing changed."""
        hits = self.scan(data) if hits is None else hits
        if not hits:
            return None
        hits.sort()
        ends = [h[0] for h in hits]
        # where each hit is looked at: its last byte, but a keyword rule's hit ends in its
        # value, and `"key": "value` has its operator outside both strings (the key names
        # what the value is), so that hit is looked at from the operator, in that order
        order = sorted(
            (operator_before(data, end) if rid in self.assignment else max(end - 1, 0), rid)
            for end, rid in hits
        )
        out: list[bytes] = []
        last = 0  # bytes before `last` are already in `out`
        done = 0  # tokens before `done` were looked at (each string is decoded once)
        for p, rid in order:
            if p < last or p < done:
                continue
            s = string_start(data, p)
            if s >= 0:  # inside a string token [s, e]
                e = p if data[p] == 0x22 and not escaped(data, p) else next_quote(data, p)
                if e < 0:  # unterminated: the rest is text
                    out += [data[last:s], self.redact_text(data[s:])]
                    return out
                done = e + 1
                if next_char(data, e + 1) != b":":  # keys are left alone
                    # a string without escapes is its own text: its hits need no new scan
                    inner = None
                    if self.reuse_hits and data.find(b"\\", s, e) < 0:
                        lo, hi = bisect_right(ends, s + 1), bisect_right(ends, e)
                        inner = [(h - s - 1, r) for h, r in hits[lo:hi]]
                    red = self._redact_string(data[s : e + 1], depth, inner)
                    if red is not None:
                        out += [data[last:s], red]
                        last = e + 1
            elif data[p] in b":=" and rid in self.assignment:
                vs = skip_ws(data, p + 1)
                if data[vs : vs + 1] != b'"' or vs < last:
                    continue
                ve = next_quote(data, vs + 1)
                if ve < 0:
                    continue
                kq = prev_quote(data, p)
                key = data[max(prev_quote(data, kq), 0) : kq]
                red = self._redact_value(key, data[vs : ve + 1], depth, rid)
                if red is not None:
                    out += [data[last:vs], red]
                    last = ve + 1
            else:  # a bare number (a card number written as a JSON number)
                s, e = number_token(data, p)
                if s < last or s == e:
                    continue
                token = data[s:e]
                red = self.redact_text(token)
                if red != token:
                    out += [data[last:s], orjson.dumps(red.decode("utf-8", "replace"))]
                    last = e
        if not out:
            return None
        out.append(data[last:])
        return out

    def _redact_string(
        self, token: bytes, depth: int, hits: list[tuple[int, int]] | None = None
    ) -> bytes | None:
        """A string token (with its quotes) redacted and re-encoded; None if unchanged.
        `hits`: the string's prefilter hits, given when it holds no escape."""
        if hits is not None:
            inner = token[1:-1]
            red = self._redact_inner(inner, depth, hits)
            if red == inner:
                return None
            try:
                return _dump_str(red)
            except UnicodeDecodeError:
                pass  # not UTF-8: decoding below decides what it is
        try:
            text = orjson.loads(token)
        except orjson.JSONDecodeError:
            try:
                text = json.loads(token)  # lone surrogates
            except ValueError:
                red = self.redact_text(token)
                return None if red == token else red
        if not isinstance(text, str):
            return None
        inner = text.encode("utf-8", "surrogatepass")
        red = self._redact_inner(inner, depth)
        return None if red == inner else _dump_str(red)

    def _redact_inner(
        self, inner: bytes, depth: int, hits: list[tuple[int, int]] | None = None
    ) -> bytes:
        head = inner.lstrip(WS)[:1]
        if depth < MAX_DEPTH and head in (b"{", b"[") and _is_json(inner):
            return self.redact_json(inner, depth + 1, hits)
        return self.redact_text(inner, hits)

    def _redact_value(self, key: bytes, token: bytes, depth: int, rid: int) -> bytes | None:
        """`"password": "<value>"`: the whole value is the secret if it looks like one."""
        try:
            value = orjson.loads(token)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(value, str):
            return None
        raw = value.encode("utf-8", "surrogatepass")
        red = self._redact_inner(raw, depth)
        if red != raw:  # a specific rule (openai_key, …) names it better
            return _dump_str(red)
        check = self.validators[rid] or VALIDATORS["secret_value"]
        if check(value) and not self.allowed(raw):
            lowered = key.lower()
            aws = b"aws" in lowered and b"secret" in lowered
            kind = "aws_secret_access_key" if aws else self.rules[rid].kind
            return orjson.dumps(self.marker(kind, raw).decode())
        return None


_LOCAL = threading.local()


def thread_redactor(config: RedactionConfig | None = None, key: bytes = b"") -> Redactor:
    """A Redactor per thread and configuration (compiling costs ~0.1-0.5 s; scratch is per thread)."""
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    ident = ((config or RedactionConfig()).model_dump_json(), key)
    if ident not in cache:
        cache[ident] = Redactor(config, key)
    return cache[ident]


def _dump_str(red: bytes) -> bytes:
    text = red.decode("utf-8", "surrogatepass")
    try:
        return orjson.dumps(text)
    except orjson.JSONEncodeError:
        return json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True
