"""Benchmark: Roo Code ui_messages ingestion (parse + normalise to Arrow) against the
general-purpose readers a user would pick instead, on the same files:

- DuckDB's `read_json` over the task folders' ui_messages.json (format='array'), to an
  Arrow table;
- pyarrow's JSON reader (`pyarrow.json.read_json`), one table per task. It reads only
  newline-delimited JSON, so it is given the same messages written as JSON Lines
  (prepared before the clock starts: a head start for the peer).

Neither does what ingestion does beyond parsing (the tool/command/MCP payloads inside
`text`, classification, redaction of paths, quarantine): they are what a user would get
for "read these files into a table". Ours must stay ahead of them; peak RSS < 1 GB
whatever the input size. Each phase runs in its own subprocess so its peak RSS is its own.

    BENCH_INGEST_MB=1024 python -c "from bench.ingest import main; main()"   # default 200 MB
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

# Roo Code writes JSON.stringify output: no spaces after separators
compact = functools.partial(json.dumps, separators=(",", ":"))
ROOT = Path(__file__).resolve().parent.parent
T0 = 1_760_000_000_000

_CODE = [
    "export async function retry<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {",
    "  for (let i = 0; i < attempts; i++) { try { return await fn() } catch (e) { last = e } }",
    'def handler(event, context):\n    return {"statusCode": 200, "body": json.dumps(event)}',
    "-    const timeout = 1000\n+    const timeout = config.timeoutMs ?? 30_000",
    'import { describe, it, expect } from "vitest"  // tests for the retry helper',
    "SELECT user_id, SUM(cost) FROM tasks WHERE started_at >= $1 GROUP BY user_id;",
]
_PROSE = (
    "I'll look at the failing test first, then update the retry logic so that it backs off "
    "exponentially and respects the configured timeout. "
)


def _blob(rng: random.Random, n_lines: int) -> str:
    return "\n".join(rng.choice(_CODE) for _ in range(n_lines))


def _task_messages(rng: random.Random, t0: int, turns: int) -> list[dict]:
    """A realistic mix: requests, assistant text, reasoning, tools, commands, MCP."""
    ts = t0
    msgs = [{"ts": ts, "type": "say", "say": "text", "text": "Fix the flaky retry test. " * 8}]
    for i in range(turns):
        ts += rng.randint(200, 4000)
        tin = rng.randint(2000, 120_000)
        fig = {"apiProtocol": "anthropic", "tokensIn": tin, "tokensOut": rng.randint(50, 4000),
               "cacheWrites": rng.randint(0, 5000), "cacheReads": rng.randint(0, tin),
               "cost": round(rng.random() / 20, 6)}  # fmt: skip
        msgs.append({"ts": ts, "type": "say", "say": "api_req_started", "text": compact(fig)})
        if rng.random() < 0.4:
            msgs.append({"ts": ts + 1, "type": "say", "say": "reasoning", "partial": False,
                         "text": _PROSE * rng.randint(2, 8)})  # fmt: skip
        msgs.append(
            {"ts": ts + 2, "type": "say", "say": "text", "text": _PROSE * rng.randint(1, 4)}
        )
        r = rng.random()
        if r < 0.35:
            tool = rng.choice(["editedExistingFile", "appliedDiff", "newFileCreated"])
            payload = {"tool": tool, "path": f"src/mod{i % 40}.ts", "diff": _blob(rng, 20),
                       "isOutsideWorkspace": False}  # fmt: skip
            msgs.append({"ts": ts + 3, "type": "ask", "ask": "tool", "text": compact(payload)})
            msgs.append({"ts": ts + 4, "type": "say", "say": "checkpoint_saved",
                         "text": uuid.uuid4().hex, "checkpoint": {"from": "a", "to": "b"}})  # fmt: skip
        elif r < 0.65:
            payload = {"tool": "readFile", "path": f"src/mod{i % 40}.ts", "content": _blob(rng, 6)}
            msgs.append({"ts": ts + 3, "type": "ask", "ask": "tool", "text": compact(payload)})
        elif r < 0.9:
            msgs.append(
                {"ts": ts + 3, "type": "ask", "ask": "command", "text": "npm test -- retry"}
            )
            msgs.append({"ts": ts + 4, "type": "say", "say": "command_output",
                         "text": _blob(rng, rng.randint(3, 30))})  # fmt: skip
        else:
            payload = {"type": "use_mcp_tool", "serverName": "github", "toolName": "create_issue",
                       "arguments": compact({"title": "flaky retry", "body": _PROSE})}  # fmt: skip
            msgs.append({"ts": ts + 3, "type": "ask", "ask": "use_mcp_server",
                         "text": compact(payload)})  # fmt: skip
            msgs.append({"ts": ts + 4, "type": "say", "say": "mcp_server_response", "text": "ok"})
    msgs.append({"ts": ts + 10, "type": "say", "say": "completion_result", "text": "Done."})
    return msgs


def generate(out: Path, megabytes: int, seed: int = 7) -> tuple[int, int]:
    """Write tasks/<uuid>/ui_messages.json until `megabytes` are on disk; (bytes, tasks)."""
    rng = random.Random(seed)
    target = megabytes * 1024 * 1024
    written = tasks = 0
    # a handful of distinct task bodies, re-stamped: generation stays far faster than parsing
    bodies = [_task_messages(rng, T0, rng.randint(20, 60)) for _ in range(16)]
    while written < target:
        body = bodies[tasks % len(bodies)]
        shift = tasks * 3_600_000
        msgs = [{**m, "ts": m["ts"] + shift} for m in body]
        folder = out / "tasks" / str(uuid.UUID(int=rng.getrandbits(128), version=4))
        folder.mkdir(parents=True)
        raw = orjson.dumps(msgs)
        (folder / "ui_messages.json").write_bytes(raw)
        lines = out / "jsonl" / f"{folder.name}.jsonl"  # pyarrow's reader wants JSON Lines
        lines.parent.mkdir(exist_ok=True)
        lines.write_bytes(b"\n".join(orjson.dumps(m) for m in msgs) + b"\n")
        written += len(raw)
        tasks += 1
    return written, tasks


def _files(root: Path) -> list[Path]:
    return sorted((root / "tasks").glob("*/ui_messages.json"))


def _phase(name: str, root: str) -> None:
    """Run one phase in this (child) process and print its figures as JSON."""
    import resource

    import pyarrow as pa

    pa.array([1])  # imports are a fixed cost, not parsing: done before the clock starts
    if name == "ours":
        from tasks.telemetry.ingest import Ingestion
    elif name == "duckdb":
        import duckdb
    else:
        import pyarrow.json as pj
    path = Path(root)
    nbytes = sum(f.stat().st_size for f in _files(path))
    start = time.perf_counter()
    rows = 0
    if name == "duckdb":
        con = duckdb.connect()
        glob = str(path / "tasks" / "*" / "ui_messages.json")
        # (union_by_name=true runs out of memory over a thousand files in DuckDB 2.0;
        # its sampled schema detection sees every key the generator writes anyway)
        rows = (
            con.sql(f"SELECT * FROM read_json('{glob}', format='array')").to_arrow_table().num_rows
        )
    elif name == "pyarrow":
        for f in sorted((path / "jsonl").glob("*.jsonl")):
            rows += pj.read_json(f).num_rows
    else:
        run = Ingestion(root)
        for table_name, table in run:
            if table_name == "events":
                rows += table.num_rows
        assert run.counts["records_in"] == run.counts["valid"] + run.counts["quarantined"]
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "bytes": nbytes, "rows": rows, "rss_mb": rss_mb}))


def _run_phase(name: str, root: Path) -> dict:
    code = f"from bench.ingest import _phase; _phase({name!r}, {str(root)!r})"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    megabytes = int(os.environ.get("BENCH_INGEST_MB", "200"))
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir="/tmp"))
    try:
        t = time.perf_counter()
        nbytes, ntasks = generate(work, megabytes)
        gen_s = time.perf_counter() - t
        print(
            f"generated {nbytes / 1e6:.0f} MB in {ntasks} task folders ({gen_s:.1f} s) under {work}"
        )
        results = {
            "DuckDB read_json (array)": _run_phase("duckdb", work),
            "pyarrow.json (JSON Lines)": _run_phase("pyarrow", work),
            "ours: parse + normalise": _run_phase("ours", work),
        }
        print(f"{'phase':30} {'seconds':>8} {'MB/s':>8} {'rows':>10} {'peak RSS MB':>12}")
        for label, r in results.items():
            r["mbps"] = r["bytes"] / 1e6 / r["seconds"]
            print(
                f"{label:30} {r['seconds']:8.2f} {r['mbps']:8.1f} {r['rows']:10d} {r['rss_mb']:12.0f}"
            )
        ours = results["ours: parse + normalise"]
        for label, r in list(results.items())[:2]:
            ratio = ours["mbps"] / r["mbps"]
            verdict = "ahead" if ratio >= 1 else "BEHIND"
            print(f"ours / {label} = {ratio:.2f}x MB/s ({verdict})")
        rss_ok = ours["rss_mb"] < 1024
        print(
            f"ours peak RSS {ours['rss_mb']:.0f} MB (target < 1024 MB): {'OK' if rss_ok else 'MISSED'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
