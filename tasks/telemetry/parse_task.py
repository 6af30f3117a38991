"""One Roo Code task folder -> one TASKS row, its EVENTS rows, and quarantine rows.

The hot path of ingestion: one pass over the messages, rows built as tuples (columns
are transposed per batch by the caller). Totals follow `consolidate.py` (Roo Code's
own rules): legacy `api_req_finished` figures are merged into the request they close.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from tasks.telemetry.approval import command_approval, next_kind_of
from tasks.telemetry.classify import (
    JSON_TEXT_KINDS,
    KIND_SPECS,
    OTHER_SPEC,
    TOOL_CATEGORY,
    WRITE_TOOLS,
    error_class_from_text,
)
from tasks.telemetry.consolidate import (
    RULE_EXCLUDES,
    consolidate_token_usage,
    is_number,
    token_rule,
    version_is_legacy,
)
from tasks.telemetry.decode import TS_MAX, _bad, _excerpt, _not_utf8, request_damage
from tasks.telemetry.quarantine import qrow
from tasks.telemetry.schema import EVENT_COLUMNS, SCHEMA_VERSION, with_columns

# kinds whose JSON text is parsed before dispatch (tool payloads are read lazily)
PARSE_UPFRONT = JSON_TEXT_KINDS - {"tool"}
_TOOL_HEAD = re.compile(
    r'\{\s*"tool"\s*:\s*"([A-Za-z_]+)"\s*(?:,\s*"path"\s*:\s*"([^"\\]*)"\s*[,}])?'
)
IDLE_FAIL = frozenset({"api_req_failed", "mistake_limit_reached", "error"})
RESUME = frozenset({"resume_task", "resume_completed_task"})
UI = "ui_messages"


@dataclass
class TaskContext:
    """What is known about a task before its messages are read."""

    user: str
    task_id: str
    source: str
    history: dict[str, Any] | None = None
    telemetry: dict[str, Any] = field(default_factory=dict)
    period: tuple[int, int] | None = None  # [start, end) in ms
    agent: str = "roo"  # roo | cline (sources.agent_of)


def _num(v: Any) -> int | None:
    if type(v) is int:
        return v
    if type(v) is float and v == v:
        return int(v)
    return None


def _cost(v: Any) -> float | None:
    return float(v) if is_number(v) else None


def _json_text(text: str | None) -> Any:
    """A JSON-carrying `text`: parse, and once more if it was encoded twice."""
    if not text:
        return None
    try:
        data = orjson.loads(text)
        if type(data) is str and data[:1] in ("{", "["):
            data = orjson.loads(data)
        return data
    except orjson.JSONDecodeError:
        return None


def parse_messages(
    msgs: list | None,
    ctx: TaskContext,
    events: list,
    quarantine: list,
    check_utf8: bool = False,
) -> tuple[Any, ...]:
    """Append EVENTS rows for `msgs` to `events`; return the TASKS row.

    `check_utf8`: the file held non-UTF-8 bytes and was decoded leniently; messages
    that carry such bytes are quarantined (`not_utf8`).
    """
    user, task_id, src = ctx.user, ctx.task_id, ctx.source
    mode, workspace, provider, model, app_version, legacy = task_attrs(ctx)
    period = ctx.period
    entries: list[tuple[str, Any]] = []  # api_req_started (merged) and condense, after the first
    entry_row: list[int | None] = []  # events index of each entry's row (None if filtered)
    open_starts: list[int] = []  # entries indexes of api_req_started not yet merged
    n_req = n_fail = n_tool = n_write = n_cmd = n_mcp = n_ckpt = n_err = 0
    first_ts = last_ts = min_ts = None
    completed = False
    last_kind = None
    protocol = None
    append = events.append
    first_row = len(events)
    kind_specs = KIND_SPECS
    for seq, m in enumerate(msgs or ()):
        # fast path for well-formed messages; _bad() explains the rest
        if (
            type(m) is dict
            and type(ts := m.get("ts")) is int
            and 0 <= ts < TS_MAX
            and ((t := m.get("type")) == "say" or t == "ask")
            and type(kind := m.get(t)) is str
            and ((text := m.get("text")) is None or type(text) is str)
            and not (check_utf8 and _not_utf8(m))
        ):
            pass
        else:
            bad = _bad(m)
            if bad is None:
                ts, t = int(m["ts"]), m["type"]
                kind, text = m[t], m.get("text")
            else:
                quarantine.append(
                    qrow(src + "/ui_messages.json", f"message {seq}", *bad, _excerpt(m))
                )
                continue
        this_entry = None
        if first_ts is None:
            first_ts = ts
        if min_ts is None or ts < min_ts:
            min_ts = ts
        if kind not in RESUME:
            last_ts, last_kind = ts, kind
        cat, ecls = kind_specs.get(kind, OTHER_SPEC)
        tool = path = command = server = mtool = target = proto = auto = None
        tin = tout = cw = cr = cost = None
        mutates = False
        damage = None
        data = _json_text(text) if kind in PARSE_UPFRONT else None
        if kind == "api_req_started" or kind == "api_req_finished":
            if t == "say":
                damage = request_damage(text, data)
                if type(data) is not dict:
                    data = None
                if kind == "api_req_started":
                    n_req += 1
                    if data is not None:
                        proto = _str(data.get("apiProtocol"))
                        tin, tout = _num(data.get("tokensIn")), _num(data.get("tokensOut"))
                        cw, cr = _num(data.get("cacheWrites")), _num(data.get("cacheReads"))
                        cost = _cost(data.get("cost"))
                        if data.get("cancelReason") == "streaming_failed":
                            ecls = "streaming_failed"
                            n_fail += 1
                        if "request" in data and legacy is None:
                            legacy = True  # `request` was dropped in v3.28.18
                    if seq > 0:
                        this_entry = len(entries)
                        open_starts.append(this_entry)
                        entries.append(("req", data if text else None))
                        entry_row.append(None)
                else:
                    if legacy is None:
                        legacy = True  # api_req_finished is a pre-v3.29.5 layout
                    if seq > 0 and open_starts:
                        i = open_starts.pop()
                        start = entries[i][1] or {}
                        entries[i] = ("req", {**start, **(data or {})})
                        _refresh_request_row(events, entry_row[i], entries[i][1])
            proto = proto or m.get("apiProtocol")
            if proto:
                protocol = proto
        elif kind == "text":
            if seq == 0:
                cat = "prompt"
        elif kind == "tool":
            n_tool += 1
            # fast path: read "tool" and "path" off the head of JSON.stringify's output
            # instead of parsing the whole (often large) payload again
            head = _TOOL_HEAD.match(text) if text else None
            if head is not None and (head.group(2) is not None or '"path"' not in text):
                tool, path = head.group(1), head.group(2)
                if tool in WRITE_TOOLS:
                    mutates = True
                    n_write += 1
                elif tool in TOOL_CATEGORY:
                    cat = TOOL_CATEGORY[tool]
                    data = _json_text(text)
                    target = _str(data.get("mode")) if type(data) is dict else None
            elif type(data := _json_text(text)) is dict:
                tool = _str(data.get("tool"))
                path = _str(data.get("path"))
                if tool in WRITE_TOOLS:
                    mutates = True
                    n_write += 1
                elif tool in TOOL_CATEGORY:
                    cat = TOOL_CATEGORY[tool]
                    target = _str(data.get("mode"))
        elif kind == "command":  # Cline writes an auto-approved command as say:"command"
            command = text
            mutates = True
            n_cmd += 1
            auto = command_approval(ctx.agent, t, next_kind_of(msgs, seq))
        elif kind == "use_mcp_server":
            n_mcp += 1
            if type(data) is dict:
                server = _str(data.get("serverName"))
                if data.get("type") == "access_mcp_resource":
                    path = _str(data.get("uri"))
                else:
                    mtool = _str(data.get("toolName"))
                    mutates = True
        elif kind == "checkpoint_saved":
            n_ckpt += 1
        elif kind == "completion_result":
            completed = True
        elif kind == "condense_context":
            cc = m.get("contextCondense")
            cost = _cost(cc.get("cost")) if type(cc) is dict else None
            if seq > 0:
                entries.append(("condense", cc))
                entry_row.append(None)
        if cat == "error":
            n_err += 1
            if kind == "api_req_failed":
                n_fail += 1
            if ecls in ("api_failed", "other"):
                ecls = error_class_from_text(text, ecls)
        if period is not None and not period[0] <= ts < period[1]:
            continue
        if damage is not None:  # kept as an event (Roo's totals skip it), and said
            where = f"message {seq}"
            quarantine.append(qrow(src + "/ui_messages.json", where, *damage, text, "validate"))
        if this_entry is not None:
            entry_row[this_entry] = len(events)
        append(
            (
                SCHEMA_VERSION, user, None, task_id, ts, seq, UI, t, kind, cat, tool,
                mutates, path, command, server, mtool, target, ecls, proto,
                tin, tout, cw, cr, cost,
                (len(text) if text.isascii() else len(text.encode())) if text else 0,
                mode, provider, model, workspace, app_version, auto, None,
            )
        )  # fmt: skip
    stats = TaskStats()
    stats.entries, stats.legacy, stats.protocol = entries, legacy, protocol
    stats.rule = token_rule(entries)
    if stats.rule == RULE_EXCLUDES:  # the unnamed requests' rows say so too
        mark_excluded(events, first_row)
    stats.counts = (n_req, n_fail, n_tool, n_write, n_cmd, n_mcp, n_ckpt, n_err)
    stats.first_ts, stats.min_ts, stats.last_ts = first_ts, min_ts, last_ts
    stats.last_kind, stats.completed = last_kind, completed
    return task_row(ctx, stats, msgs is not None)


class TaskStats:
    """Per-task figures gathered while reading messages (by either parser)."""

    __slots__ = (
        "entries", "legacy", "protocol", "counts", "first_ts", "min_ts", "last_ts",
        "last_kind", "completed", "usage", "rule",
    )  # fmt: skip


def task_attrs(ctx: TaskContext) -> tuple[Any, ...]:
    """(mode, workspace, provider, model, app_version, legacy) known before the messages."""
    tel, hist = ctx.telemetry, ctx.history or {}
    app_version = tel.get("app_version")
    return (
        tel.get("mode") or _str(hist.get("mode")),
        _str(hist.get("workspace")),
        tel.get("provider"),
        tel.get("model"),
        app_version,
        version_is_legacy(app_version),
    )


def task_row(ctx: TaskContext, st: TaskStats, had_messages: bool) -> tuple[Any, ...]:
    """The TASKS row: Roo Code's totals over the entries, history as the fallback."""
    tel, hist = ctx.telemetry, ctx.history or {}
    mode, workspace, provider, model, app_version, _ = task_attrs(ctx)
    usage = getattr(st, "usage", None)
    rule = getattr(st, "rule", None)
    if usage is None:
        excluded = rule == RULE_EXCLUDES
        usage = consolidate_token_usage(st.entries, bool(st.legacy), excluded)
    if not had_messages:  # unreadable or missing: Roo Code's own history, else unknown
        usage, rule = _history_usage(hist), None
    status = _status(hist.get("status"), st.completed, st.last_kind)
    started = st.first_ts
    if started is None:
        started = _num(hist.get("ts")) or uuid7_ms(ctx.task_id)
    elif st.min_ts is not None:
        started = min(started, st.min_ts)
    ended = st.last_ts if st.last_ts is not None else _num(hist.get("ts"))
    return (
        SCHEMA_VERSION, ctx.user, None, ctx.task_id, _str(hist.get("parentTaskId")),
        _str(hist.get("rootTaskId")), status, started, ended, mode, workspace, provider, model,
        app_version, st.protocol, _num(usage["totalTokensIn"]), _num(usage["totalTokensOut"]),
        _num(usage["totalCacheWrites"]), _num(usage["totalCacheReads"]),
        _cost(usage["totalCost"]), _num(usage["contextTokens"]), *st.counts[:7],
        int(tel.get("restores", 0)), st.counts[7], ctx.source,
        False if rule == RULE_EXCLUDES else _includes_cache(st.protocol, st.legacy), rule,
        _str(hist.get("apiConfigName")), ctx.agent,
    )  # fmt: skip


