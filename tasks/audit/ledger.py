"""Build the day's ledger of mutating actions from the validated events table.

Which rows are actions (see model.py for the tool names and edit-capable modes):
file writes, shell commands, MCP tool calls, checkpoint restores, and switches into a mode
that can edit. An action Roo Code proposed is recorded whether or not it was approved
(`auto_approved` tells what the data shows; null = unknown).

Dedupe rule (ui_messages win, telemetry-only actions once):
1. Rows with identical content (same entry id, e.g. the same parquet rows written twice
   for a day) collapse to one.
2. A telemetry row that mirrors a ui_messages action exactly (a `Task Message` event
   carrying the same ClineMessage: same task, kind, timestamp and target) is dropped; a
   Task Message whose ui message is absent (file missing or quarantined) is kept.
3. `Tool Used` / `Mode Switched` events carry no path or command, so they are paired in
   time order with the ClineMessage actions kept for the same task and kind (and target
   mode); paired events are dropped, unpaired ones are kept. So a task holds
   max(messages, events) actions of each kind.
4. Kinds only telemetry records (`Checkpoint Restored`, i.e. rollbacks) are kept, once.
"""

from __future__ import annotations

import gzip
import io
import itertools
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tasks.audit import model as m
from tasks.common.csvsafe import SafeWriter

READ_COLUMNS = (
    "user",
    "team",
    "task_id",
    "ts",
    "seq",
    "source",
    "type",
    "kind",
    "category",
    "tool",
    "mutates",
    "path",
    "command",
    "mcp_server",
    "mcp_tool",
    "target_mode",
    "workspace",
    "auto_approved",
)
_CANDIDATE_KINDS = [
    "tool",
    "command",
    "use_mcp_server",
    "Tool Used",
    "Mode Switched",
    "Checkpoint Restored",
]


@dataclass
class Ledger:
    entries: list[dict[str, Any]]
    stats: dict[str, int] = field(default_factory=dict)
    unclassified: list[dict[str, Any]] = field(default_factory=list)  # flagged mutating, no rule
    denied: list[tuple[str, str]] = field(default_factory=list)  # (entry_id, deny pattern)


def classify(row: dict[str, Any], edit_modes: frozenset[str]) -> tuple[str, str] | None:
    """(kind, action) of a mutating row, or None for read-only rows."""
    kind, typ, tool = row.get("kind"), row.get("type"), row.get("tool")
    if kind == "Checkpoint Restored" or row.get("category") == "rollback":
        return "rollback", kind or "rollback"
    if typ == "event":
        if kind == "Tool Used":
            if tool in m.TELEMETRY_WRITE_TOOLS:
                return "file_write", tool
            if tool in m.TELEMETRY_COMMAND_TOOLS:
                return "command", tool
            if tool in m.TELEMETRY_MCP_TOOLS:
                return "mcp_call", tool
            if tool in m.MODE_SWITCH_TOOLS and row.get("target_mode") in edit_modes:
                return "mode_switch", tool
            return None
        if kind == "Mode Switched" and row.get("target_mode") in edit_modes:
            return "mode_switch", kind
        return None
    # A ClineMessage (from ui_messages, or wrapped in a Task Message event).
    if typ != "ask":
        return None
    if kind == "tool":
        if tool in m.UI_WRITE_TOOLS:
            return "file_write", tool
        if tool in m.MODE_SWITCH_TOOLS and row.get("target_mode") in edit_modes:
            return "mode_switch", tool
        return None
    if kind == "command":
        return "command", "command"
    # use_mcp_tool names a tool; access_mcp_resource (a read) names a resource uri instead
    if kind == "use_mcp_server" and row.get("mcp_tool") and tool != "access_mcp_resource":
        return "mcp_call", tool or "use_mcp_tool"
    return None


