"""The columnar parser: many well-formed tasks at once, with Arrow doing the per-row work.

`parse_task.parse_messages` visits every message in Python; here the typed messages of a
batch of tasks (typed.py: decoded and type-checked by msgspec) become Arrow columns, the
per-row columns (kind, category, error class, bytes, timestamps, task attributes) are
computed with Arrow kernels, and Python only visits the messages that need reading
(MCP calls, errors, condensations, irregular tool payloads).

Anything irregular — a file typed decoding refuses, a type other than ask/say, a
legacy `api_req_finished` — is left to the row parser, which is the reference: both
produce identical rows (tested).
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.telemetry import columnar
from tasks.telemetry.approval import command_approval
from tasks.telemetry.classify import KIND_SPECS
from tasks.telemetry.consolidate import RULE_EXCLUDES
from tasks.telemetry.decode import request_damage
from tasks.telemetry.parse_task import (
    TaskContext,
    TaskStats,
    _json_text,
    task_attrs,
    task_row,
)
from tasks.telemetry.schema import EVENTS_SCHEMA, SCHEMA_VERSION
from tasks.telemetry.typed import Message

MSG_SCHEMA = pa.schema(
    [("ts", pa.int64()), ("type", pa.string()), ("kind", pa.string()), ("text", pa.string()),
     ("apiProtocol", pa.string())]
)  # fmt: skip
KINDS = pa.array(list(KIND_SPECS))
CATS = pa.array([c for c, _ in KIND_SPECS.values()])
ECLS = pa.array([e for _, e in KIND_SPECS.values()], pa.string())
SPECIAL = pa.array(
    ["api_req_started", "tool", "command", "use_mcp_server", "checkpoint_saved",
     "completion_result", "condense_context"]
    + [k for k, (c, _) in KIND_SPECS.items() if c == "error"]
)  # fmt: skip
RESUME = pa.array(["resume_task", "resume_completed_task"])
F = {f.name: f.type for f in EVENTS_SCHEMA}


def message_table(batch: list[tuple[TaskContext, list[Message]]]) -> pa.Table:
    """The batch's messages as one table (typed decoding already checked the types)."""
    ts, typ, kind, text, proto = [], [], [], [], []
    for _, msgs in batch:
        ts += [m.ts for m in msgs]
        typ += [m.TYPE for m in msgs]
        kind += [m.kind for m in msgs]
        text += [m.text for m in msgs]
        proto += [m.apiProtocol for m in msgs]
    columns = (ts, typ, kind, text, proto)
    arrays = [pa.array(c, f.type) for c, f in zip(columns, MSG_SCHEMA, strict=True)]
    return pa.Table.from_arrays(arrays, schema=MSG_SCHEMA)


def _irregular_rows(table: pa.Table, lengths: list[int]) -> tuple[set[int], Any]:
    """(Tasks (by batch index) the row parser must read, the batch's request figures when
    all decoded at once): a legacy `api_req_finished` (the row parser merges it), or a
    damaged request (the row parser quarantines it, decode.request_damage)."""
    kind, typ, text = (_one_chunk(table.column(c)) for c in ("kind", "type", "text"))
    _, parse_mask, texts = columnar.request_texts(typ, kind, text)
    figures = columnar.request_figures(texts)
    rows = pc.indices_nonzero(pc.equal(kind, "api_req_finished")).to_pylist()
    if figures is None:  # some text did not decode strictly: find the damaged ones
        req_rows = pc.indices_nonzero(parse_mask).to_pylist()
        rows += [
            r
            for r, t in zip(req_rows, texts.to_pylist(), strict=True)
            if request_damage(t, _json_text(t)) is not None
        ]
    if not rows:
        return set(), figures
    starts, acc = [], 0
    for n in lengths:
        starts.append(acc)
        acc += n
    return {bisect.bisect_right(starts, r) - 1 for r in rows}, figures


