"""Benchmark: the telemetry-quality JOB end to end — its own hooks, collect_chunk (ingest
streamed to the spool) → merge → evaluate (GX per batch, split, health, gate) — over
BENCH_QUALITY_ROWS telemetry events, next to DuckDB doing the nearest counts on the same
files (rows per event type, requests over the cost bound, repeated keys, spend per user).

    BENCH_QUALITY_ROWS=1000000 python -m bench.quality     (default 10 M: issue 19's size)

The data is written by its own process first: a generated fleet's day (task folders,
telemetry, planted malformed records and incidents) and copies of its telemetry under
other user names and task ids until the events reach the size. The job reads it through
the storage layer's local store (the same code as S3, without a 3 GB upload to moto).
The job and DuckDB each run in their own process: each peak RSS (ru_maxrss) is its own.
Target: peak RSS < 2048 MB at 10 M events.
"""

from __future__ import annotations

import os
import re
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DAY = date(2026, 11, 20)
SINCE, UNTIL = "2026-11-20", "2026-11-21"
TASK_ID = re.compile(rb'"taskId":"([0-9a-f-]{36})"')


def generate(root: str, events: int) -> dict:
    """A 20-user generated day plus renamed copies of its telemetry up to `events` lines."""
    from tasks.telemetry.generator import generate_fleet

    t0 = time.perf_counter()
    generate_fleet(root, users=20, days=1, seed=5, start=DAY)
    folder = Path(root, "raw/events", f"{DAY:%Y/%m/%d}")
    templates = [(p.stem.encode(), p.read_bytes()) for p in sorted(folder.glob("*.jsonl"))]
    lines = sum(body.count(b"\n") for _, body in templates)
    written, copy = lines, 0
    while written < events:
        copy += 1
        for user, body in templates:
            if written >= events:
                break
            out = body.replace(b'"user":"' + user + b'"', b'"user":"' + user + b'-%d"' % copy)
            for tid in set(TASK_ID.findall(body)):  # the copy's own tasks
                out = out.replace(tid, tid[:-6] + b"%06x" % copy)
            keep = out.splitlines(keepends=True)[: events - written]
            Path(folder, f"{user.decode()}-{copy}.jsonl").write_bytes(b"".join(keep))
            written += len(keep)
    size = sum(p.stat().st_size for p in Path(root, "raw").rglob("*") if p.is_file())
    return {"seconds": time.perf_counter() - t0, "lines": written, "bytes": size}


def job(root: str) -> dict:
    """The job's hooks in this process (threads, one chunk), as the flow runs them."""
    from tasks.common.contract import JobConfig, Scope
    from tasks.common.periods import resolve_period
    from tasks.common.settings import StorageSettings
    from tasks.quality import job as quality
    from tasks.quality.config import QualityConfig
    from tasks.quality.frames import parse_roster
    from tasks.quality.storage import InputPlan
    from tasks.retention.config import parse_redaction

    os.environ.setdefault("COMPLIANCE_REDACTION_KEY", "bench-" + "0" * 32)
    cfg = JobConfig(quality=QualityConfig(), redaction=parse_redaction({}, "bench"))
    settings = StorageSettings(data_bucket="bench-data", reports_bucket="bench-reports")
    period, scope = resolve_period(SINCE, UNTIL), Scope(run_id="bench")
    source = str(Path(root, "raw"))
    roster = parse_roster(Path(root, "raw/org/roster.csv").read_bytes(), "roster.csv")
    planned = InputPlan(source, [None], roster, {"days": {}}, [])
    t0 = time.perf_counter()
    chunk = quality.collect_chunk(settings, cfg, period, scope, (source, None))
    t1 = time.perf_counter()
    inputs = quality.merge(settings, cfg, period, scope, planned, [chunk])
    result = quality.evaluate(inputs, cfg)
    t2 = time.perf_counter()
    a = result.state
    inputs.raw.spool.close()
    return {"seconds": t2 - t0, "collect_s": t1 - t0, "evaluate_s": t2 - t1,
            "counts": a.counts, "batches": a.batches, "gate": a.gate.status,
            "findings": len(result.findings)}  # fmt: skip


def duckdb_counts(root: str) -> dict:
    """DuckDB over the same telemetry files: rows per event type, requests over the cost
    bound, repeated (user, task, time, type) keys, spend per user (a floor: no
    validation results, no quarantine, no signals)."""
    import duckdb

    files = str(Path(root, "raw/events/**/*.jsonl"))
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        'CREATE TEMP VIEW ev AS SELECT "user" AS u, received_at AS ts, event.type AS kind, '
        "event.properties.taskId AS task_id, TRY_CAST(event.properties.cost AS DOUBLE) AS cost "
        f"FROM read_json('{files}', format='newline_delimited', ignore_errors=true, "
        "columns={'user': 'VARCHAR', 'received_at': 'VARCHAR', "
        "'event': 'STRUCT(type VARCHAR, properties STRUCT(taskId VARCHAR, cost VARCHAR))'})"
    )
    rows = con.execute("SELECT count(*) FROM ev").fetchone()[0]
    con.execute("SELECT kind, count(*) FROM ev GROUP BY kind").fetchall()
    con.execute("SELECT count(*) FILTER (WHERE cost < 0 OR cost > 100) FROM ev").fetchall()
    con.execute(
        "SELECT count(*) FROM (SELECT u, task_id, ts, kind, count(*) c FROM ev "
        "GROUP BY ALL HAVING c > 1)"
    ).fetchall()
    con.execute("SELECT u, sum(cost) FROM ev GROUP BY u").fetchall()
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def main() -> None:
    import tempfile

    from bench.child import run

    rows = int(os.environ.get("BENCH_QUALITY_ROWS", "10000000"))
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        g = run("bench.quality", "generate", tmp, rows)
        j = run("bench.quality", "job", tmp)
        d = run("bench.quality", "duckdb_counts", tmp)
    c = j["counts"]
    print(f"telemetry-quality job: {c['events_in']:,} events, {c['tasks_in']:,} tasks "
          f"({g['bytes'] / 2**20:,.0f} MB of raw data, generated in {g['seconds']:.0f} s by its "
          f"own process); batches {j['batches']}; gate {j['gate']}, {j['findings']} findings")  # fmt: skip
    print(f"{'step':<40}{'seconds':>10}{'CPU s':>8}{'peak RSS MB':>13}")
    print(
        f"{'job: collect → evaluate':<40}{j['seconds']:>10.1f}{j['cpu_s']:>8.0f}{j['rss_mb']:>13,.0f}"
    )
    print(f"{'  of which collect (ingest → spool)':<40}{j['collect_s']:>10.1f}")
    print(
        f"{'duckdb counts (same files)':<40}{d['seconds']:>10.1f}{d['cpu_s']:>8.0f}{d['rss_mb']:>13,.0f}"
    )
    print(
        f"ratio job / duckdb: {j['seconds'] / d['seconds']:.1f}x (duckdb read {d['rows']:,} rows)"
    )
    rss = j["rss_mb"]
    print(
        f"peak RSS: {rss:,.0f} MB (the job; target < 2048 MB: {'ok' if rss < 2048 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
