"""Benchmark: build the day's ledger for BENCH_AUDIT_ROWS mutating actions, then search it.

Searches stream the gzip ledger as `compliance audit search` does (verification, which
is the evidence benchmark's, is not included). Peer: DuckDB doing the nearest thing in SQL (filter the mutating rows, sort, write gzip
JSON lines; the same three searches) — it does no dedupe, redaction or entry ids, so it
is a floor, not an equal. Run: `.venv/bin/python -c "from bench.audit import main; main()"`
(BENCH_AUDIT_ROWS=100000 for a quick run).
"""

from __future__ import annotations

import gzip
import os
import resource
import tempfile
import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from tasks.audit.commands import hmac_redactor
from tasks.audit.config import AuditConfig
from tasks.audit.ledger import (
    build_ledger,
    count_ledger_lines,
    count_mutating_rows,
    iter_ledger,
    ledger_csv,
    ledger_jsonl_gz,
)
from tasks.audit.search import Query, search
from tasks.telemetry.schema import EVENTS_SCHEMA

DEFAULT_ROWS = 1_000_000
READ_ONLY_SHARE = 0.5  # extra read-only rows per action, which the ledger must skip


def synthetic_events(actions: int, seed: int = 1) -> pa.Table:
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
    task = np.char.add("task-", rng.integers(0, max(1, actions // 40), n).astype(str)).astype(
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


def duckdb_peer(table: pa.Table, out_dir: str) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    con.register("events", table)
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


def main() -> None:
    rows = int(os.environ.get("BENCH_AUDIT_ROWS", DEFAULT_ROWS))
    table, gen_s = timed(lambda: synthetic_events(rows))
    cfg = AuditConfig()
    modes = cfg.all_edit_modes()
    ledger, build_s = timed(
        lambda: build_ledger(
            table,
            edit_modes=modes,
            redact_command=hmac_redactor(b"bench-key"),
            deny_patterns=cfg.deny_patterns(),
        )
    )
    (gz, csv), ser_s = timed(lambda: (ledger_jsonl_gz(ledger.entries), ledger_csv(ledger.entries)))
    expected, count_s = timed(lambda: count_mutating_rows(table, modes))
    back, parse_s = timed(lambda: count_ledger_lines(gz))
    assert len(ledger.entries) == expected == back == rows, (len(ledger.entries), expected, rows)
    searches = {
        "user": Query(user="user042"),
        "path": Query(path_glob="src/mod1*/file3.py"),
        "command": Query(command_regex=r"^git\b"),
    }
    found = {}
    search_s = {}
    for name, q in searches.items():
        # as the CLI does: stream the gzip ledger, keep only the matches
        found[name], search_s[name] = timed(
            lambda q=q: sum(1 for _ in search(iter_ledger(gz, keep=q.line_filter()), q))
        )
    with tempfile.TemporaryDirectory() as tmp:
        peer = duckdb_peer(table, tmp)
    ours_total = build_s + ser_s
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"audit ledger: {rows:,} mutating actions in {table.num_rows:,} event rows (generated in {gen_s:.1f} s)"
    )
    print(f"{'step':<28}{'ours s':>10}{'actions/s':>14}{'duckdb s':>10}{'ours/duckdb':>13}")
    lines = [
        ("build (classify+dedupe+sort)", build_s, None),
        ("serialise jsonl.gz + csv", ser_s, None),
        ("build + serialise", ours_total, peer["build"]),
        ("completeness count", count_s, None),
        ("read back (completeness)", parse_s, None),
        *[(f"search --{k} ({found[k]:,} hits)", search_s[k], peer[k]) for k in searches],
    ]
    for name, secs, peer_s in lines:
        ratio = f"{secs / peer_s:>12.1f}x" if peer_s else f"{'':>13}"
        peer_txt = f"{peer_s:>10.2f}" if peer_s else f"{'':>10}"
        print(f"{name:<28}{secs:>10.2f}{rows / secs:>14,.0f}{peer_txt}{ratio}")
    print(
        f"ledger.jsonl.gz {len(gz) / 1e6:.1f} MB ({len(gzip.decompress(gz)) / 1e6:.0f} MB raw), ledger.csv {len(csv) / 1e6:.0f} MB"
    )
    print(f"peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
