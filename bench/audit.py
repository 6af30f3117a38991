"""Benchmark: build the day's ledger for BENCH_AUDIT_ROWS mutating actions, then search it.

The ledger is built as run_day builds it (tasks/audit/stream.py: out of core, the ledger
written to temporary files), so peak RSS does not grow with the day's actions.

Searches stream the gzip ledger as `compliance audit search` does (verification, which
is the evidence benchmark's, is not included). Peer: DuckDB doing the nearest thing in SQL (filter the mutating rows, sort, write gzip
JSON lines; the same three searches) — it does no dedupe, redaction or entry ids, so it
is a floor, not an equal. The events are generated
into a Parquet file by one process; the job's step (read by row group, build,
serialise, read back, search) and DuckDB's each run in their own, so the peak RSS printed
is the job's own. Run: `.venv/bin/python -c "from bench.audit import main; main()"`
(default 100,000 actions; BENCH_AUDIT_ROWS=10000000 is the 10x fleet).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.audit.commands import hmac_redactor
from tasks.audit.config import AuditConfig
from tasks.audit.job import event_batches
from tasks.audit.ledger import count_ledger_lines, iter_ledger
from tasks.audit.search import Query, search
from tasks.audit.stream import stream_ledger
from tasks.telemetry.schema import EVENTS_SCHEMA

DEFAULT_ROWS = 100_000  # BENCH_AUDIT_ROWS=10000000: the 10x size
GEN_CHUNK = 1_000_000  # actions generated (and held) at a time by the generating process
READ_ONLY_SHARE = 0.5  # extra read-only rows per action, which the ledger must skip


def synthetic_events(actions: int, seed: int = 1, task_prefix: str = "task-") -> pa.Table:
    """`actions` mutating rows (writes, commands, MCP calls, edit-mode switches, restores)
    plus read-only rows, over 500 users and actions/40 tasks, one day."""
    rng = np.random.default_rng(seed)
    n = actions + int(actions * READ_ONLY_SHARE)
    kind_ix = np.concatenate(
        [rng.choice(5, actions, p=[0.6, 0.15, 0.1, 0.05, 0.1]), np.full(n - actions, 5)]
    )
    rng.shuffle(kind_ix)
    day = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp() * 1000)
    ts = np.sort(rng.integers(day, day + 86_400_000, n))
    users = np.array([f"user{i:03d}" for i in range(500)], dtype=object)
    user = users[rng.integers(0, 500, n)]
    task = np.char.add(task_prefix, rng.integers(0, max(1, actions // 40), n).astype(str)).astype(
        object
    )
    files = np.array(
        [f"src/mod{i}/file{i % 37}.py" for i in range(2000)] + ["../outside/x.py"], dtype=object
    )
    cmds = np.array(
        ["pytest -q", "git status", "npm run build", "ls -la", "git push origin main"], dtype=object
    )
    # per kind: source, type, kind, category, tool, mutates
    spec = [
        ("ui_messages", "ask", "tool", "tool", "appliedDiff", True),
        ("ui_messages", "ask", "command", "command", None, True),
        ("ui_messages", "ask", "use_mcp_server", "mcp_call", "use_mcp_tool", True),
        ("telemetry", "event", "Mode Switched", "mode_switch", None, False),
        ("telemetry", "event", "Checkpoint Restored", "rollback", None, True),
        ("ui_messages", "ask", "tool", "tool", "readFile", False),
    ]
    col = {
        name: np.array([s[i] for s in spec], dtype=object)[kind_ix]
        for i, name in enumerate(["source", "type", "kind", "category", "tool"])
    }
    mutates = np.array([s[5] for s in spec])[kind_ix]
    path = np.where((kind_ix == 0) | (kind_ix == 5), files[rng.integers(0, len(files), n)], None)
    command = np.where(kind_ix == 1, cmds[rng.integers(0, len(cmds), n)], None)
    arrays = {
        "schema_version": pa.array(np.full(n, 2, dtype=np.int16)),
        "user": pa.array(user, pa.string()),
        "team": pa.array(
            np.char.add("team", (rng.integers(0, 12, n)).astype(str)).astype(object), pa.string()
        ),
        "task_id": pa.array(task, pa.string()),
        "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
        "seq": pa.array(np.arange(n, dtype=np.int32)),
        **{k: pa.array(v, pa.string()) for k, v in col.items()},
        "mutates": pa.array(mutates),
        "path": pa.array(path, pa.string()),
        "command": pa.array(command, pa.string()),
        "mcp_server": pa.array(np.where(kind_ix == 2, "github", None), pa.string()),
        "mcp_tool": pa.array(np.where(kind_ix == 2, "create_issue", None), pa.string()),
        "target_mode": pa.array(np.where(kind_ix == 3, "code", None), pa.string()),
        "workspace": pa.array(
            np.where(col["source"] == "ui_messages", "/home/dev/proj", None), pa.string()
        ),
    }
    cols = [arrays.get(f.name, pa.nulls(n, f.type)) for f in EVENTS_SCHEMA]
    return pa.Table.from_arrays(cols, schema=EVENTS_SCHEMA)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def gen(path: str, rows: int) -> dict:
    """One Parquet file (the day's object), written a million actions at a time; each
    million has its own tasks, so no two chunks' rows collapse as duplicates."""
    t0, total = time.perf_counter(), 0
    with pq.ParquetWriter(path, EVENTS_SCHEMA) as writer:
        for k, start in enumerate(range(0, rows, GEN_CHUNK)):
            n = min(GEN_CHUNK, rows - start)
            table = synthetic_events(n, seed=k + 1, task_prefix=f"task-{k}-")
            writer.write_table(table, row_group_size=256_000)
            total += table.num_rows
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": total, "mb": os.path.getsize(path) / 1e6}


def ours(path: str, rows: int) -> dict:
    """What run_day does with the day's events: read them row group by row group, build
    the ledger out of core into ledger.jsonl.gz and ledger.csv (temporary files), read it
    back (completeness); then the three searches as the CLI streams them."""
    cfg = AuditConfig()

    def build():
        with open(path, "rb") as f:  # one object in memory, as run_day gets it from S3
            data = f.read()
        return stream_ledger(
            event_batches([(path, data)]),
            edit_modes=cfg.all_edit_modes(),
            redact_command=hmac_redactor(b"bench-key"),
            deny_patterns=cfg.deny_patterns(),
            write_burst=cfg.write_burst,
        )

    ledger, build_s = timed(build)
    back, parse_s = timed(lambda: count_ledger_lines(ledger.gz.chunks()))
    assert ledger.stats["entries"] == ledger.mutating_rows == back == rows, (back, rows)
    out = {"build": build_s, "read_back": parse_s, "gz_mb": len(ledger.gz) / 1e6,
           "csv_mb": len(ledger.csv) / 1e6}  # fmt: skip
    for name, q in SEARCHES.items():
        (out[f"hits_{name}"], out[name]) = timed(
            lambda q=q: sum(
                1 for _ in search(iter_ledger(ledger.gz.chunks(), keep=q.line_filter()), q)
            )
        )
    return out


SEARCHES = {
    "user": Query(user="user042"),
    "path": Query(path_glob="src/mod1*/file3.py"),
    "command": Query(command_regex=r"^git\b"),
}


def duckdb_peer(path: str, out_dir: str) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}')")
    out = f"{out_dir}/peer.jsonl.gz"
    _, build = timed(
        lambda: con.execute(
            "COPY (SELECT strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, user, team, task_id, kind, tool, path, command, "
            "mcp_server, mcp_tool, target_mode, workspace, auto_approved, source, seq FROM events "
            "WHERE mutates OR (kind = 'Mode Switched' AND target_mode IN ('code','debug','architect')) "
            f"ORDER BY ts, user, task_id, seq) TO '{out}' (FORMAT JSON, COMPRESSION GZIP)"
        )
    )
    q = {
        "user": "SELECT count(*) FROM events WHERE mutates AND user = 'user042'",
        "path": "SELECT count(*) FROM events WHERE mutates AND path GLOB 'src/mod1*/file3.py'",
        "command": "SELECT count(*) FROM events WHERE mutates AND regexp_matches(command, 'push\\s+origin')",
    }
    times = {"build": build}
    for name, sql in q.items():
        times[name] = timed(lambda sql=sql: con.execute(sql).fetchone())[1]
    return times


