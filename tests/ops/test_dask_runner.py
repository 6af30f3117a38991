"""log-retention maps its per-user planning, telemetry-quality its ingest chunks, over the
task runner: a two-worker Dask cluster on loopback must give the same run as the default
thread pool on identical inputs, and the chunks must really run on the Dask workers."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tasks.common.s3 import S3Uri, s3_client
from tasks.common.storage import get_bytes, iter_objects
from tests.ops.envsetup import STORAGE_ENV, JobEnv, make_env

# Fields that differ between two runs on identical data (ids, clocks, bucket names).
VOLATILE = ("run_id", "bucket", "version_id", "last_modified", "deleted_at")
SECTIONS = {"retention": {"raw_days": 0}}  # every raw task log is due: redact, then delete


def _outcome(env: JobEnv, result: dict[str, Any]) -> dict[str, Any]:
    """What the run did, minus what legitimately differs between two runs."""
    client = s3_client(env.settings)
    uri = S3Uri.parse(result["bundle"])
    prefix = uri.key.rsplit("/", 1)[0]
    rows = [json.loads(x) for x in get_bytes(client, uri.bucket, f"{prefix}/manifest.jsonl").splitlines()]  # fmt: skip
    plan = [json.loads(x) for x in get_bytes(client, uri.bucket, f"{prefix}/plan.jsonl").splitlines()]  # fmt: skip
    data = env.settings.data_bucket
    return {
        "status": result["status"],
        "counts": result["counts"],
        "manifest": sorted(
            (tuple((k, v) for k, v in r.items() if k not in VOLATILE) for r in rows), key=str
        ),
        "plan": sorted(plan, key=lambda r: r["key"]),
        "redacted": sorted(o["Key"] for o in iter_objects(client, data, "redacted/roo/")),
        "raw_logs_left": sorted(
            o["Key"] for o in iter_objects(client, data, "raw/roo/") if "/tasks/" in o["Key"]
        ),
    }


def _twin_envs(s3_server, tmp_path, monkeypatch, *, users: int, seed: int, sections) -> tuple:
    """Two identical environments (threads, dask) on the session's moto server."""
    for var in STORAGE_ENV:
        monkeypatch.delenv(var, raising=False)
    # Dask workers are other processes: they reach moto over HTTP like any S3 client.
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    start = (datetime.now(UTC) - timedelta(days=3)).date()
    envs = [
        make_env(
            s3_server.endpoint_url,
            tmp_path / name,
            users=users,
            days=1,
            seed=seed,
            start=start,
            sections=sections,
            keys_dir=tmp_path / "keys",  # one signing key for both
        )
        for name in ("threads", "dask")
    ]
    return start, envs


@pytest.mark.slow
def test_dask_cluster_and_threads_give_the_same_run(
    prefect_harness, s3_server, tmp_path, monkeypatch
):
    from distributed import Client, LocalCluster, get_task_stream

    from flows.jobs import log_retention
    from tasks.common.runners import make_task_runner
    from tasks.retention.planner import user_prefixes

    start, envs = _twin_envs(s3_server, tmp_path, monkeypatch, users=2, seed=5, sections=SECTIONS)
    prefixes = user_prefixes(s3_client(envs[1].settings), envs[1].settings.data_bucket)
    assert len([p for p in prefixes if p.startswith("raw/roo/")]) >= 2
    t0 = time.monotonic()
    threads = log_retention.with_options(task_runner=make_task_runner("threads"))(
        config_path=str(envs[0].config)
    )

    t1 = time.monotonic()
    # The cluster `dask-local:2` would start, started here so its task stream can be read.
    local = make_task_runner("dask-local:2")
    assert local.cluster_kwargs["n_workers"] == 2 and local.cluster_kwargs["host"] == "127.0.0.1"
    with LocalCluster(**local.cluster_kwargs) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        t2 = time.monotonic()
        with get_task_stream(client) as stream:
            dask = log_retention.with_options(
                task_runner=make_task_runner(cluster.scheduler_address)
            )(config_path=str(envs[1].config))
        workers = {task["worker"] for task in stream.data}
        t3 = time.monotonic()
    print(f"threads run {t1 - t0:.1f} s, cluster start {t2 - t1:.1f} s, dask run {t3 - t2:.1f} s")
    a, b = _outcome(envs[0], threads), _outcome(envs[1], dask)
    assert len(stream.data) == len(prefixes)  # one Dask task per user prefix
    assert workers and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert a["status"] == "pass" and a["counts"]["deleted_versions"] > 0
    assert a["manifest"] and a["redacted"] and a["raw_logs_left"] == []
    assert b == a


