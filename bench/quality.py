"""Benchmark: the telemetry-quality job's validation + split + health vs bare Great
Expectations validating the same events suite on the same frame, in one run.

    BENCH_QUALITY_ROWS=1000000 python -m bench.quality     (default 1M events)
    BENCH_QUALITY_BATCHED=1 BENCH_QUALITY_ROWS=200000 python -m bench.quality
        (the events suite batch by batch from Parquet, each step in its own process)

Target: job / bare <= 2x. Peak RSS is the process's high-water mark after each phase.
"""

from __future__ import annotations

import os
import resource
import time
from datetime import UTC, datetime

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import numpy as np
import pyarrow as pa

from tasks.telemetry.schema import EVENTS_SCHEMA, SCHEMA_VERSION, TASKS_SCHEMA

DAY_MS = 86_400_000
START = datetime(2026, 11, 20, tzinfo=UTC)
KINDS = [("api_req_started", "api_request", None), ("tool", "tool", None),
         ("command", "command", None), ("command_output", "command_output", None),
         ("checkpoint_saved", "checkpoint", None), ("api_req_failed", "error", "api_failed"),
         ("reasoning", "other", None), ("Checkpoint Restored", "rollback", None)]  # fmt: skip


def _uuid4s(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64).astype(np.uint64)
    out = []
    for hi, lo in raw:
        h = f"{int(hi):016x}{int(lo):016x}"
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}")
    return out