def peer(path: str) -> dict:
    import duckdb  # noqa: F401  (its import is outside the timing)

    with tempfile.TemporaryDirectory() as tmp:
        return duckdb_peer(path, tmp)


def main() -> None:
    from bench.child import run

    rows = int(os.environ.get("BENCH_AUDIT_ROWS", DEFAULT_ROWS))
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = os.path.join(tmp, "events.parquet")
        g = run("bench.audit", "gen", path, rows)
        duck = run("bench.audit", "peer", path)
        mine = run("bench.audit", "ours", path, rows)
    print(
        f"audit ledger: {rows:,} mutating actions in {g['rows']:,} event rows "
        f"({g['mb']:.0f} MB Parquet, generated in its own process in {g['seconds']:.1f} s)"
    )
    print(f"{'step':<30}{'ours s':>10}{'actions/s':>14}{'duckdb s':>10}{'ours/duckdb':>13}")
    lines = [
        ("read + build + write gz, csv", mine["build"], duck["build"]),
        ("read back (completeness)", mine["read_back"], None),
        *[(f"search --{k} ({mine['hits_' + k]:,} hits)", mine[k], duck[k]) for k in SEARCHES],
    ]
    for name, secs, peer_s in lines:
        ratio = f"{secs / peer_s:>12.1f}x" if peer_s else f"{'':>13}"
        peer_txt = f"{peer_s:>10.2f}" if peer_s else f"{'':>10}"
        print(f"{name:<30}{secs:>10.2f}{rows / secs:>14,.0f}{peer_txt}{ratio}")
    print(
        f"ledger.jsonl.gz {mine['gz_mb']:.1f} MB, ledger.csv {mine['csv_mb']:.1f} MB (temporary "
        f"files); DuckDB's peak RSS {duck['rss_mb']:,.0f} MB"
    )
    print(
        f"CPU seconds of each step's whole process (imports included; wall times above are "
        f"those of a shared machine): ours {mine['cpu_s']:.0f} s, DuckDB {duck['cpu_s']:.0f} s"
    )
    ok = "ok" if mine["rss_mb"] < 2048 else "MISSED"
    print(f"peak RSS: {mine['rss_mb']:,.0f} MB (the job's process; target < 2048 MB: {ok})")


if __name__ == "__main__":
    main()
