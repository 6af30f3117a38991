"""Benchmark: the audit-trail job end to end for BENCH_AUDIT_ROWS mutating actions —
read the day's events from S3, build the ledger, check it, render the report and publish
the signed bundle (ledger.jsonl.gz and ledger.csv streamed from their temporary files) to
the embedded S3 — then verify the bundle and search its ledger as `compliance audit
search` does.

S3 is moto's server in a process of its own on loopback (tasks/common/embedded.py). The
events are generated into a Parquet file and uploaded to the data bucket by one process;
the job (tasks.common.contract.run, the flow template's steps in one process), the search
and DuckDB's step each run in their own, so the peak RSS printed is the job's own. Peer:
DuckDB doing the nearest thing in SQL on the local Parquet file (filter the mutating rows,
sort, write gzip JSON lines; the same three searches) — no dedupe, redaction, entry ids,
checks, signing or upload, so it is a floor, not an equal.
Run: `.venv/bin/python -c "from bench.audit import main; main()"` (default 100,000
actions; BENCH_AUDIT_ROWS=10000000 is the 10x fleet; BENCH_TMP: where the files go).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.telemetry.schema import EVENTS_SCHEMA

DEFAULT_ROWS = 100_000  # BENCH_AUDIT_ROWS=10000000: the 10x size
GEN_CHUNK = 1_000_000  # actions generated (and held) at a time by the generating process
READ_ONLY_SHARE = 0.5  # extra read-only rows per action, which the ledger must skip
DAY, NEXT_DAY = "2026-11-20", "2026-11-21"  # the period [DAY, NEXT_DAY)


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


def gen(path: str, rows: int, endpoint: str, bucket: str) -> dict:
    """One Parquet file (the day's object), written a million actions at a time (each
    million has its own tasks, so no two chunks' rows collapse as duplicates), then
    uploaded to validated/events/date=<day>/ of the data bucket."""
    from tasks.common.s3 import s3_client
    from tasks.common.settings import StorageSettings

    t0, total = time.perf_counter(), 0
    with pq.ParquetWriter(path, EVENTS_SCHEMA) as writer:
        for k, start in enumerate(range(0, rows, GEN_CHUNK)):
            n = min(GEN_CHUNK, rows - start)
            table = synthetic_events(n, seed=k + 1, task_prefix=f"task-{k}-")
            writer.write_table(table, row_group_size=256_000)
            total += table.num_rows
    seconds = time.perf_counter() - t0
    client = s3_client(StorageSettings(endpoint_url=endpoint))
    client.upload_file(path, bucket, f"validated/events/date={DAY}/part-0000.parquet")
    return {"seconds": seconds, "rows": total, "mb": os.path.getsize(path) / 1e6}


def _app(settings_json: str):
    from tasks.common.settings import AppConfig, StorageSettings

    settings = StorageSettings.model_validate_json(settings_json)
    sections = {"redaction": {"key": "bench-redaction-key-" + "0" * 16}}
    return AppConfig(storage=settings, sections=sections, source="bench")


def job(settings_json: str, rows: int) -> dict:
    """The whole job for the day, as the flow runs it (collect, evaluate, publish), with
    the time of each step."""
    import prefect  # noqa: F401  (the flow has it loaded; its import is not the job's time)

    from flows.registry import get_job
    from tasks.common.contract import Steps, run

    times: dict[str, float] = {}
    results: dict[str, object] = {}

    class Timed(Steps):
        def collect(self, *args):  # type: ignore[override]
            out, times["collect"] = timed(lambda: super(Timed, self).collect(*args))
            return out

        def evaluate(self, *args):  # type: ignore[override]
            out, times["evaluate"] = timed(lambda: super(Timed, self).evaluate(*args))
            results["summary"] = out.summary
            return out

    out, total = timed(lambda: run(get_job("audit-trail"), _app(settings_json), since=DAY,
                                   until=NEXT_DAY, steps=Timed()))  # fmt: skip
    summary = results["summary"]
    entries = summary["completeness"]["ledger_entries"]
    # status fail is the data's: writes outside the workspace are generated on purpose
    assert out["bundle"] and entries == rows, (out, entries, rows)
    times["publish"] = total - times["collect"] - times["evaluate"]
    return {"total": total, **times, "bundle": out["bundle"], "status": out["status"]}


SEARCHES = {"user": "user042", "path": "src/mod1*/file3.py", "command": r"^git\b"}


def search_step(settings_json: str) -> dict:
    """Verify the published bundle (streamed digests), download its ledger (digest
    checked) and run the three searches over it, as `compliance audit search` does."""
    from datetime import date

    from tasks.audit.bundles import download_ledger, job_verifier, list_ledger_bundles
    from tasks.audit.ledger import iter_ledger
    from tasks.audit.search import Query, search
    from tasks.common.s3 import s3_client

    app = _app(settings_json)
    client = s3_client(app.storage)
    bucket = app.storage.reports_bucket
    (bundle,), _ = list_ledger_bundles(client, bucket, [date.fromisoformat(DAY)])
    problems, verify_s = timed(lambda: job_verifier(app.storage)(client, bundle))
    assert problems == [], problems
    ledger, download_s = timed(lambda: download_ledger(client, bundle))
    out = {"verify": verify_s, "download": download_s, "gz_mb": len(ledger) / 1e6}
    queries = {"user": Query(user=SEARCHES["user"]), "path": Query(path_glob=SEARCHES["path"]),
               "command": Query(command_regex=SEARCHES["command"])}  # fmt: skip
    for name, q in queries.items():
        (out[f"hits_{name}"], out[name]) = timed(
            lambda q=q: sum(
                1 for _ in search(iter_ledger(ledger.chunks(), keep=q.line_filter()), q)
            )
        )
    head = client.head_object(Bucket=bucket, Key=bundle.prefix + "ledger.csv")
    out["csv_mb"] = head["ContentLength"] / 1e6
    return out


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
        "command": "SELECT count(*) FROM events WHERE mutates AND regexp_matches(command, '^git\\b')",
    }
    times = {"build": build}
    for name, sql in q.items():
        times[name] = timed(lambda sql=sql: con.execute(sql).fetchone())[1]
    return times


def peer(path: str) -> dict:
    import duckdb  # noqa: F401  (its import is outside the timing)

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        return duckdb_peer(path, tmp)


def _setup(server, tmp: str) -> str:
    """Buckets (the reports one with Object Lock) and a signing key; the settings as JSON."""
    from pathlib import Path

    from tasks.common.s3 import s3_client
    from tasks.common.settings import StorageSettings
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    suffix = uuid.uuid4().hex[:8]
    priv, pub, _ = generate_key_files(Path(tmp) / "keys")
    settings = StorageSettings(endpoint_url=server.endpoint_url, data_bucket=f"bench-data-{suffix}",
                               reports_bucket=f"bench-reports-{suffix}", signing_key=str(priv))  # fmt: skip
    client = s3_client(settings)
    client.create_bucket(Bucket=settings.data_bucket)
    ensure_buckets(client, settings, public_key_pem=pub.read_bytes())
    return settings.model_dump_json()


def main() -> None:
    from bench.child import run
    from tasks.common.embedded import EmbeddedS3

    rows = int(os.environ.get("BENCH_AUDIT_ROWS", DEFAULT_ROWS))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # moto accepts any
        os.environ.setdefault(k, "bench")
    server = EmbeddedS3(separate_process=True).start()
    try:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            settings = _setup(server, tmp)
            path = os.path.join(tmp, "events.parquet")
            data_bucket = json.loads(settings)["data_bucket"]
            g = run("bench.audit", "gen", path, rows, server.endpoint_url, data_bucket)
            duck = run("bench.audit", "peer", path)
            mine = run("bench.audit", "job", settings, rows)
            found = run("bench.audit", "search_step", settings)
    finally:
        server.stop()
    print(
        f"audit-trail: {rows:,} mutating actions in {g['rows']:,} event rows "
        f"({g['mb']:.0f} MB Parquet in the embedded S3, generated and uploaded by its own "
        f"process; generated in {g['seconds']:.1f} s)"
    )
    print(f"{'step':<40}{'ours s':>10}{'actions/s':>14}{'duckdb s':>10}{'ours/duckdb':>13}")
    lines = [
        ("job end to end (status " + mine["status"] + ")", mine["total"], duck["build"]),
        ("  collect: read + build ledger", mine["collect"], None),
        ("  evaluate: checks, completeness", mine["evaluate"], None),
        ("  publish: report + signed bundle", mine["publish"], None),
        ("verify bundle (streamed digests)", found["verify"], None),
        ("download ledger (digest checked)", found["download"], None),
        *[(f"search --{k} ({found['hits_' + k]:,} hits)", found[k], duck[k]) for k in SEARCHES],
    ]
    for name, secs, peer_s in lines:
        ratio = f"{secs / peer_s:>12.1f}x" if peer_s else f"{'':>13}"
        peer_txt = f"{peer_s:>10.2f}" if peer_s else f"{'':>10}"
        print(f"{name:<40}{secs:>10.2f}{rows / secs:>14,.0f}{peer_txt}{ratio}")
    print(
        f"published ledger.jsonl.gz {found['gz_mb']:.1f} MB, ledger.csv {found['csv_mb']:.1f} MB; "
        f"search process peak RSS {found['rss_mb']:,.0f} MB; DuckDB's {duck['rss_mb']:,.0f} MB"
    )
    print(
        f"CPU seconds of each step's whole process (imports included; wall times above are "
        f"those of a shared machine): job {mine['cpu_s']:.0f} s, DuckDB {duck['cpu_s']:.0f} s"
    )
    ok = "ok" if mine["rss_mb"] < 2048 else "MISSED"
    print(f"peak RSS: {mine['rss_mb']:,.0f} MB (the job's process; target < 2048 MB: {ok})")


if __name__ == "__main__":
    main()