def parse_batch(
    batch: list[tuple[TaskContext, list[Message]]], period: tuple[int, int] | None
) -> tuple[pa.Table, list[tuple], list[int]]:
    """(EVENTS table, TASKS rows, indexes of tasks left to the row parser).

    Every task of the batch has at least one message, decoded by `typed.decode_typed`.
    """
    table = message_table(batch)
    lengths = [len(msgs) for _, msgs in batch]
    irregular_set, figures = _irregular_rows(table, lengths)
    irregular = sorted(irregular_set)
    keep = batch
    if irregular:
        figures = None
        skip = set(irregular)
        keep = [b for i, b in enumerate(batch) if i not in skip]
        if not keep:
            return EVENTS_SCHEMA.empty_table(), [], irregular
        table = message_table(keep)
        lengths = [len(msgs) for _, msgs in keep]
    events, rows = _columns(keep, table, lengths, period, figures)
    return events, rows, irregular


def _columns(
    keep: list[tuple[TaskContext, list]],
    table: pa.Table,
    lengths: list[int],
    period: tuple[int, int] | None,
    figures: Any = None,
) -> tuple[pa.Table, list[tuple]]:
    n = table.num_rows
    typ, kind, text, ts, msg_proto = (
        _one_chunk(table.column(c)) for c in ("type", "kind", "text", "ts", "apiProtocol")
    )
    kidx = pc.index_in(kind, value_set=KINDS)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    tidx_np = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    tidx = pa.array(tidx_np)
    seq = pa.array((np.arange(n, dtype=np.int64) - starts[tidx_np]).astype(np.int32))
    first_np = np.zeros(n, dtype=bool)
    first_np[starts[np.asarray(lengths) > 0]] = True
    first = pa.array(first_np)
    attrs = [task_attrs(ctx) for ctx, _ in keep]
    cols, counts, per_task = columnar.build(
        typ, kind, text, msg_proto, tidx, first,
        _message_at(keep, starts), [a[5] for a in attrs], figures,
    )  # fmt: skip
    cat_over = cols.pop("category_over")
    ecls_over = cols.pop("error_class_over")
    for i, (_, msgs) in enumerate(keep):
        if msgs[0].kind == "text":
            cat_over[int(starts[i])] = "prompt"
    category = _replace(pc.fill_null(pc.take(CATS, kidx), "other"), cat_over, n)
    ecls = _replace(pc.take(ECLS, kidx), ecls_over, n)
    stats = []
    for i in range(len(keep)):
        st = _new_stats()
        st.counts = tuple(
            counts[c][i] for c in ("req", "fail", "tool", "write", "cmd", "mcp", "ckpt", "err")
        )
        st.completed = bool(counts["done"][i])
        st.usage, st.protocol = per_task[i]["usage"], per_task[i]["protocol"]
        st.legacy, st.rule = per_task[i]["legacy"], per_task[i]["rule"]
        stats.append(st)
    _times(ts, kind, tidx, stats, starts.tolist(), lengths)
    task_rows = [task_row(ctx, st, True) for (ctx, _), st in zip(keep, stats, strict=True)]

    def task_col(values: list, typ: pa.DataType) -> pa.Array:
        return pc.take(pa.array(values, typ), tidx)

    cols.update(
        {
            "schema_version": pa.array(np.full(n, SCHEMA_VERSION, dtype=np.int16)),
            "user": task_col([c.user for c, _ in keep], pa.string()),
            "team": pa.nulls(n, pa.string()),
            "task_id": task_col([c.task_id for c, _ in keep], pa.string()),
            "ts": pc.cast(ts, F["ts"]),
            "seq": seq,
            "source": pc.take(pa.array(["ui_messages"]), pa.array(np.zeros(n, np.int32))),
            "type": typ,
            "kind": kind,
            "category": category,
            "error_class": ecls,
            "bytes": pc.fill_null(pc.cast(pc.binary_length(text), pa.int64()), 0),
            "mode": task_col([a[0] for a in attrs], pa.string()),
            "provider": task_col([a[2] for a in attrs], pa.string()),
            "model": task_col([a[3] for a in attrs], pa.string()),
            "workspace": task_col([a[1] for a in attrs], pa.string()),
            "app_version": task_col([a[4] for a in attrs], pa.string()),
            "auto_approved": _auto_approved(typ, kind, tidx, [c.agent for c, _ in keep]),
            "tokens_in_includes_cache": _excluded_rows(kind, cols["api_protocol"], tidx, stats),
        }
    )
    arrays = []
    for f in EVENTS_SCHEMA:
        v = cols[f.name]
        if isinstance(v, pa.ChunkedArray):
            v = v.combine_chunks()
        arrays.append(v if v.type == f.type else pc.cast(v, f.type))
    events = pa.Table.from_arrays(arrays, schema=EVENTS_SCHEMA)
    if period is not None:
        events = events.filter(pc.and_(pc.greater_equal(ts, period[0]), pc.less(ts, period[1])))
    return events, task_rows