def synthetic(rows: int, seed: int = 1) -> tuple[pa.Table, pa.Table]:
    """EVENTS/TASKS tables with realistic vocabulary, plus 0.1% bad rows to quarantine."""
    rng = np.random.default_rng(seed)
    n_tasks = max(rows // 100, 10)
    users = np.array([f"user{i:03d}" for i in range(200)])
    task_ids = np.array(_uuid4s(rng, n_tasks))
    t_idx = rng.integers(0, n_tasks, rows)
    k_idx = rng.integers(0, len(KINDS), rows)
    start_ms = int(START.timestamp() * 1000)
    ts = np.sort(rng.integers(start_ms, start_ms + DAY_MS - 1, rows))
    cost = np.where(k_idx == 0, rng.random(rows) * 0.2, np.nan)
    bad = rng.random(rows) < 0.001
    cost = np.where(bad, -1.0, cost)  # negative cost: quarantined by events.non_negative.cost
    is_tool = k_idx == 1
    cols = {
        "schema_version": pa.array(np.full(rows, SCHEMA_VERSION, np.int16)),
        "user": pa.array(users[t_idx % 200]),
        "team": pa.array(np.array(["web", "data", "platform", "mobile"])[t_idx % 4]),
        "task_id": pa.array(task_ids[t_idx]),
        "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
        "seq": pa.array(np.arange(rows, dtype=np.int32)),
        "source": pa.array(np.where(rng.random(rows) < 0.5, "ui_messages", "telemetry")),
        "type": pa.array(
            np.array(["say", "ask", "ask", "say", "say", "ask", "say", "event"])[k_idx]
        ),
        "kind": pa.array(np.array([k[0] for k in KINDS])[k_idx]),
        "category": pa.array(np.array([k[1] for k in KINDS])[k_idx]),
        "tool": pa.array(np.where(is_tool, "appliedDiff", None)),
        "mutates": pa.array(is_tool | (k_idx == 2)),
        "path": pa.array(np.where(is_tool, "src/app/main.ts", None)),
        "error_class": pa.array(np.array([k[2] for k in KINDS], dtype=object)[k_idx]),
        "tokens_in": pa.array(np.where(k_idx == 0, rng.integers(100, 20000, rows), 0)),
        "cost": pa.array(cost),
        "bytes": pa.array(rng.integers(10, 5000, rows)),
        "provider": pa.array(np.full(rows, "anthropic")),
        "model": pa.array(np.full(rows, "claude-sonnet-4-5-20250929")),
        "mode": pa.array(np.full(rows, "code")),
        "workspace": pa.array(np.full(rows, "/home/dev/proj")),
    }
    events = pa.table(
        [
            cols[f.name].cast(f.type) if f.name in cols else pa.nulls(rows, f.type)
            for f in EVENTS_SCHEMA
        ],
        schema=EVENTS_SCHEMA,
    )
    t_start = rng.integers(start_ms, start_ms + DAY_MS // 2, n_tasks)
    tcols = {
        "schema_version": pa.array(np.full(n_tasks, SCHEMA_VERSION, np.int16)),
        "user": pa.array(users[np.arange(n_tasks) % 200]),
        "task_id": pa.array(task_ids),
        "status": pa.array(np.where(rng.random(n_tasks) < 0.85, "completed", "failed")),
        "started_at": pa.array(t_start, pa.timestamp("ms", tz="UTC")),
        "ended_at": pa.array(
            t_start + rng.integers(1000, 3_600_000, n_tasks), pa.timestamp("ms", tz="UTC")
        ),
        "mode": pa.array(np.full(n_tasks, "code")),
        "provider": pa.array(np.full(n_tasks, "anthropic")),
        "model": pa.array(np.full(n_tasks, "claude-sonnet-4-5-20250929")),
        "total_cost": pa.array(rng.random(n_tasks)),
        "source": pa.array(np.full(n_tasks, "s3://data/raw/roo/x")),
        **{
            c: pa.array(rng.integers(0, 5, n_tasks))
            for c in ("tool_uses", "commands", "errors", "checkpoint_restores")
        },
    }
    tasks = pa.table(
        [
            tcols[f.name].cast(f.type) if f.name in tcols else pa.nulls(n_tasks, f.type)
            for f in TASKS_SCHEMA
        ],
        schema=TASKS_SCHEMA,
    )
    return events, tasks


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from tasks.common.periods import resolve_period
    from tasks.quality.config import QualityConfig
    from tasks.quality.frames import to_frame
    from tasks.quality.gx_runner import GxValidator
    from tasks.quality.health import alert_signals, fleet_metrics
    from tasks.quality.job import expectation_parameters, period_days
    from tasks.quality.split import split_table
    from tasks.quality.suites import load_suites

    rows = int(os.environ.get("BENCH_QUALITY_ROWS", "1000000"))
    events, tasks = synthetic(rows)
    suites = load_suites()
    period = resolve_period("2026-11-20", "2026-11-21")
    cfg = QualityConfig()
    params = expectation_parameters(period, cfg, {}, now=datetime(2026, 11, 22, tzinfo=UTC))
    validator = GxValidator()
    frame = to_frame(events)
    validator.validate_raw("warmup", frame.head(1000), suites["events"].suite, params)
    base_rss = _rss_mb()

    t0 = time.perf_counter()
    bare = validator.validate_raw("events", frame, suites["events"].suite, params)
    bare_s = time.perf_counter() - t0
    bare_rss = _rss_mb()
    del bare, frame

    t0 = time.perf_counter()
    frame = to_frame(events)
    outcome = validator.validate(suites["events"], frame, params)
    split = split_table(events, frame, outcome)
    valid = frame[split.keep]
    signals = alert_signals(valid, period_days(period), cfg.signals)
    metrics = fleet_metrics(to_frame(tasks))
    job_s = time.perf_counter() - t0
    job_rss = _rss_mb()

    ratio = job_s / bare_s if bare_s else float("inf")
    print(f"telemetry-quality benchmark: {rows:,} events, {tasks.num_rows:,} tasks, "
          f"{len(suites['events'].specs)} expectations (events suite)")  # fmt: skip
    print(f"{'run':<44}{'seconds':>10}{'rows/s':>14}{'peak RSS MB':>14}")
    print(
        f"{'bare GX batch.validate (COMPLETE)':<44}{bare_s:>10.2f}{rows / bare_s:>14,.0f}{bare_rss:>14.0f}"
    )
    print(
        f"{'job: frame+validate+split+health':<44}{job_s:>10.2f}{rows / job_s:>14,.0f}{job_rss:>14.0f}"
    )
    print(f"ratio job / bare GX: {ratio:.2f}x (target <= 2x) {'OK' if ratio <= 2 else 'OVER'}")
    print(f"quarantined {split.counts['quarantined']:,} rows, {len(signals)} signals, "
          f"{metrics['fleet']['tasks']:,} tasks in metrics; RSS before runs {base_rss:.0f} MB")  # fmt: skip


BATCH_ROWS = 250_000  # rows per GX batch in the batched run


def gen_parquet(path: str, rows: int) -> dict:
    """The events, written by their own process, a million at a time (each million its
    own seed, so tasks and ids differ)."""
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    with pq.ParquetWriter(path, EVENTS_SCHEMA) as writer:
        for k, start in enumerate(range(0, rows, 1_000_000)):
            events, _ = synthetic(min(1_000_000, rows - start), seed=k + 1)
            writer.write_table(events, row_group_size=BATCH_ROWS)
    return {"seconds": time.perf_counter() - t0}


def _params():
    from tasks.common.periods import resolve_period
    from tasks.quality.config import QualityConfig
    from tasks.quality.job import expectation_parameters

    period = resolve_period("2026-11-20", "2026-11-21")
    return expectation_parameters(
        period, QualityConfig(), {}, now=datetime(2026, 11, 22, tzinfo=UTC)
    )


def validate_step(path: str, batched: bool) -> dict:
    """The events suite on the Parquet file: batch by batch (row groups, merged exactly)
    or the whole table at once (as the job does today)."""
    import pandas as pd
    import pyarrow.parquet as pq

    from tasks.quality.frames import to_frame
    from tasks.quality.gx_runner import GxValidator
    from tasks.quality.suites import load_suites

    suite, validator, params = load_suites()["events"], GxValidator(), _params()

    def frames():
        f, start = pq.ParquetFile(path), 0
        for i in range(f.num_row_groups):
            frame = to_frame(f.read_row_group(i))
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame

    t0 = time.perf_counter()
    if batched:
        outcome = validator.validate_batches(suite, frames, params)
    else:
        outcome = validator.validate(suite, to_frame(pq.read_table(path)), params)
    failed = {o.spec.name: o.unexpected_count for o in outcome.failed}
    return {"seconds": time.perf_counter() - t0, "rows": outcome.rows, "failed": failed}


def duckdb_counts(path: str) -> dict:
    """DuckDB doing the nearest counts on the same file: nulls, negatives, out-of-set
    values and repeated keys (a floor: no GX result objects)."""
    import duckdb

    t0 = time.perf_counter()
    duckdb.sql(
        f'SELECT count(*), count(*) FILTER (WHERE "user" IS NULL), '
        "count(*) FILTER (WHERE cost < 0), count(*) FILTER (WHERE tokens_in < 0), "
        "count(*) FILTER (WHERE source NOT IN ('ui_messages', 'telemetry')), "
        "count(*) FILTER (WHERE NOT regexp_matches(task_id, '^[0-9a-f]{8}-')) "
        f"FROM read_parquet('{path}')"
    ).fetchall()
    duckdb.sql(
        'SELECT count(*) FROM (SELECT "user", source, task_id, ts, kind, seq, count(*) c '
        f"FROM read_parquet('{path}') GROUP BY ALL HAVING c > 1)"
    ).fetchall()
    return {"seconds": time.perf_counter() - t0}


def batched_main() -> None:
    """BENCH_QUALITY_ROWS events generated to Parquet by one process; the events suite
    validated batch by batch in another (and, up to 2 M rows, whole in a third), DuckDB's
    counts in a fourth: each peak RSS is that step's own."""
    import tempfile

    from bench.child import run

    rows = int(os.environ.get("BENCH_QUALITY_ROWS", "1000000"))
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = os.path.join(tmp, "events.parquet")
        g = run("bench.quality", "gen_parquet", path, rows)
        steps = {"batched": run("bench.quality", "validate_step", path, True)}
        if rows <= 2_000_000:
            steps["whole"] = run("bench.quality", "validate_step", path, False)
            assert steps["whole"]["failed"] == steps["batched"]["failed"]
        duck = run("bench.quality", "duckdb_counts", path)
    print(f"telemetry-quality validation: {rows:,} events (generated in {g['seconds']:.0f} s "
          f"by its own process), events suite, batches of {BATCH_ROWS:,} rows")  # fmt: skip
    print(f"{'step':<34}{'seconds':>10}{'CPU s':>8}{'peak RSS MB':>13}")
    for name, r in [*steps.items(), ("duckdb counts", duck)]:
        print(f"{name:<34}{r['seconds']:>10.1f}{r['cpu_s']:>8.0f}{r['rss_mb']:>13,.0f}")
    rss = steps["batched"]["rss_mb"]
    print(f"peak RSS: {rss:,.0f} MB (batched validation; target < 2048 MB: "
          f"{'ok' if rss < 2048 else 'MISSED'})")  # fmt: skip


if __name__ == "__main__":
    if os.environ.get("BENCH_QUALITY_BATCHED"):
        batched_main()
    else:
        main()
