"""Roo Code's own task totals, ported rule for rule.

Source (RooCodeInc/Roo-Code, `packages/core/src/message-utils/`, re-exported by
`src/shared/getApiMetrics.ts`, `src/shared/combineApiRequests.ts` and
`src/shared/combineCommandSequences.ts`; applied in
`src/core/task-persistence/taskMetadata.ts` as
`getApiMetrics(combineApiRequests(combineCommandSequences(messages.slice(1))))`):

- `consolidateApiRequests`: every `say:"api_req_finished"` is merged into the most
  recent not-yet-merged `say:"api_req_started"` (a stack: `startedIndices.pop()`), the
  two JSON texts combined `{...start, ...finish}`; the finished message is removed; one
  with no open start is dropped. Unparseable texts count as `{}`.
- `consolidateCommands` only folds command/MCP output into its ask; it changes no
  figure, so it has no effect on totals here.
- `consolidateTokenUsage` (getApiMetrics): over the messages after the first, sum
  `tokensIn`, `tokensOut`, `cacheWrites`, `cacheReads`, `cost` of every `api_req_started`
  whose text is non-empty JSON, each only when `typeof === "number"`; cache totals stay
  undefined until one request carries them; every `condense_context` adds
  `contextCondense.cost`. Context tokens: walking back from the end, an
  `api_req_started` gives `tokensIn + tokensOut`, a `condense_context` gives
  `contextCondense.newContextTokens`; the first non-zero value wins.
- `taskMetadata`: the history `ts` is the last message that is not `resume_task` /
  `resume_completed_task`.

Token semantics: since v3.29.5 the stored `tokensIn` includes cache tokens for both
protocols (the comment in consolidateTokenUsage: "Since tokensIn now stores TOTAL input
tokens (including cache tokens), we no longer need to add cacheWrites and cacheReads").
Before, Anthropic-protocol `tokensIn` excluded them and the context size added them; we
apply that older rule when the data is known to predate v3.29.5.

When a request does not name its protocol (Cline never does; old Roo files often do
not), Roo's rule counts only in + out. The figures then say which semantics applies:
`tokensIn < cacheWrites + cacheReads` on any such request of the task can only mean the
input excludes cache (Anthropic-style), and the context adds cache back for the task's
unnamed requests (`token_rule`). A task whose requests all name their protocol follows
Roo's rules exactly.
"""

from __future__ import annotations

from typing import Any

import orjson

LEGACY_TOKENS_BEFORE = (3, 29, 5)

# token_rule values: which semantics a task's figures were read with
RULE_ROO = "roo"  # every request names its protocol: Roo Code's rules
RULE_EXCLUDES = "inferred_excludes_cache"  # unnamed requests; tokensIn < cw + cr seen
RULE_INCLUDES = "inferred_includes_cache"  # unnamed requests; figures consistent with Roo's


def is_number(value: Any) -> bool:
    """JavaScript's `typeof value === "number"` for parsed JSON (bool is not a number)."""
    return (type(value) is int or type(value) is float) and value == value


def parse_version(text: str | None) -> tuple[int, ...] | None:
    if not text or not isinstance(text, str):
        return None
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) if parts else None


def version_is_legacy(version: str | None) -> bool | None:
    """True before v3.29.5 (tokensIn excluded cache for Anthropic), None when unknown."""
    parsed = parse_version(version)
    if parsed is None:
        return None
    return parsed < LEGACY_TOKENS_BEFORE


def excludes_cache(data: Any) -> bool:
    """A request without a protocol whose figures show tokensIn leaves cache out."""
    if type(data) is not dict or type(data.get("apiProtocol")) is str:
        return False
    tin = data.get("tokensIn")
    cache = _js_or0(data.get("cacheWrites")) + _js_or0(data.get("cacheReads"))
    return is_number(tin) and tin < cache