def _candidates(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """Rows that may be actions (vectorised pre-filter, so Python only sees those)."""
    missing = [c for c in READ_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"events table lacks columns: {', '.join(missing)}")
    t = table.select(list(READ_COLUMNS))
    if isinstance(t, pa.RecordBatch):
        t = pa.Table.from_batches([t])
    mask = pc.or_kleene(
        pc.fill_null(pc.equal(t["mutates"], True), False),
        pc.fill_null(pc.is_in(t["kind"], pa.array(_CANDIDATE_KINDS)), False),
    )
    mask = pc.or_(mask, pc.fill_null(pc.equal(t["category"], "rollback"), False))
    t = t.filter(mask)
    return t.set_column(
        t.column_names.index("ts"), "ts", pc.strftime(t["ts"], format="%Y-%m-%dT%H:%M:%SZ")
    )


def count_mutating_rows(table: pa.Table | pa.RecordBatch, edit_modes: frozenset[str]) -> int:
    """The completeness reference, computed apart from `classify`: rows the validated
    table flags `mutates`, plus switches into an edit-capable mode."""
    flagged = pc.fill_null(pc.equal(table["mutates"], True), False)
    switch = pc.or_(
        pc.fill_null(pc.equal(table["kind"], "Mode Switched"), False),
        pc.fill_null(pc.is_in(table["tool"], pa.array(sorted(m.MODE_SWITCH_TOOLS))), False),
    )
    to_edit = pc.fill_null(
        pc.is_in(table["target_mode"], pa.array(sorted(edit_modes), pa.string())), False
    )
    return int(pc.sum(pc.or_(flagged, pc.and_(switch, to_edit))).as_py() or 0)


def _content(row: dict[str, Any], kind: str, action: str, command: str | None) -> dict[str, Any]:
    return {
        "ts": row["ts"],
        "kind": kind,
        "action": action,
        "user": row["user"],
        "team": row["team"],
        "task_id": row["task_id"],
        "workspace": row["workspace"],
        "path": row["path"] if kind == "file_write" else None,
        "command": command if kind == "command" else None,
        "mcp_server": row["mcp_server"] if kind == "mcp_call" else None,
        "mcp_tool": row["mcp_tool"] if kind == "mcp_call" else None,
        "target_mode": row["target_mode"] if kind == "mode_switch" else None,
        "auto_approved": row["auto_approved"],
        "source": row["source"],
        "source_seq": row["seq"],
    }


def _mirror_key(e: dict[str, Any]) -> tuple:
    return (e["task_id"], e["kind"], e["ts"], e["path"], e["command"], e["mcp_server"], e["mcp_tool"], e["target_mode"])  # fmt: skip


def _drop_telemetry_duplicates(
    entries: list[dict[str, Any]], event_level: set[str]
) -> tuple[list[dict[str, Any]], int]:
    """Rules 2-4 of the module docstring. `event_level` holds the entry ids of Tool Used /
    Mode Switched / Checkpoint Restored rows; the others are ClineMessages (ui_messages,
    or Task Message events)."""
    ui = [e for e in entries if e["source"] == m.UI_SOURCE]
    mirrors = {_mirror_key(e) for e in ui}
    kept, dropped = list(ui), 0
    events: list[dict[str, Any]] = []
    for e in entries:
        if e["source"] == m.UI_SOURCE:
            continue
        if e["kind"] == "rollback":
            kept.append(e)  # only telemetry records restores
        elif e["entry_id"] in event_level:
            events.append(e)  # paired below
        elif _mirror_key(e) in mirrors:
            dropped += 1  # a Task Message carrying a ui message we have
        else:
            kept.append(e)  # a ClineMessage only telemetry kept (ui file missing)
    pool: dict[tuple, int] = defaultdict(int)
    for e in kept:
        if e["entry_id"] not in event_level:
            pool[(e["task_id"], e["kind"], e["target_mode"])] += 1
    for e in sorted(events, key=m.sort_key):
        key = (e["task_id"], e["kind"], e["target_mode"])
        if pool[key] > 0:
            pool[key] -= 1
            dropped += 1
        else:
            kept.append(e)
    return kept, dropped


# Columns whose values repeat across a day's rows: each distinct value becomes one Python
# string shared by every entry that holds it (a ledger of 1 M entries otherwise carries
# ~10 M separate small strings; the values, and so the bytes written, are the same).
_SHARED = frozenset(
    {"user", "team", "task_id", "ts", "source", "type", "kind", "category", "tool", "path",
     "mcp_server", "mcp_tool", "target_mode", "workspace"}
)  # fmt: skip


def _column(col: pa.Array, memo: dict[str, str]) -> list[Any] | np.ndarray:
    if col.null_count == len(col) or not pa.types.is_string(col.type):
        return col.to_pylist()
    enc = pc.dictionary_encode(col)
    values = [memo.setdefault(v, v) for v in enc.dictionary.to_pylist()] + [None]
    idx = pc.fill_null(enc.indices, len(values) - 1).to_numpy(zero_copy_only=False)
    return np.array(values, dtype=object)[idx]


def _rows(table: pa.Table, workspaces: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Row dicts batch by batch (memory stays bounded), workspaces filled from tasks."""
    memo: dict[str, str] = {}
    for batch in table.to_batches(max_chunksize=65_536):
        names = batch.schema.names
        cols = [
            _column(batch.column(i), memo) if n in _SHARED else batch.column(i).to_pylist()
            for i, n in enumerate(names)
        ]
        for values in zip(*cols, strict=True):
            row = dict(zip(names, values, strict=True))
            if not row["workspace"] and row["task_id"] in workspaces:
                row["workspace"] = workspaces[row["task_id"]]
            yield row


def task_workspaces(tasks: pa.Table | None) -> dict[str, str]:
    """task_id -> workspace from the validated tasks table (telemetry events lack it)."""
    if tasks is None or tasks.num_rows == 0:
        return {}
    ids, spaces = tasks["task_id"].to_pylist(), tasks["workspace"].to_pylist()
    return {t: w for t, w in zip(ids, spaces, strict=True) if t and w}


def build_ledger(
    events: pa.Table,
    *,
    edit_modes: Iterable[str],
    redact_command: Callable[[str], str],
    workspaces: dict[str, str] | None = None,
    deny_patterns: Sequence[tuple[str, Any]] = (),
) -> Ledger:
    """Every mutating action of the table, deduplicated, sorted, numbered.

    Deny patterns are matched against the raw command (before redaction); only the
    entry id and the pattern are kept, so the finding never needs the raw text."""
    modes = frozenset(edit_modes)
    candidates, rows_in = _candidates(events), events.num_rows
    seen: dict[str, tuple[str, str | None]] = {}
    entries: list[dict[str, Any]] = []
    levels: list[bool] = []  # True: a Tool Used / Mode Switched / Checkpoint Restored event
    denied: list[tuple[dict[str, Any], str]] = []
    unclassified: list[dict[str, Any]] = []
    for row in _rows(candidates, workspaces or {}):
        found = classify(row, modes)
        if found is None:
            if row["mutates"]:
                unclassified.append(row)
            continue
        kind, action = found
        command, hit = row["command"], None
        if kind == "command" and command is not None:
            if command not in seen:  # commands repeat a lot: redact and match each once
                hits = [p for p, rx in deny_patterns if rx.search(command)]
                seen[command] = (redact_command(command), hits[0] if hits else None)
            command, hit = seen[command]
        entries.append(_content(row, kind, action, command))
        levels.append(row["type"] == "event")
        if hit is not None:
            denied.append((entries[-1], hit))
    classified = len(entries)
    unique: dict[str, dict[str, Any]] = {}
    for content in entries:
        content["entry_id"] = m.entry_id(content)
        unique.setdefault(content["entry_id"], content)
    exact_duplicates = classified - len(unique)
    event_level = {c["entry_id"] for c, level in zip(entries, levels, strict=True) if level}
    kept, telemetry_duplicates = _drop_telemetry_duplicates(list(unique.values()), event_level)
    kept.sort(key=m.sort_key)
    for seq, entry in enumerate(kept, start=1):
        entry["seq"] = seq
    stats = {
        "rows_in": rows_in,
        "classified_rows": classified,
        "exact_duplicates": exact_duplicates,
        "telemetry_duplicates": telemetry_duplicates,
        "unclassified_mutating_rows": len(unclassified),
        "entries": len(kept),
    }
    kept_ids = {e["entry_id"] for e in kept}
    flagged = sorted({(c["entry_id"], p) for c, p in denied if c["entry_id"] in kept_ids})
    return Ledger(entries=kept, stats=stats, unclassified=unclassified, denied=flagged)


def ledger_jsonl(entries: list[dict[str, Any]]) -> bytes:
    return b"".join(m.canonical(e) + b"\n" for e in entries)


def ledger_jsonl_gz(entries: list[dict[str, Any]], chunk: int = 4096) -> bytes:
    """Byte-identical for identical entries: mtime 0 and no file name in the gzip header.
    Compressed in chunks of lines, so the uncompressed text is never held whole."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=6, mtime=0) as gz:
        for i in range(0, len(entries), chunk):
            gz.write(ledger_jsonl(entries[i : i + chunk]))
    return buf.getvalue()


def _csv_row(e: dict[str, Any]) -> list[Any]:
    values = [e[f] for f in m.ENTRY_FIELDS]
    values[_AUTO] = _FLAG[e["auto_approved"]]
    return values


def ledger_csv_writer(out: IO[str]) -> Callable[[Iterable[dict[str, Any]]], None]:
    """Writes the header to `out` and returns a function that appends entries to it."""
    writer = SafeWriter(out, lineterminator="\n")
    writer.writerow(m.ENTRY_FIELDS)
    return lambda entries: writer.writerows(_csv_row(e) for e in entries)


def ledger_csv(entries: list[dict[str, Any]]) -> bytes:
    """The same entries as CSV (null -> empty, booleans as true/false), for spreadsheets."""
    buf = io.StringIO()
    ledger_csv_writer(buf)(entries)  # csv writes None as an empty field
    return buf.getvalue().encode()


_AUTO = m.ENTRY_FIELDS.index("auto_approved")
_FLAG = {True: "true", False: "false", None: None}


def _lines(data: bytes | Iterable[bytes], chunk: int = 1 << 20) -> Iterator[bytes]:
    """Lines of gzip (one or more members) or plain bytes, decompressed a chunk at a time;
    `data` is the bytes or an iterable of chunks of them (a file read in blocks)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        whole = data
        data = (whole[i : i + chunk] for i in range(0, len(whole), chunk))
    it, head = iter(data), b""
    while len(head) < 2 and (block := next(it, None)) is not None:
        head += block
    chunks = itertools.chain([head], it)
    pending = b""
    if head[:2] != b"\x1f\x8b":
        for block in chunks:
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            yield from lines
        yield pending
        return
    d, fed = zlib.decompressobj(wbits=31), False
    for block in chunks:
        while block:
            lines = (pending + d.decompress(block)).split(b"\n")
            fed, pending, block = True, lines.pop(), b""
            yield from lines
            if d.eof:  # the next member (if any) starts in what this one left
                pending += d.flush()
                block, d, fed = d.unused_data, zlib.decompressobj(wbits=31), False
    if fed and not d.eof:
        raise EOFError("compressed file ended before the end-of-stream marker")
    yield pending


def iter_ledger(
    data: bytes | Iterable[bytes],
    name: str = "ledger.jsonl.gz",
    keep: Callable[[bytes], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """Entries of a ledger (gzip or plain JSONL), streamed; `keep` skips lines unparsed.
    One-line error naming the file."""
    try:
        for line in _lines(data):
            if line and (keep is None or keep(line)):
                yield orjson.loads(line)
    except (zlib.error, EOFError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{name}: not a readable ledger ({type(exc).__name__})") from None


def parse_ledger(data: bytes, name: str = "ledger.jsonl.gz") -> list[dict[str, Any]]:
    return list(iter_ledger(data, name))


def count_ledger_lines(data: bytes | Iterable[bytes], name: str = "ledger.jsonl.gz") -> int:
    """Entries in written ledger bytes, each line checked to be JSON, without keeping them."""
    return sum(1 for _ in iter_ledger(data, name))