def mark_excluded(events: list, start: int) -> None:
    """Flag the task's request rows that name no protocol: their tokensIn excludes cache
    (the task's figures say so), which a cost recomputation must know."""
    kind, protocol = EVENT_COLUMNS["kind"], EVENT_COLUMNS["api_protocol"]
    for i in range(start, len(events)):
        row = events[i]
        if row[kind] == "api_req_started" and row[protocol] is None:
            events[i] = with_columns(row, EVENT_COLUMNS, tokens_in_includes_cache=False)


def _refresh_request_row(events: list, idx: int | None, data: dict) -> None:
    """Give a request's event row the figures of the api_req_finished merged into it."""
    if idx is None:
        return
    row = events[idx]
    events[idx] = with_columns(
        row,
        EVENT_COLUMNS,
        api_protocol=_str(data.get("apiProtocol")) or row[EVENT_COLUMNS["api_protocol"]],
        tokens_in=_num(data.get("tokensIn")),
        tokens_out=_num(data.get("tokensOut")),
        cache_writes=_num(data.get("cacheWrites")),
        cache_reads=_num(data.get("cacheReads")),
        cost=_cost(data.get("cost")),
    )


def uuid7_ms(task_id: str) -> int | None:
    """The creation time inside a UUIDv7 task id (Roo Code v3.41+); None for UUIDv4."""
    try:
        value = uuid.UUID(task_id)
    except ValueError:
        return None
    return value.int >> 80 if value.version == 7 else None


def _includes_cache(protocol: str | None, legacy: bool | None) -> bool | None:
    if protocol == "openai":
        return True
    if legacy is True:
        return False if protocol == "anthropic" else None
    if legacy is False:
        return True
    return None


def _history_usage(hist: dict[str, Any]) -> dict[str, Any]:
    return {
        "totalTokensIn": hist.get("tokensIn"),
        "totalTokensOut": hist.get("tokensOut"),
        "totalCacheWrites": hist.get("cacheWrites"),
        "totalCacheReads": hist.get("cacheReads"),
        "totalCost": hist.get("totalCost"),
        "contextTokens": None,
    }


def _status(hist_status: Any, completed: bool, last_kind: str | None) -> str:
    if completed or hist_status == "completed":
        return "completed"
    if hist_status == "delegated":
        return "delegated"
    if last_kind in IDLE_FAIL:
        return "failed"
    if hist_status == "active":
        return "active"
    return "unknown"


def _str(v: Any) -> str | None:
    return v if type(v) is str else None
