"""Benchmark: cost-budget aggregation on BENCH_BUDGET_ROWS API requests (default 1 M;
BENCH_BUDGET_ROWS=100000000 is the issue's 10x month).

One Parquet file of validated API-request events (29 days, 500 users, 20 teams, six
provider/model pairs, Roo Code versions on both sides of 3.29.5, half the rows with a
provider-reported cost), written by its own process first (BENCH_TMP picks the folder).
Ours: the core -- the budget sums out of core, row group by row group (recompute +
per-team-per-day sums merged + team budgets) -- and the job's whole analysis as the job
runs it (cost events read row group by row group; past shards.SPILL_ROWS spilled to
local disk by user and analysed a shard of whole users at a time, spill included in the
timing: cost recomputation, per-user price fits, drift, subtask roll-up, team budgets
with forecasts, task caps, anomalies per org, team and user). Peer: DuckDB computing the same per-team-per-day
effective-cost sums in SQL on the same file (prices joined from a small table) -- the
sums are checked to agree. Each step runs in its own process (bench.child), so each
peak RSS printed is that step's own.
Run: `.venv/bin/python -c "from bench.budget import main; main()"`.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.budget import analysis, budgets, shards
from tasks.budget.config import parse_config
from tasks.budget.cost import api_protocol, recompute, tokens_in_includes_cache
from tasks.budget.prices import PriceTable
from tasks.budget.reader import (
    COST_CATEGORIES,
    DICT_COLUMNS,
    EVENT_COLUMNS,
    DayStatus,
    LoadedData,
    conform,
    empty_requests,
    empty_tasks,
    read_parquet,
)
from tasks.budget.spend import daily_by
from tasks.common.periods import resolve_period
from tasks.telemetry.schema import EVENTS_SCHEMA

DEFAULT_ROWS = 1_000_000  # BENCH_BUDGET_ROWS=100000000: the 10x size
START, DAYS = date(2026, 11, 1), 29
PAIRS = [
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-haiku-4-5-20251001"),
    ("openrouter", "anthropic/claude-sonnet-4.5"),
    ("openai-native", "gpt-4.1"),
    ("openai-native", "gpt-5"),
    ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
]
VERSIONS = ["3.25.20", "3.28.16", "3.29.5", "3.45.0", "3.52.0"]


def _dict(rng: np.random.Generator, values: list[str], n: int) -> pa.DictionaryArray:
    idx = rng.integers(0, len(values), n).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(values))


GEN_CHUNK = 2_000_000  # rows generated and written at a time (the generator's memory)


def write_requests(path: str, n: int, seed: int = 1) -> None:
    """n requests over DAYS days, in time order, written a chunk of rows (one slice of
    the period) at a time: 100 M rows never sit in memory."""
    rng = np.random.default_rng(seed)
    users = pa.array([f"user{i:03d}" for i in range(500)])
    teams = pa.array([f"team{i:02d}" for i in range(20)])
    t0 = int(datetime(START.year, START.month, START.day, tzinfo=UTC).timestamp() * 1000)
    span = DAYS * 86_400_000
    per_user_tasks = max(1, max(1, n // 40) // 500)
    chunks = max(1, -(-n // GEN_CHUNK))
    out = None
    try:
        for c in range(chunks):
            m = n // chunks + (1 if c < n % chunks else 0)
            lo, hi = t0 + span * c // chunks, t0 + span * (c + 1) // chunks
            table = _chunk(rng, m, lo, hi, users, teams, per_user_tasks)
            out = out or pq.ParquetWriter(path, table.schema)
            out.write_table(table, row_group_size=1_000_000)
    finally:
        if out is not None:
            out.close()


def _chunk(rng, m: int, lo: int, hi: int, users, teams, per_user_tasks: int) -> pa.Table:
    user_ix = rng.integers(0, 500, m).astype(np.int32)
    pair_ix = rng.integers(0, len(PAIRS), m).astype(np.int32)
    cost_mask = rng.random(m) < 0.5  # half the rows carry no reported cost
    task_k = pa.array(rng.integers(0, per_user_tasks, m)).cast(pa.string())
    table = pa.table(
        {
            "user": pa.DictionaryArray.from_arrays(pa.array(user_ix), users),
            "team": pa.DictionaryArray.from_arrays(pa.array(user_ix % 20), teams),
            # a task belongs to one user (as in Roo Code's storage): <user>-t<k>
            "task_id": pc.binary_join_element_wise(pc.take(users, pa.array(user_ix)), task_k, "-t"),
            "ts": pa.array(np.sort(rng.integers(lo, hi, m)), pa.timestamp("ms", tz="UTC")),
            "source": _dict(rng, ["ui_messages"], m),
            "category": _dict(rng, ["api_request"], m),
            "api_protocol": pa.nulls(m, pa.string()),
            "tokens_in": rng.integers(500, 60_000, m),
            "tokens_out": rng.integers(50, 3_000, m),
            "cache_writes": rng.integers(0, 5_000, m),
            "cache_reads": rng.integers(0, 40_000, m),
            "cost": pa.array(rng.uniform(0.001, 0.2, m), mask=cost_mask),
            "mode": _dict(rng, ["code", "architect", "ask", "debug"], m),
            "provider": pa.DictionaryArray.from_arrays(
                pa.array(pair_ix), pa.array([p for p, _ in PAIRS])
            ),
            "model": pa.DictionaryArray.from_arrays(
                pa.array(pair_ix), pa.array([m for _, m in PAIRS])
            ),
            "app_version": _dict(rng, VERSIONS, m),
        }
    )
    # Validated tables hold plain strings (the schema contract); Parquet dictionary-encodes them.
    return conform(table, EVENTS_SCHEMA, EVENT_COLUMNS)


def config():
    rules = [{"name": "team-month", "type": "spend", "scope": "team", "period": "month",
              "amount": 2000.0, "threshold": {"warn": "80%", "fail": "100%"}}]  # fmt: skip
    return parse_config({}, {"timezone": "UTC", "rules": rules}, "bench")


def _load(path: str, columns: list[str]) -> LoadedData:
    """As load_days: in memory up to shards.SPILL_ROWS cost events, else spilled to disk
    by user (row group by row group) and analysed shard by shard."""
    days = [START + timedelta(days=i) for i in range(DAYS)]
    statuses = [DayStatus(d, "pass", True) for d in days]
    if pq.read_metadata(path).num_rows <= shards.SPILL_ROWS:
        req = read_parquet(path, columns, EVENTS_SCHEMA, cost_only=True)
        return LoadedData(conform(req, EVENTS_SCHEMA, EVENT_COLUMNS), empty_tasks(), statuses, [])
    spill = shards.Spill(empty_tasks())
    f = pq.ParquetFile(path, read_dictionary=[c for c in DICT_COLUMNS if c in columns])
    for i in range(f.num_row_groups):
        t = f.read_row_group(i, columns=columns)
        spill.add(t.filter(pc.is_in(t["category"], pa.array(COST_CATEGORIES))))
    data = LoadedData(empty_requests(), empty_tasks(), statuses, [])
    data.shards, data.spill = spill.close(), spill
    return data


def ours_full(path: str) -> tuple[float, dict]:
    t = time.perf_counter()
    days = [START + timedelta(days=i) for i in range(DAYS)]
    data = _load(path, EVENT_COLUMNS)
    last = days[-1]
    period = resolve_period(str(last), str(last + timedelta(days=1)))
    a = analysis.analyze(data, period, config())
    return time.perf_counter() - t, {"findings": len(a.findings), "tasks": len(a.tasks)}


# What the per-team budget evaluation reads (DuckDB reads only its columns too).
CORE_COLUMNS = ["team", "ts", "source", "category", "api_protocol", "tokens_in", "tokens_out",
                "cache_writes", "cache_reads", "cost", "provider", "model", "app_version"]  # fmt: skip


def ours_core(path: str) -> tuple[float, dict]:
    """The budget sums out of core: row group by row group, recompute (cost.recompute) and
    per-team-per-day sums merged, then team budgets. Memory: one row group. (Named models
    only, as here: a model to infer needs the job's per-user price fits, shards.py.)"""
    t = time.perf_counter()
    prices = PriceTable()
    f = pq.ParquetFile(path, read_dictionary=[c for c in DICT_COLUMNS if c in CORE_COLUMNS])
    daily: dict = {}
    for i in range(f.num_row_groups):
        rg = f.read_row_group(i, columns=CORE_COLUMNS)
        rg = rg.filter(pc.is_in(rg["category"], pa.array(COST_CATEGORIES)))
        req = recompute(conform(rg, EVENTS_SCHEMA, EVENT_COLUMNS), prices)
        req = req.append_column("day", req["ts"].cast(pa.date32()))
        for team, series in daily_by(req, "team").items():
            for d, v in series.items():
                daily.setdefault(team, {})[d] = daily.get(team, {}).get(d, 0.0) + v
    days = [START + timedelta(days=i) for i in range(DAYS)]
    budgets.evaluate_spend(config().budgets.rules[0], daily, days[-1:], set(days))
    return time.perf_counter() - t, daily


def duckdb_sums(path: str) -> tuple[float, dict]:
    import duckdb

    prices = PriceTable()
    rows = []
    for p, m in PAIRS:
        pr = prices.lookup(p, m)
        rows.append((p, m, pr.input, pr.output, pr.cache_write, pr.cache_read, api_protocol(p, m)))
    ptab = pa.table(
        dict(
            zip(
                ["provider", "model", "pin", "pout", "pcw", "pcr", "proto"],
                zip(*rows, strict=True),
                strict=True,
            )
        )
    )
    vtab = pa.table({"app_version": VERSIONS,
                     "incl": [tokens_in_includes_cache("anthropic", v) for v in VERSIONS]})  # fmt: skip
    con = duckdb.connect()
    con.register("prices", ptab)
    con.register("versions", vtab)
    t = time.perf_counter()
    out = con.execute(
        f"""
        SELECT r.team, CAST(timezone('UTC', r.ts) AS DATE) AS day,
          SUM(COALESCE(r.cost, (
            (CASE WHEN p.proto = 'anthropic' AND NOT v.incl THEN r.tokens_in
                  ELSE GREATEST(r.tokens_in - r.cache_writes - r.cache_reads, 0) END) * p.pin
            + r.tokens_out * p.pout + r.cache_writes * p.pcw + r.cache_reads * p.pcr) / 1e6)) AS spend
        FROM read_parquet('{path}') r
        JOIN prices p ON r.provider = p.provider AND r.model = p.model
        JOIN versions v ON r.app_version = v.app_version
        GROUP BY ALL
        """
    ).fetchall()
    elapsed = time.perf_counter() - t
    sums: dict = {}
    for team, day, spend in out:
        sums.setdefault(team, {})[day] = spend
    return elapsed, sums


def _max_diff(a: dict, b: dict) -> float:
    keys = {(t, d) for t, s in a.items() for d in s} | {(t, d) for t, s in b.items() for d in s}
    return max(abs(a.get(t, {}).get(d, 0.0) - b.get(t, {}).get(d, 0.0)) for t, d in keys)


def gen(path: str, n: int) -> dict:
    t = time.perf_counter()
    write_requests(path, n)
    return {"seconds": time.perf_counter() - t, "mb": os.path.getsize(path) / 1e6}


def _warm() -> None:
    """One-off imports stay out of the timings: genai-prices' table, and the
    pyarrow.dataset/pandas that pq.read_table pulls in."""
    PriceTable().lookup("anthropic", PAIRS[0][1])
    import pandas  # noqa: F401
    import pyarrow.dataset  # noqa: F401


def step(name: str, path: str) -> dict:
    """One timed step, run in its own process by bench.child (so its RSS is its own)."""
    if name == "duckdb":
        import duckdb  # noqa: F401  (its import is outside the timing)

        seconds, sums = duckdb_sums(path)
        return {"seconds": seconds, "sums": _jsonable(sums)}
    _warm()
    if name == "core":
        seconds, sums = ours_core(path)
        return {"seconds": seconds, "sums": _jsonable(sums)}
    seconds, info = ours_full(path)
    return {"seconds": seconds, **info}


def _jsonable(sums: dict) -> dict:
    return {t: {str(d): v for d, v in s.items()} for t, s in sums.items()}


def main() -> None:
    """Each line is printed as its step ends (a 100 M run takes a while)."""
    from bench.child import run

    n = int(os.environ.get("BENCH_BUDGET_ROWS", DEFAULT_ROWS))
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = os.path.join(tmp, "requests.parquet")
        g = run("bench.budget", "gen", path, n)
        print(f"wrote {n:,} API requests to Parquet ({g['mb']:.0f} MB) in {g['seconds']:.1f} s "
              f"(peak RSS {g['rss_mb']:,.0f} MB)", flush=True)  # fmt: skip
        print(f"{'step (each in its own process)':52} {'seconds':>8} {'vs DuckDB':>9} "
              f"{'CPU s':>8} {'peak RSS MB':>12} {'load':>5}", flush=True)  # fmt: skip
        steps = {}
        for name, label in (
            ("duckdb", "DuckDB: per-team-per-day effective cost sums (SQL)"),
            ("core", "ours core: read, recompute, team/day sums, budgets"),
            ("full", "ours full job analysis (+drift, roll-up, anomalies)"),
        ):
            r = steps[name] = run("bench.budget", "step", name, path)
            ratio = r["seconds"] / steps["duckdb"]["seconds"]
            print(f"{label:52} {r['seconds']:8.2f} {ratio:8.2f}x {r['cpu_s']:8.1f} "
                  f"{r['rss_mb']:12,.0f} {os.getloadavg()[0]:5.1f}", flush=True)  # fmt: skip
    duck, core, full = steps["duckdb"], steps["core"], steps["full"]
    print(f"CPU s: the whole step process's (imports included; DuckDB's threads too); load: "
          f"1-minute load average as the step ended, {os.cpu_count()} cores")  # fmt: skip
    diff = _max_diff(core["sums"], duck["sums"])
    print(f"team/day sums agree with DuckDB: max abs diff ${diff:.2e} "
          f"({'ok' if diff < 1e-6 else 'MISMATCH'})")  # fmt: skip
    print(f"full analysis: {full['findings']} findings, {full['tasks']:,} root tasks")
    ratio = core["seconds"] / duck["seconds"]
    print(f"core time {ratio:.2f}x DuckDB's (target <= 3x): {'ok' if ratio <= 3 else 'MISSED'}")
    peak = max(core["rss_mb"], full["rss_mb"])
    print(f"peak RSS: {peak:,.0f} MB (the job, full analysis; target < 2048 MB: "
          f"{'ok' if peak < 2048 else 'MISSED'})")  # fmt: skip
