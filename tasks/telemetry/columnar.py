"""Columns of EVENTS and per-task figures for a batch of regular tasks, with Arrow kernels.

Request figures: the `api_req_started` texts of the batch are joined into one JSON array
(in Arrow) and decoded in one strictly typed msgspec call (a value of another type sends
them one by one through the reference's rules); tool payloads are read with a regular
expression kernel over the tool rows. Python visits only the rare messages (MCP, errors, condensations,
mode switches, payloads that are not JSON.stringify-shaped). Task totals follow
`consolidate.py` (Roo Code's consolidateTokenUsage) in vector form.
"""

from __future__ import annotations

import operator
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.telemetry.classify import KIND_SPECS, TOOL_CATEGORY, WRITE_TOOLS, error_class_from_text
from tasks.telemetry.consolidate import RULE_EXCLUDES, RULE_INCLUDES, RULE_ROO
from tasks.telemetry.parse_task import _cost, _json_text, _num, _str

REQ_SCHEMA = pa.schema(
    [("tokensIn", pa.int64()), ("tokensOut", pa.int64()), ("cacheWrites", pa.int64()),
     ("cacheReads", pa.int64()), ("cost", pa.float64()), ("apiProtocol", pa.string()),
     ("cancelReason", pa.string())]
)  # fmt: skip
# JSON.stringify's head of a tool payload: "tool", then maybe "path" (an empty `pathpart`
# means the path was not read here)
TOOL_HEAD_RE = (
    r'^\{\s*"tool"\s*:\s*"(?P<tool>[A-Za-z_]+)"'
    r'(?P<pathpart>\s*,\s*"path"\s*:\s*"(?P<path>[^"\\]*)"\s*[,}])?'
)
WRITE = pa.array(sorted(WRITE_TOOLS))
TOOL_CATS = pa.array(sorted(TOOL_CATEGORY))
ERROR_KINDS = pa.array([k for k, (c, _) in KIND_SPECS.items() if c == "error"])
RARE = pa.array(["use_mcp_server", "condense_context"])


