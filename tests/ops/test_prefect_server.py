"""The deployment path end to end: a real `prefect server`, the work pool, every deployment
from deployments/prefect.yaml, a process worker, and `compliance run --via-server` with
parameters, whose bundle must verify in S3; then the on-demand decisions flow on that
review's campaign through `compliance access-review decide --via-server`."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.run import deployment_name
from flows.registry import DEPLOYABLE
from tasks.common.embedded import free_port
from tasks.common.s3 import S3Uri, s3_client
from tasks.common.storage import get_bytes
from tests.access.test_fleet import KIND_TO_CHECKS, _owner
from tests.ops.envsetup import STORAGE_ENV, make_env
from tests.ops.procs import BIN, REPO, Proc, run, wait_healthy

JOB = "access-review"  # cheapest job: reads the roster, settings files and IAM once


def _base_env(prefect_home: Path, api_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_") and k not in STORAGE_ENV and k != "COMPLIANCE_WEBHOOK_URL"
    }
    return env | {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        # only what the test needs: no scheduled runs piling up for the cron schedules
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _deployments(api: str) -> set[str]:
    """Every "<flow name>/<deployment name>" on the server."""

    def post(path: str) -> list[dict]:
        req = urllib.request.Request(
            f"{api}/{path}", data=b"{}", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    flows = {f["id"]: f["name"] for f in post("flows/filter")}
    return {f"{flows[d['flow_id']]}/{d['name']}" for d in post("deployments/filter")}


@pytest.fixture
def prefect_server(tmp_path):
    """`prefect server start` on a free loopback port with its own PREFECT_HOME."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = _base_env(tmp_path / "prefect-home", api)
    server = Proc(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        tmp_path / "server.log",
    )
    try:
        startup = wait_healthy(api, server, timeout=90)
        yield api, env, startup
    finally:
        server.stop()


@pytest.mark.slow
def test_adhoc_run_through_deployment_and_worker(prefect_server, s3_server, tmp_path):
    from tasks.evidence import verify_target

    api, env, startup = prefect_server
    job_env = make_env(s3_server.endpoint_url, tmp_path / "env", users=2, days=1, seed=3)
    prefect = str(BIN / "prefect")
    t0 = time.monotonic()
    run([prefect, "work-pool", "create", "compliance", "--type", "process"], env)
    deploy_env = env | {"COMPLIANCE_JOBS_HOME": str(REPO)}
    out = run(
        [prefect, "--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", "--all"],
        deploy_env,
        timeout=180,
    )
    assert "log-retention" in out
    # every deployment (jobs and on-demand flows) is where `--via-server` will look for it
    assert _deployments(api) == {deployment_name(slug) for slug in DEPLOYABLE}
    deployed = time.monotonic() - t0

    worker_env = deploy_env | job_env.env() | {"COMPLIANCE_RETENTION_DAYS": "1"}
    worker = Proc(
        [prefect, "worker", "start", "--pool", "compliance"], worker_env, tmp_path / "worker.log"
    )
    try:
        since = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
        until = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
        t1 = time.monotonic()
        # the CLI shares the worker's PREFECT_HOME, so it reads the persisted result
        cli = [str(BIN / "compliance"), "run", JOB, "--via-server", "--json", "--timeout", "150"]
        stdout = run([*cli, "--since", since, "--until", until], worker_env, timeout=180)
        ran = time.monotonic() - t1
        # reviewers hand in decisions: an unknown item is rejected, the bundle still links
        decisions = tmp_path / "decisions.csv"
        decisions.write_text("item_id,reviewer,decision,justification\nnope,lead,certify,ok\n")
        decide = [str(BIN / "compliance"), "access-review", "decide", "--decisions"]
        decided = run(
            [*decide, str(decisions), "--via-server", "--json", "--timeout", "150"],
            worker_env,
            timeout=180,
        )
    finally:
        worker.stop()
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["job"] == JOB and result["run_id"], (result, worker.tail())
    assert result["bundle"].startswith(f"s3://{job_env.settings.reports_bucket}/reports/{JOB}/")
    assert result["bundle"].endswith("/attestation.dsse.json")

    client = s3_client(job_env.settings)
    report = verify_target(result["bundle"], client=client, public_keys=job_env.public_keys())
    assert report.ok, [f.line() for f in report.failures]
    # the ad-hoc parameters reached the flow: the report covers exactly --since/--until
    uri = S3Uri.parse(result["bundle"])
    body = json.loads(get_bytes(client, uri.bucket, uri.key.rsplit("/", 1)[0] + "/report.json"))
    assert body["period"]["start"].startswith(since) and body["period"]["end"].startswith(until)
    assert body["run_id"] == result["run_id"]
    # what the CLI printed is what was signed, and the planted settings problems were found
    assert result["status"] == body["status"] == "fail"
    not_passed = [f for f in body["findings"] if f["status"] != "pass"]
    assert result["counts"]["findings"] == len(not_passed)
    failing = {(f["check"], _owner(f["resource"])) for f in not_passed}
    planted = {
        (check, inc["user"])
        for inc in job_env.truth["incidents"]
        for check in KIND_TO_CHECKS.get(inc["kind"], [])
    }
    assert planted and planted <= failing, planted - failing
    # only the flows' small result dicts are persisted, never a task's (raw) data
    assert len(list((tmp_path / "prefect-home" / "storage").iterdir())) == 2

    dec = json.loads(decided.strip().splitlines()[-1])
    assert dec["job"] == "access-review-decisions" and dec["bundle"], (dec, worker.tail())
    assert dec["summary"]["campaign"] == result["bundle"]  # the review the server just ran
    assert dec["summary"]["decisions_rejected"] == 1
    report = verify_target(dec["bundle"], client=client, public_keys=job_env.public_keys())
    assert report.ok, [f.line() for f in report.failures]
    print(f"server healthy {startup:.1f} s, pool+deploy {deployed:.1f} s, run {ran:.1f} s")
