"""The day's ledger built out of core: the same entries, bytes and findings as
`ledger.build_ledger` + `checks` over the whole day, in memory independent of its size.

1. As row groups are read, each candidate row is classified, redacted and given its entry
   id (ledger.py's own functions), and the entries are appended to a Parquet spool.
2. DuckDB (memory-limited, spilling to the run's temporary directory) collapses identical
   entries (rule 1) and hands them back task by task, so rules 2-4 — which never look
   beyond one task — run on one task's entries at a time (`_drop_telemetry_duplicates`).
3. DuckDB sorts what is kept in the ledger's order and numbers it; the entries stream out
   in that order to ledger.jsonl.gz and ledger.csv (temporary files) while the summary
   counts and the outside-workspace and denied-command checks gather what they need.
4. Write bursts: the file writes stream back user by user, in ledger order, into
   `write_burst_findings`.

What stays in memory: counters, the distinct unclassified (source, kind, tool) triples,
one task's entries, one user's file writes, the writes outside their workspace and the
entries a deny pattern hit.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.audit import checks
from tasks.audit import model as m
from tasks.audit.ledger import (
    _candidates,
    _content,
    _drop_telemetry_duplicates,
    _rows,
    classify,
    count_mutating_rows,
    iter_ledger,
    ledger_csv_writer,
    ledger_jsonl,
)
from tasks.common.bursts import WriteBurstConfig
from tasks.common.models import Finding
from tasks.common.storage import SpooledFile
from tasks.common.workspace import write_escapes

BATCH = 16_384
DUCKDB_MEMORY = os.environ.get("COMPLIANCE_AUDIT_DUCKDB_MEMORY", "256MB")
_COMMAND_CACHE = 100_000  # distinct raw commands redacted once each, then the cache restarts
_TEXT = pa.string()
SPOOL_SCHEMA = pa.schema(
    [(f, _TEXT) for f in ("entry_id", "ts", "kind", "action", "user", "team", "task_id",
                          "workspace", "path", "command", "mcp_server", "mcp_tool", "target_mode")]
    + [("auto_approved", pa.bool_()), ("source", _TEXT), ("source_seq", pa.int64()),
       ("level", pa.bool_()), ("denied", _TEXT)]
)  # fmt: skip
_ORDER = "ts, coalesce(\"user\", ''), coalesce(task_id, ''), coalesce(source_seq, 0), entry_id"
_WRITES = (
    "SELECT \"user\", team, ts, kind FROM ledger WHERE kind = 'file_write' "
    'ORDER BY "user" NULLS FIRST, seq'
)
_FIELDS = ", ".join(f'"{f}"' for f in m.ENTRY_FIELDS)


@dataclass
class StreamedLedger:
    """The day's ledger as files, with what the job reports about it."""

    gz: SpooledFile
    csv: SpooledFile
    sha256: str
    stats: dict[str, int]
    denied: list[tuple[str, str]]
    mutating_rows: int
    unclassified: list[dict[str, Any]]  # distinct (source, kind, tool) of unclassified rows
    summary: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)  # outside, denied, bursts
    writes_with_unknown_place: int = 0

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The entries read back whole (tests and small days only)."""
        return list(iter_ledger(self.gz.chunks()))

    def entries_iter(self) -> Iterator[dict[str, Any]]:
        return iter_ledger(self.gz.chunks())


class _Spool:
    """Entries appended in batches to Parquet files under `dir`."""

    def __init__(self, path: str) -> None:
        self.path, self.rows = path, 0
        self.pending: list[dict[str, Any]] = []
        self.writer = pq.ParquetWriter(path, SPOOL_SCHEMA, compression="zstd")

    def add(self, entry: dict[str, Any]) -> None:
        """`entry`: the content fields and entry_id; `level` and `denied` if it has them."""
        self.pending.append(entry)
        self.rows += 1
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.Table.from_pylist(self.pending, schema=SPOOL_SCHEMA))
            self.pending = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


def _classify_into(
    spool: _Spool,
    batches: Iterable[pa.Table],
    modes: frozenset[str],
    redact: Callable[[str], str],
    workspaces: dict[str, str],
    deny_patterns: Sequence[tuple[str, Any]],
) -> tuple[int, int, int, set[tuple[Any, Any, Any]]]:
    """Step 1 (build_ledger's loop, batch by batch): rows in, mutating rows, unclassified
    mutating rows and their distinct (source, kind, tool)."""
    seen: dict[str, tuple[str, str | None]] = {}
    rows_in = mutating = unclassified = 0
    triples: set[tuple[Any, Any, Any]] = set()
    for batch in batches:
        rows_in += batch.num_rows
        mutating += count_mutating_rows(batch, modes)
        for row in _rows(_candidates(batch), workspaces):
            found = classify(row, modes)
            if found is None:
                if row["mutates"]:
                    unclassified += 1
                    triples.add((row.get("source"), row.get("kind"), row.get("tool")))
                continue
            kind, action = found
            command, hit = row["command"], None
            if kind == "command" and command is not None:
                if command not in seen:
                    if len(seen) >= _COMMAND_CACHE:
                        seen.clear()
                    hits = [p for p, rx in deny_patterns if rx.search(command)]
                    seen[command] = (redact(command), hits[0] if hits else None)
                command, hit = seen[command]
            content = _content(row, kind, action, command)
            content["entry_id"] = m.entry_id(content)
            content["level"], content["denied"] = row["type"] == "event", hit
            spool.add(content)
    spool.close()
    return rows_in, mutating, unclassified, triples


def _batches(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[list[dict[str, Any]]]:
    reader = con.sql(sql).to_arrow_reader(BATCH)
    for batch in reader:
        yield batch.to_pylist()


def _groups(con: duckdb.DuckDBPyConnection, sql: str, key: str) -> Iterator[list[dict[str, Any]]]:
    """The rows of `sql` (ordered by `key` first), one value of `key` at a time."""
    group: list[dict[str, Any]] = []
    for rows in _batches(con, sql):
        for r in rows:
            if group and group[0][key] != r[key]:
                yield group
                group = []
            group.append(r)
    if group:
        yield group


def _dedupe(con: duckdb.DuckDBPyConnection, classified: str, kept: _Spool) -> tuple[int, int]:
    """Rules 1-4: (exact duplicates, telemetry duplicates); the kept entries are spooled."""
    cols = ", ".join(f'any_value("{n}") AS "{n}"' for n in SPOOL_SCHEMA.names
                     if n not in ("entry_id", "level", "denied"))  # fmt: skip
    con.execute(
        f"CREATE TABLE uniq AS SELECT entry_id, {cols}, bool_or(level) AS level "
        "FROM read_parquet(?) GROUP BY entry_id",
        [classified],
    ).fetchall()
    total, distinct = con.execute(
        "SELECT (SELECT count(*) FROM read_parquet(?)), (SELECT count(*) FROM uniq)",
        [classified],
    ).fetchall()[0]
    dropped = 0
    for group in _groups(
        con, "SELECT * FROM uniq ORDER BY task_id NULLS FIRST, entry_id", "task_id"
    ):
        level = {e["entry_id"] for e in group if e.pop("level")}
        entries, n = _drop_telemetry_duplicates(group, level)
        dropped += n
        for e in entries:
            kept.add(e)
    kept.close()
    con.execute("DROP TABLE uniq").fetchall()
    return total - distinct, dropped


def _merge_counts(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """checks.summary_counts of a concatenation, from those of its parts."""
    if total is None:
        return part
    by_user: dict[str, Counter] = defaultdict(Counter, {u: Counter(c) for u, c in total["by_user"].items()})  # fmt: skip
    for u, c in part["by_user"].items():
        by_user[u].update(c)
    return {
        "entries": total["entries"] + part["entries"],
        "by_kind": {k: total["by_kind"][k] + part["by_kind"][k] for k in total["by_kind"]},
        "by_user": {u: dict(sorted(c.items())) for u, c in sorted(by_user.items())},
        "auto_approved": total["auto_approved"] + part["auto_approved"],
        "auto_approval_unknown": total["auto_approval_unknown"] + part["auto_approval_unknown"],
    }


def _write_out(
    con: duckdb.DuckDBPyConnection, denied_ids: set[str], spool_dir: str | None
) -> tuple[SpooledFile, SpooledFile, dict[str, Any], list[dict], list[dict], int]:
    """Step 3: the numbered entries to ledger.jsonl.gz and ledger.csv, and the checks'
    inputs gathered on the way."""
    gz_file, gz_raw = SpooledFile.create(".jsonl.gz", spool_dir)
    csv_file, csv_raw = SpooledFile.create(".csv", spool_dir)
    counts: dict[str, Any] | None = None
    outside: list[dict[str, Any]] = []
    denied: list[dict[str, Any]] = []
    unknown = 0
    with gz_raw, csv_raw, gzip.GzipFile(filename="", mode="wb", fileobj=gz_raw, compresslevel=6, mtime=0) as gz, io.TextIOWrapper(csv_raw, encoding="utf-8", newline="") as text:  # fmt: skip
        append_csv = ledger_csv_writer(text)
        for entries in _batches(con, f"SELECT {_FIELDS} FROM ledger ORDER BY seq"):
            for i in range(0, len(entries), 4096):
                gz.write(ledger_jsonl(entries[i : i + 4096]))
            append_csv(entries)
            counts = _merge_counts(counts, checks.summary_counts(entries))
            for e in entries:
                if e["kind"] == "file_write":
                    verdict = write_escapes(e["path"], e["workspace"])
                    if verdict is None:
                        unknown += 1
                    elif verdict:
                        outside.append(e)
                if e["entry_id"] in denied_ids:
                    denied.append(e)
        text.flush()
    return gz_file, csv_file, counts or checks.summary_counts([]), outside, denied, unknown


def connect(tmp: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB database in `tmp`, memory-limited and spilling there."""
    con = duckdb.connect(os.path.join(tmp, "ledger.duckdb"))
    con.execute(f"SET temp_directory = '{tmp}'").fetchall()
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'").fetchall()
    con.execute("SET preserve_insertion_order = false").fetchall()
    con.execute("SET threads = 1").fetchall()  # one sort/hash table, not one per core
    con.execute("SET enable_progress_bar = false").fetchall()  # no bars in job logs
    return con


def stream_ledger(
    batches: Iterable[pa.Table],
    *,
    edit_modes: Iterable[str],
    redact_command: Callable[[str], str],
    workspaces: dict[str, str] | None = None,
    deny_patterns: Sequence[tuple[str, Any]] = (),
    write_burst: WriteBurstConfig,
    spool_dir: str | None = None,
) -> StreamedLedger:
    """`batches`: the day's event batches (job.event_batches), read once."""
    modes = frozenset(edit_modes)
    with tempfile.TemporaryDirectory(prefix="audit-ledger-", dir=spool_dir) as tmp:
        con = connect(tmp)
        try:
            classified = _Spool(os.path.join(tmp, "classified.parquet"))
            rows_in, mutating, unclassified, triples = _classify_into(
                classified, batches, modes, redact_command, workspaces or {}, deny_patterns
            )
            kept = _Spool(os.path.join(tmp, "kept.parquet"))
            exact, telemetry = _dedupe(con, classified.path, kept)
            con.execute(
                f"CREATE TABLE ledger AS SELECT row_number() OVER (ORDER BY {_ORDER}) AS seq, * "
                "FROM read_parquet(?)",
                [kept.path],
            ).fetchall()
            pairs = con.execute(
                "SELECT DISTINCT entry_id, denied FROM read_parquet(?) WHERE denied IS NOT NULL "
                "AND entry_id IN (SELECT entry_id FROM ledger) ORDER BY ALL",
                [classified.path],
            ).fetchall()
            denied = [(str(e), str(p)) for e, p in pairs]
            gz, csv, counts, outside, hit, unknown = _write_out(
                con, {e for e, _ in denied}, spool_dir
            )
            bursts = checks.BurstTimes()  # user by user: write times only, never the entries
            for writes in _groups(con, _WRITES, "user"):
                bursts.add(writes)
        finally:
            con.close()
    findings = checks.outside_workspace_findings(outside)[0]
    findings += checks.denied_command_findings(hit, denied)
    findings += bursts.findings(write_burst)
    stats = {
        "rows_in": rows_in,
        "classified_rows": classified.rows,
        "exact_duplicates": exact,
        "telemetry_duplicates": telemetry,
        "unclassified_mutating_rows": unclassified,
        "entries": counts["entries"],
    }
    return StreamedLedger(
        gz=gz,
        csv=csv,
        sha256=gz.sha256(),
        stats=stats,
        denied=denied,
        mutating_rows=mutating,
        unclassified=[{"source": s, "kind": k, "tool": t} for s, k, t in triples],
        summary=counts,
        findings=findings,
        writes_with_unknown_place=unknown,
    )