def _scatter(mask: pa.Array, values: pa.Array, typ: pa.DataType, n: int) -> pa.Array:
    """A length-n column: `values` where mask is true (in order), null elsewhere."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return pc.replace_with_mask(pa.nulls(n, typ), mask, values.cast(typ))


def _overlay(col: pa.Array, overrides: dict[int, Any], typ: pa.DataType, n: int) -> pa.Array:
    if not overrides:
        return col
    mask = [False] * n
    for i in overrides:
        mask[i] = True
    values = pa.array([overrides[i] for i in sorted(overrides)], typ)
    return pc.replace_with_mask(col, pa.array(mask), values)


class _Request(msgspec.Struct, gc=False):
    """An api_req_started text's figures; a value of another JSON type fails decoding
    (`typeof true !== "number"`, a string protocol, …) and sends the batch to the
    reference parser."""

    tokensIn: int | float | None = None  # camelCase: Roo Code's own field names
    tokensOut: int | float | None = None
    cacheWrites: int | float | None = None
    cacheReads: int | float | None = None
    cost: int | float | None = None
    apiProtocol: str | None = None
    cancelReason: str | None = None
    request: msgspec.Raw = msgspec.Raw(b"")  # only its presence matters (pre-v3.28.18)


_REQUESTS = msgspec.json.Decoder(list[_Request])
_GETTERS = [operator.attrgetter(f.name) for f in REQ_SCHEMA]


def request_figures(texts: pa.Array) -> tuple[pa.Table, pa.Array] | None:
    """(Typed figures, has-`request` flags) of many api_req_started texts at once, or
    None (parse them one by one)."""
    if len(texts) == 0:
        return REQ_SCHEMA.empty_table(), pa.array([], pa.bool_())
    one = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    joined = pc.binary_join(one, ",")[0].as_buffer()
    try:
        reqs = _REQUESTS.decode(b"[" + joined.to_pybytes() + b"]")
        if len(reqs) != len(texts):  # a text that held more than one value
            return None
        columns = [list(map(get, reqs)) for get in _GETTERS]
        table = pa.Table.from_arrays(
            [pa.array(c, f.type) for c, f in zip(columns, REQ_SCHEMA, strict=True)],
            schema=REQ_SCHEMA,
        )
    except (msgspec.DecodeError, pa.ArrowException, TypeError, ValueError, OverflowError):
        return None  # e.g. a fractional token count: _num floors it, Arrow refuses
    return table, pa.array([len(r.request) > 0 for r in reqs], pa.bool_())


def request_texts(typ: pa.Array, kind: pa.Array, text: pa.Array) -> tuple[Any, Any, pa.Array]:
    """(say:api_req_started rows, those with a non-empty text, their texts)."""
    n = len(kind)
    req = pc.fill_null(pc.and_(pc.equal(kind, "api_req_started"), pc.equal(typ, "say")), False)
    nonempty = pc.fill_null(pc.greater(pc.binary_length(pc.filter(text, req)), 0), False)
    parse_mask = pc.and_(req, pc.replace_with_mask(pa.array([False] * n), req, nonempty))
    return req, parse_mask, pc.filter(text, parse_mask)


def build(
    typ: pa.Array,
    kind: pa.Array,
    text: pa.Array,
    msg_proto: pa.Array,
    tidx: pa.Array,
    first: pa.Array,
    msg_at: Any,
    legacy_attr: list[bool | None],
    figures: tuple[pa.Table, pa.Array] | None = None,
) -> tuple[dict[str, Any], dict[str, list], list[dict[str, Any]]]:
    """(EVENTS columns computed here, per-task count lists, per-task usage/protocol/legacy).

    cols["category_over"] / cols["error_class_over"] are {row: value} overrides.

    `first`: true on each task's first message; `msg_at(row)`: the message dict of a row;
    `figures`: request_figures(request_texts(...)) of this very table, when already known.
    """
    n = len(kind)
    ntasks = len(legacy_attr)
    # -- requests ----------------------------------------------------------------
    req, parse_mask, req_texts = request_texts(typ, kind, text)
    fast_figs = request_figures(req_texts) if figures is None else figures
    cols: dict[str, pa.Array] = {}
    ecls_over: dict[int, str] = {}
    cat_over: dict[int, str] = {}
    py_rows: dict[str, dict[int, Any]] = {k: {} for k in ("tool", "path", "server", "mtool")}
    py_rows.update(target={}, mutates={}, cost={})
    entry_extra: list[list[tuple[int, str, Any]]] = [[] for _ in range(ntasks)]
    if fast_figs is None:  # one by one, exactly as the row parser does
        parsed = [_json_text(t) for t in req_texts.to_pylist()]
        parsed = [d if type(d) is dict else None for d in parsed]
        figs = pa.Table.from_pylist(
            [
                {k: (_num(d.get(k)) if k.startswith(("tokens", "cache")) else None)
                 for k in ("tokensIn", "tokensOut", "cacheWrites", "cacheReads")}
                | {"cost": _cost(d.get("cost")), "apiProtocol": _str(d.get("apiProtocol")),
                   "cancelReason": _str(d.get("cancelReason"))}
                if d is not None else {}
                for d in parsed
            ],
            schema=REQ_SCHEMA,
        )  # fmt: skip
        valid = pa.array([d is not None for d in parsed])
        has_request = pa.array([d is not None and "request" in d for d in parsed])
    else:
        figs, has_request = fast_figs
        valid = pa.array(np.ones(len(req_texts), dtype=bool))
    for name, col in (("tokens_in", "tokensIn"), ("tokens_out", "tokensOut"),
                      ("cache_writes", "cacheWrites"), ("cache_reads", "cacheReads")):  # fmt: skip
        cols[name] = _scatter(parse_mask, figs.column(col), pa.int64(), n)
    cols["cost"] = _scatter(parse_mask, figs.column("cost"), pa.float64(), n)
    data_proto = _scatter(parse_mask, figs.column("apiProtocol"), pa.string(), n)
    started_any = pc.equal(kind, "api_req_started")
    proto = pc.if_else(
        pc.fill_null(started_any, False),
        pc.coalesce(data_proto, msg_proto),
        pa.scalar(None, pa.string()),
    )
    cols["api_protocol"] = proto
    streaming = pc.fill_null(
        pc.equal(
            _scatter(parse_mask, figs.column("cancelReason"), pa.string(), n), "streaming_failed"
        ),
        False,
    )
    entry = pc.and_(parse_mask, pc.invert(first))
    entry = pc.and_(entry, _scatter(parse_mask, valid, pa.bool_(), n).fill_null(False))
    request_rows = pc.fill_null(_scatter(parse_mask, has_request, pa.bool_(), n), False)
    # -- tools -------------------------------------------------------------------
    is_tool = pc.fill_null(pc.equal(kind, "tool"), False)
    tool_text = pc.filter(text, is_tool)
    head = pc.extract_regex(tool_text, TOOL_HEAD_RE)
    head_ok = pc.is_valid(head)
    path_ok = pc.fill_null(pc.not_equal(pc.struct_field(head, "pathpart"), ""), False)
    # a "path" key that the head pattern did not reach: read that payload in full
    path_key = pc.match_substring(tool_text, '"path"')
    fast_t = pc.and_(head_ok, pc.or_(path_ok, pc.invert(path_key)))
    null_str = pa.scalar(None, pa.string())
    tool_t = pc.if_else(fast_t, pc.struct_field(head, "tool"), null_str)
    path_t = pc.if_else(pc.and_(fast_t, path_ok), pc.struct_field(head, "path"), null_str)
    fast = pc.fill_null(_scatter(is_tool, fast_t, pa.bool_(), n), False)
    tool_col = _scatter(is_tool, tool_t, pa.string(), n)
    path_col = _scatter(is_tool, path_t, pa.string(), n)
    write = pc.fill_null(pc.is_in(tool_col, WRITE), False)
    slow_tool = pc.and_(
        is_tool, pc.or_(pc.invert(fast), pc.fill_null(pc.is_in(tool_col, TOOL_CATS), False))
    )
    # -- commands ----------------------------------------------------------------
    cmd = pc.fill_null(pc.equal(kind, "command"), False)  # Cline: auto-approved is a say
    cols["command"] = _scatter(cmd, pc.filter(text, cmd), pa.string(), n)
    # -- the rare rows, in Python --------------------------------------------------
    is_error = pc.fill_null(pc.is_in(kind, ERROR_KINDS), False)
    rare = pc.or_(pc.or_(slow_tool, is_error), pc.fill_null(pc.is_in(kind, RARE), False))
    rare_rows = pc.indices_nonzero(rare).to_pylist()
    tid_py = pc.take(tidx, rare_rows).to_pylist() if rare_rows else []
    first_py = pc.take(first, rare_rows).to_pylist() if rare_rows else []
    extra_fail = [0] * ntasks
    for row, t_i, is_first in zip(rare_rows, tid_py, first_py, strict=True):
        m = msg_at(row)
        k = m[m["type"]]
        txt = m.get("text")
        if k == "tool":
            data = _json_text(txt)
            tl = pt = None
            if type(data) is dict:
                tl, pt = _str(data.get("tool")), _str(data.get("path"))
            py_rows["tool"][row], py_rows["path"][row] = tl, pt
            py_rows["mutates"][row] = tl in WRITE_TOOLS
            if tl in TOOL_CATEGORY:
                cat_over[row] = TOOL_CATEGORY[tl]
                py_rows["target"][row] = _str(data.get("mode"))
        elif k == "use_mcp_server":
            data = _json_text(txt)
            if type(data) is dict:
                py_rows["server"][row] = _str(data.get("serverName"))
                if data.get("type") == "access_mcp_resource":
                    py_rows["path"][row] = _str(data.get("uri"))
                else:
                    py_rows["mtool"][row] = _str(data.get("toolName"))
                    py_rows["mutates"][row] = True
        elif k == "condense_context":
            cc = m.get("contextCondense")
            py_rows["cost"][row] = _cost(cc.get("cost")) if type(cc) is dict else None
            if not is_first:
                entry_extra[t_i].append((row, "condense", cc))
        if KIND_SPECS.get(k, ("", None))[0] == "error":
            if k == "api_req_failed":
                extra_fail[t_i] += 1
            default = KIND_SPECS[k][1]
            if default in ("api_failed", "other"):
                ecls_over[row] = error_class_from_text(txt, default)
    for row in pc.indices_nonzero(streaming).to_pylist():
        ecls_over[row] = "streaming_failed"
    cols["tool"] = _overlay(tool_col, py_rows["tool"], pa.string(), n)
    cols["path"] = _overlay(path_col, py_rows["path"], pa.string(), n)
    cols["mcp_server"] = _overlay(pa.nulls(n, pa.string()), py_rows["server"], pa.string(), n)
    cols["mcp_tool"] = _overlay(pa.nulls(n, pa.string()), py_rows["mtool"], pa.string(), n)
    cols["target_mode"] = _overlay(pa.nulls(n, pa.string()), py_rows["target"], pa.string(), n)
    cols["cost"] = _overlay(cols["cost"], py_rows["cost"], pa.float64(), n)
    mutates = pc.or_(pc.and_(write, pc.invert(slow_tool)), cmd)
    cols["mutates"] = _overlay(mutates, py_rows["mutates"], pa.bool_(), n)
    write_final = pc.and_(is_tool, cols["mutates"])
    # -- per-task counts and totals ------------------------------------------------
    tid = tidx.to_numpy()
    masks = {
        "req": req, "fail": streaming, "tool": is_tool, "write": write_final, "cmd": cmd,
        "mcp": pc.fill_null(pc.equal(kind, "use_mcp_server"), False),
        "ckpt": pc.fill_null(pc.equal(kind, "checkpoint_saved"), False),
        "err": is_error, "done": pc.fill_null(pc.equal(kind, "completion_result"), False),
        "legacy": request_rows,
    }  # fmt: skip
    counts = {c: np.bincount(tid[_np(m)], minlength=ntasks).tolist() for c, m in masks.items()}
    for t_i, extra in enumerate(extra_fail):
        counts["fail"][t_i] += extra
    cols["category_over"], cols["error_class_over"] = cat_over, ecls_over
    return (
        cols,
        counts,
        _usage(cols, entry, tidx, data_proto, proto, counts, legacy_attr, entry_extra),
    )


def _np(a: Any) -> np.ndarray:
    """A boolean or numeric Arrow array as numpy (nulls already filled)."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return a.to_numpy(zero_copy_only=False)


