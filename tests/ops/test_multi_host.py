"""The README's "beyond one machine" deployment, as it tells it: a Prefect server on
PostgreSQL, two process workers pulling from the `compliance` work pool, and a two-worker
Dask cluster for the chunked work — telemetry-quality and log-retention run through it must
give the same bundle contents as the single-process run (embedded Prefect, threads) on
identical data. Every part is a separate process on loopback, as separate hosts would be.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from tasks.common.embedded import free_port
from tests.ops.envsetup import STORAGE_ENV, make_env
from tests.ops.postgres import postgres_server
from tests.ops.procs import BIN, REPO, Proc, run, wait_healthy
from tests.ops.test_dask_runner import QUALITY, _outcome, _quality_outcome
from tests.ops.test_prefect_server import _base_env


def _pool_workers(api: str) -> set[str]:
    req = urllib.request.Request(
        f"{api}/work_pools/compliance/workers/filter",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return {w["name"] for w in json.loads(r.read()) if w.get("status") == "ONLINE"}


RUN_FILE = re.compile(r"/\d{8}T\d{6}Z-[0-9a-f]{8}(\.\w+)$")


def _without_run_ids(outcome: dict) -> dict:
    """Derived objects (validated/, quarantine/) are named by the run that wrote them, and an
    object's age is measured when the run reads it."""
    plan = [
        {k: v for k, v in r.items() if k != "age_days"}
        | {"key": RUN_FILE.sub(r"/<run>\1", r["key"])}
        for r in outcome["plan"]
    ]
    manifest = [
        tuple((k, RUN_FILE.sub(r"/<run>\1", v) if k == "key" else v) for k, v in row)
        for row in outcome["manifest"]
    ]
    return outcome | {
        "plan": sorted(plan, key=lambda r: (r["key"], str(r))),
        "manifest": sorted(manifest, key=str),
    }


def _wait(predicate, timeout: float, what: str) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return
        time.sleep(0.5)
    raise TimeoutError(what)


@pytest.mark.slow
def test_postgres_server_two_workers_and_dask_give_the_single_process_bundles(
    prefect_harness, s3_server, tmp_path, monkeypatch
):
    from distributed import Client, get_task_stream

    from flows.jobs import log_retention, telemetry_quality
    from tasks.common.runners import make_task_runner

    start = (datetime.now(UTC) - timedelta(days=3)).date()
    args = ["--since", start.isoformat(), "--until", (start + timedelta(days=1)).isoformat()]
    sections = {"retention": {"raw_days": 0}} | QUALITY
    envs = {
        name: make_env(
            s3_server.endpoint_url,
            tmp_path / name,
            users=3,
            days=1,
            seed=21,
            start=start,
            sections=sections,
            keys_dir=tmp_path / "keys",
        )  # fmt: skip
        for name in ("single", "cluster")
    }
    compliance = str(BIN / "compliance")
    prefect = str(BIN / "prefect")

    # 1. single process: this one, thread pool (no Dask, no worker), on the session's Prefect
    # test harness — the flows `compliance run` calls, without a process and an embedded
    # server of their own for each (the embedded server is the demo's, tests/reports/)
    for var in STORAGE_ENV:
        monkeypatch.delenv(var, raising=False)
    t0 = time.monotonic()
    threads = make_task_runner("threads")
    config = str(envs["single"].config)
    single = {
        "telemetry-quality": telemetry_quality.with_options(task_runner=threads)(
            config_path=config, since=args[1], until=args[3]
        ),
        "log-retention": log_retention.with_options(task_runner=threads)(config_path=config),
    }
    t1 = time.monotonic()

    # 2. the cluster: PostgreSQL, a Prefect server on it, Dask, two process workers
    procs: list[Proc] = []
    with postgres_server() as db_url:
        try:
            port = free_port()
            api = f"http://127.0.0.1:{port}/api"
            env = _base_env(tmp_path / "cluster-home", api) | {
                "PREFECT_SERVER_DATABASE_CONNECTION_URL": db_url,
            }
            server = Proc(
                [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env, tmp_path / "server.log",
            )  # fmt: skip
            procs.append(server)
            wait_healthy(api, server, timeout=120)
            run([prefect, "work-pool", "create", "compliance", "--type", "process"], env)
            run(
                [prefect, "--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml"]
                + ["--all"],
                env | {"COMPLIANCE_JOBS_HOME": str(REPO)},
                timeout=240,
            )
            dask_port = free_port()
            scheduler = f"tcp://127.0.0.1:{dask_port}"
            dask = str(BIN / "dask")
            procs.append(
                Proc(
                    [dask, "scheduler", "--host", "127.0.0.1", "--port", str(dask_port)]
                    + ["--no-dashboard"],
                    env,
                    tmp_path / "scheduler.log",
                )  # fmt: skip
            )
            job_env = env | envs["cluster"].env() | {"COMPLIANCE_TASK_RUNNER": scheduler}
            for i in (1, 2):
                procs.append(
                    Proc(
                        [dask, "worker", scheduler, "--nthreads", "1", "--host", "127.0.0.1"]
                        + ["--no-dashboard", "--name", f"dask-{i}"],
                        job_env,
                        tmp_path / f"dask-{i}.log",
                    )  # fmt: skip
                )
                procs.append(
                    Proc(
                        [prefect, "worker", "start", "--pool", "compliance", "--name", f"w{i}"],
                        job_env,
                        tmp_path / f"worker-{i}.log",
                    )  # fmt: skip
                )
            _wait(lambda: _pool_workers(api) == {"w1", "w2"}, 60, "two pool workers online")
            with Client(scheduler, timeout=60) as client:
                client.wait_for_workers(2, timeout=60)
                cluster, streams = {}, {}
                for job, extra in (("telemetry-quality", args), ("log-retention", [])):
                    with get_task_stream(client) as stream:  # one stream per job
                        out = run([compliance, "run", job, "--via-server", "--json"]
                                  + ["--timeout", "280", *extra], job_env, 300)  # fmt: skip
                    cluster[job] = json.loads(out.splitlines()[-1])
                    streams[job] = list(stream.data)
                dask_workers = {t["worker"] for s in streams.values() for t in s}
        finally:
            for p in reversed(procs):
                p.stop()
    print(f"single-process runs {t1 - t0:.1f} s, cluster {time.monotonic() - t1:.1f} s")

    # the chunked work of both jobs (the template's mapped step) ran on the Dask workers
    for job, tasks in streams.items():
        keys = {t["key"].split("-", 1)[0] for t in tasks}
        assert tasks and keys == {"collect_chunk"}, (job, keys)
    assert len(dask_workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in dask_workers)
    # and the bundles say the same as the single-process run's
    a = _quality_outcome(envs["single"], single["telemetry-quality"])
    b = _quality_outcome(envs["cluster"], cluster["telemetry-quality"])
    assert a["counts"]["events_valid"] > 0 and b == a
    a = _without_run_ids(_outcome(envs["single"], single["log-retention"]))
    b = _without_run_ids(_outcome(envs["cluster"], cluster["log-retention"]))
    assert a["counts"]["deleted_versions"] > 0 and a["redacted"]
    assert b == a