def token_rule(entries: list[tuple[str, Any]]) -> str | None:
    """The semantics the task's requests imply (RULE_*), None without a request."""
    named = unnamed = excl = False
    for kind, data in entries:
        if kind != "req" or type(data) is not dict:
            continue
        if type(data.get("apiProtocol")) is str:
            named = True
        else:
            unnamed = True
            excl = excl or excludes_cache(data)
    if excl:
        return RULE_EXCLUDES
    if unnamed:
        return RULE_INCLUDES
    return RULE_ROO if named else None


def consolidate_token_usage(
    entries: list[tuple[str, Any]], legacy_tokens: bool = False, excluded: bool = False
) -> dict[str, Any]:
    """consolidateTokenUsage over `entries` = the api_req_started (already merged) and
    condense_context messages after the first message, in order:
    ("req", parsed_text_or_None) or ("condense", contextCondense_or_None).

    `excluded`: the task's unnamed requests leave cache out of tokensIn (token_rule),
    so their context adds it back.
    """
    tin = tout = 0
    cw: float | None = None
    cr: float | None = None
    cost = 0.0
    for kind, data in entries:
        if kind == "req":
            if type(data) is not dict:
                continue
            v = data.get("tokensIn")
            if is_number(v):
                tin += v
            v = data.get("tokensOut")
            if is_number(v):
                tout += v
            v = data.get("cacheWrites")
            if is_number(v):
                cw = (cw or 0) + v
            v = data.get("cacheReads")
            if is_number(v):
                cr = (cr or 0) + v
            v = data.get("cost")
            if is_number(v):
                cost += v
        else:
            c = data.get("cost") if type(data) is dict else None
            if is_number(c):
                cost += c
    context = 0
    for kind, data in reversed(entries):
        if kind == "req":
            if type(data) is not dict:
                continue
            context = _js_or0(data.get("tokensIn")) + _js_or0(data.get("tokensOut"))
            proto = data.get("apiProtocol")
            if (legacy_tokens and proto == "anthropic") or (excluded and type(proto) is not str):
                context += _js_or0(data.get("cacheWrites")) + _js_or0(data.get("cacheReads"))
        else:
            context = _js_or0(data.get("newContextTokens")) if type(data) is dict else 0
        if context:
            break
    return {
        "totalTokensIn": tin,
        "totalTokensOut": tout,
        "totalCacheWrites": cw,
        "totalCacheReads": cr,
        "totalCost": cost,
        "contextTokens": context,
    }


def _js_or0(value: Any) -> Any:
    """`(value || 0)` for a parsed JSON value that should be a number."""
    return value if is_number(value) and value else 0


def _loads_obj(text: Any) -> Any:
    try:
        return orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return {}


def combine_api_requests(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """consolidateApiRequests, literally (the reference the streaming parser must match)."""
    result: list[dict[str, Any]] = []
    started: list[int] = []
    for msg in messages:
        say = msg.get("say") if msg.get("type") == "say" else None
        if say not in ("api_req_started", "api_req_finished"):
            result.append(msg)
            continue
        if say == "api_req_started":
            result.append(msg)
            started.append(len(result) - 1)
            continue
        if not started:
            continue
        i = started.pop()
        start = _loads_obj(result[i].get("text"))
        finish = _loads_obj(msg.get("text"))
        merged = {
            **(start if isinstance(start, dict) else {}),
            **(finish if isinstance(finish, dict) else {}),
        }
        result[i] = {**result[i], "text": orjson.dumps(merged).decode()}
    return result


def api_metrics(messages: list[dict[str, Any]], legacy_tokens: bool = False) -> dict[str, Any]:
    """getApiMetrics(combineApiRequests(combineCommandSequences(messages.slice(1))))."""
    entries: list[tuple[str, Any]] = []
    for msg in combine_api_requests(messages[1:]):
        if msg.get("type") != "say":
            continue
        if msg.get("say") == "api_req_started" and msg.get("text"):
            try:
                entries.append(("req", orjson.loads(msg["text"])))
            except orjson.JSONDecodeError:
                continue
        elif msg.get("say") == "condense_context":
            entries.append(("condense", msg.get("contextCondense")))
    return consolidate_token_usage(entries, legacy_tokens)