def _auto_approved(typ: pa.Array, kind: pa.Array, tidx: pa.Array, agents: list) -> pa.Array:
    """approval.command_approval on each command row (few), from the next message's kind."""
    rows = pc.indices_nonzero(pc.fill_null(pc.equal(kind, "command"), False)).to_pylist()
    out: list[bool | None] = [None] * len(kind)
    if not rows:
        return pa.array(out, pa.bool_())
    n, t_of = len(kind), tidx.to_numpy()
    at = np.asarray(rows, dtype=np.int64)
    after = np.minimum(at + 1, n - 1)
    same = (at + 1 < n) & (t_of[after] == t_of[at])  # the next message is the same task's
    types = pc.take(typ, pa.array(at)).to_pylist()
    kinds = pc.take(kind, pa.array(after)).to_pylist()
    for j, i in enumerate(rows):
        nxt = kinds[j] if same[j] else None
        out[i] = command_approval(agents[t_of[i]], types[j], nxt)
    return pa.array(out, pa.bool_())


def _excluded_rows(kind: pa.Array, proto: pa.Array, tidx: pa.Array, stats: list) -> pa.Array:
    """False on request rows naming no protocol in tasks whose figures show tokensIn
    excludes cache (parse_task.mark_excluded); null elsewhere."""
    excl = np.asarray([st.rule == RULE_EXCLUDES for st in stats], dtype=bool)
    mask = excl[tidx.to_numpy()] & _np_bool(pc.equal(kind, "api_req_started"))
    mask &= _np_bool(pc.is_null(proto))
    return pc.if_else(pa.array(mask), False, pa.scalar(None, pa.bool_()))


def _np_bool(a: Any) -> np.ndarray:
    a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
    return pc.fill_null(a, False).to_numpy(zero_copy_only=False)


def _message_at(keep: list[tuple[TaskContext, list[Message]]], starts: np.ndarray) -> Any:
    """row -> the message's dict, for the few rows read in Python."""
    bounds = starts.tolist()

    def at(row: int) -> dict[str, Any]:
        i = bisect.bisect_right(bounds, row) - 1
        return keep[i][1][row - bounds[i]].as_dict()

    return at


def _one_chunk(col: pa.ChunkedArray) -> pa.Array:
    """The column as one Array, without a copy when it already is one chunk."""
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _new_stats() -> TaskStats:
    st = TaskStats()
    st.entries, st.legacy, st.protocol, st.completed, st.rule = [], None, None, False, None
    st.counts = [0] * 8
    st.first_ts = st.min_ts = st.last_ts = st.last_kind = None
    return st


def _times(ts, kind, tidx, stats, starts, lengths) -> None:
    """first / min / last-relevant timestamps per task, and the last relevant kind."""
    ts_np = ts.to_numpy()
    st_np = np.asarray(starts, dtype=np.int64)
    firsts = ts_np[st_np].tolist()
    mins = np.minimum.reduceat(ts_np, st_np).tolist()
    relevant = pc.invert(pc.fill_null(pc.is_in(kind, RESUME), False)).to_numpy(zero_copy_only=False)
    last = np.maximum.reduceat(np.where(relevant, np.arange(len(ts_np)), -1), st_np).tolist()
    found = [p for p in last if p >= 0]
    kinds = iter(pc.take(kind, pa.array(found, pa.int64())).to_pylist())
    for i, st in enumerate(stats):
        st.first_ts, st.min_ts = firsts[i], mins[i]
        if last[i] >= 0:
            st.last_ts, st.last_kind = int(ts_np[last[i]]), next(kinds)


def _replace(arr: Any, overrides: dict[int, str], n: int) -> pa.Array:
    mask = [False] * n
    for i in overrides:
        mask[i] = True
    ordered = [overrides[i] for i in sorted(overrides)]
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return pc.replace_with_mask(arr, pa.array(mask), pa.array(ordered, pa.string()))