def _last(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per task, the last row index where mask holds (-1 if none); tasks are non-empty."""
    pos = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.reduceat(pos, starts)


def _usage(cols, entry, tidx, data_proto, proto, counts, legacy_attr, entry_extra) -> list[dict]:
    """consolidateTokenUsage per task, in vector form; protocol and legacy flag per task."""
    ntasks = len(legacy_attr)
    legacy = [
        True if (legacy_attr[i] is None and counts["legacy"][i]) else legacy_attr[i]
        for i in range(ntasks)
    ]
    tid = tidx.to_numpy()
    starts = np.searchsorted(tid, np.arange(ntasks))
    e = _np(entry)
    te = tid[e]

    def figure(name: str) -> tuple[np.ndarray, np.ndarray]:
        col = cols[name]
        return _np(pc.fill_null(col, 0)), _np(pc.is_valid(col))

    tin, tin_ok = figure("tokens_in")
    tout, _ = figure("tokens_out")
    cw, cw_ok = figure("cache_writes")
    cr, cr_ok = figure("cache_reads")
    cost, _ = figure("cost")
    sums = {}
    for name, arr in (("tin", tin), ("tout", tout), ("cw", cw), ("cr", cr)):
        acc = np.zeros(ntasks, dtype=np.int64)
        np.add.at(acc, te, arr[e])
        sums[name] = acc.tolist()
    cost_sum = np.bincount(te, weights=cost[e], minlength=ntasks).tolist()
    cw_n = np.bincount(tid[e & cw_ok], minlength=ntasks)
    cr_n = np.bincount(tid[e & cr_ok], minlength=ntasks)
    out = [
        {"totalTokensIn": sums["tin"][i], "totalTokensOut": sums["tout"][i],
         "totalCacheWrites": sums["cw"][i] if cw_n[i] else None,
         "totalCacheReads": sums["cr"][i] if cr_n[i] else None,
         "totalCost": cost_sum[i], "contextTokens": 0}
        for i in range(ntasks)
    ]  # fmt: skip
    # token_rule (consolidate.token_rule): unnamed requests, and whether any shows
    # tokensIn < cacheWrites + cacheReads
    unnamed = _np(pc.is_null(data_proto))
    named_n = np.bincount(tid[e & ~unnamed], minlength=ntasks)
    unnamed_n = np.bincount(tid[e & unnamed], minlength=ntasks)
    excl_rows = e & unnamed & tin_ok & (tin < cw + cr)
    excl_task = np.bincount(tid[excl_rows], minlength=ntasks) > 0
    rules = [
        RULE_EXCLUDES if excl_task[i] else RULE_INCLUDES if unnamed_n[i] else
        RULE_ROO if named_n[i] else None
        for i in range(ntasks)
    ]  # fmt: skip
    # context: the last entry with a non-zero value (a request's in+out, a condense's new size)
    value = tin + tout
    anthropic = _np(pc.fill_null(pc.equal(data_proto, "anthropic"), False))
    legacy_rows = np.asarray([bool(x) for x in legacy], dtype=bool)[tid] & anthropic
    value = np.where(legacy_rows | (excl_task[tid] & unnamed), value + cw + cr, value)
    last_pos = _last(e & (value != 0), starts)
    last = {i: (int(p), int(value[p])) for i, p in enumerate(last_pos.tolist()) if p >= 0}
    for t_i, extras in enumerate(entry_extra):
        u = out[t_i]
        for row, _, cc in extras:
            c = cc.get("cost") if type(cc) is dict else None
            if type(c) in (int, float) and c == c:
                u["totalCost"] += c
            v = cc.get("newContextTokens") if type(cc) is dict else None
            v = v if type(v) in (int, float) and v == v and v else 0
            if v and row > last.get(t_i, (-1, 0))[0]:
                last[t_i] = (row, v)
    for t_i, (_, v) in last.items():
        out[t_i]["contextTokens"] = v
    # the task's protocol: the last request message that names one
    named = _np(pc.fill_null(pc.not_equal(proto, ""), False))
    proto_pos = _last(named, starts).tolist()
    picked = pc.take(proto, pa.array([p for p in proto_pos if p >= 0], pa.int64())).to_pylist()
    it = iter(picked)
    protocol = [next(it) if p >= 0 else None for p in proto_pos]
    return [
        {"usage": out[i], "protocol": protocol[i], "legacy": legacy[i], "rule": rules[i]}
        for i in range(ntasks)
    ]