QUALITY = {"quality": {"max_quarantine_rate": 0.5}}  # planted bad records: gate may warn


def _quality_outcome(env: JobEnv, result: dict[str, Any]) -> dict[str, Any]:
    """Status, counts, findings and validated row counts per table and day (no run ids)."""
    import io

    import pyarrow.parquet as pq

    client = s3_client(env.settings)
    uri = S3Uri.parse(result["bundle"])
    report = json.loads(get_bytes(client, uri.bucket, f"{uri.key.rsplit('/', 1)[0]}/report.json"))
    data = env.settings.data_bucket
    rows: dict[str, int] = {}
    for o in iter_objects(client, data, "validated/"):
        body = get_bytes(client, data, o["Key"])
        rows[o["Key"].rsplit("/", 1)[0]] = pq.read_metadata(io.BytesIO(body)).num_rows
    quarantined = sum(
        get_bytes(client, data, o["Key"]).count(b"\n")
        for o in iter_objects(client, data, "quarantine/")
    )
    return {
        "status": result["status"],
        "counts": result["counts"],
        "findings": sorted((f["id"], f["status"], f["severity"]) for f in report["findings"]),
        "gate": report["summary"]["gate"],
        "validated_rows": rows,
        "quarantine_lines": quarantined,
    }


@pytest.mark.slow
def test_telemetry_quality_ingest_chunks_run_on_dask_workers(
    prefect_harness, s3_server, tmp_path, monkeypatch
):
    from distributed import Client, LocalCluster, get_task_stream

    from flows.jobs import telemetry_quality
    from tasks.common.periods import resolve_period
    from tasks.common.runners import make_task_runner
    from tasks.quality.chunks import plan_chunks

    monkeypatch.delenv("COMPLIANCE_INGEST_CHUNK_USERS", raising=False)  # auto: the runner decides
    start, envs = _twin_envs(s3_server, tmp_path, monkeypatch, users=3, seed=9, sections=QUALITY)
    args = {"since": start.isoformat(), "until": (start + timedelta(days=1)).isoformat()}
    s = envs[1].settings
    period = resolve_period(args["since"], args["until"])
    chunks = plan_chunks(f"s3://{s.data_bucket}/raw/", s3_client=s3_client(s), period=period)
    assert len(chunks) >= 3  # auto on Dask: one user per chunk for a fleet this small
    threads = telemetry_quality.with_options(task_runner=make_task_runner("threads"))(
        config_path=str(envs[0].config), **args
    )
    local = make_task_runner("dask-local:2")
    with (
        LocalCluster(**local.cluster_kwargs) as cluster,
        Client(cluster) as client,
        get_task_stream(client) as stream,
    ):
        dask = telemetry_quality.with_options(
            task_runner=make_task_runner(cluster.scheduler_address)
        )(config_path=str(envs[1].config), **args)
    workers = {task["worker"] for task in stream.data}
    print(f"{len(chunks)} ingest chunks ran on {len(workers)} Dask workers")
    assert len(stream.data) == len(chunks)  # one Dask task per ingest chunk, nothing else
    assert all(t["key"].startswith("collect_chunk-") for t in stream.data)  # the template's
    assert workers and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    a, b = _quality_outcome(envs[0], threads), _quality_outcome(envs[1], dask)
    c = a["counts"]
    assert c["records_in"] == c["valid"] + c["quarantined"] and c["events_valid"] > 0
    assert sum(a["validated_rows"].values()) > 0 and a["findings"]
    assert b == a
