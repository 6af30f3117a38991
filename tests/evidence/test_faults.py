"""Publishing through a fault-injecting proxy: all or nothing, no duplicates, one chain.

botocore's standard retry mode does the I/O retries (tasks.common.s3.client_config); the
writer's only loop is the chain-claim race. The first pass uses few attempts so that some
publishes really fail midway; the rerun (same run ids) completes them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tasks.common.s3 import s3_client
from tasks.common.settings import StorageSettings
from tasks.common.storage import S3Store
from tasks.evidence import ChainPolicy, publish_bundle
from tasks.evidence.verify_chain import verify_job

from .conftest import T0, day_period
from .faultproxy import FaultProxy
from .helpers import client_for, daily_files, new_lock_bucket

N = 50
JOB = "telemetry-quality"


def run_ids() -> list[str]:
    return [f"{(T0 + timedelta(days=i)):%Y%m%dT%H%M%SZ}-{i:08x}" for i in range(1, N + 1)]


@pytest.mark.slow
def test_fifty_publishes_through_faults_commit_all_or_nothing(s3_server, signer, trust):
    direct = client_for(s3_server)
    bucket = new_lock_bucket(direct)
    proxy = FaultProxy(s3_server.endpoint_url, rate=0.25, seed=11).start()
    policy = ChainPolicy(lease_seconds=1.0, fence_seconds=0.8, poll_initial=0.05)
    try:
        settings = StorageSettings(endpoint_url=proxy.url)
        flaky = s3_client(settings, max_attempts=3, connect_timeout=2, read_timeout=5)

        def attempt(client, i, rid):
            publish_bundle(
                client,
                bucket,
                JOB,
                daily_files(JOB, i),
                signer=signer,
                period=day_period(i),
                status="pass",
                counts={"findings": i},
                retention_days=1,
                run_id=rid,
                generated_at=T0 + timedelta(days=i),
                policy=policy,
            )

        failed = []
        for i, rid in enumerate(run_ids(), start=1):
            try:
                attempt(flaky, i, rid)
            except Exception:  # any failure: the point is what state it leaves
                failed.append((i, rid))
        assert proxy.fault_share >= 0.20, proxy.counts
        assert failed, "the first pass should lose some publishes to faults"

        # After the faulty pass: every committed bundle is complete, the chain is whole,
        # failed runs are at most incomplete folders (never reports).
        mid = verify_job(S3Store(direct, bucket), JOB, trust, retention_days=1)
        assert mid.failures == [], [f.line() for f in mid.failures]
        # A 'failed' publish may still have committed (its last answer was lost): >=.
        assert len(mid.bundles) >= N - len(failed)

        # Rerun what failed (same run ids) through the proxy with the default retry budget.
        robust = s3_client(settings)
        for _ in range(3):
            still = []
            for i, rid in failed:
                try:
                    attempt(robust, i, rid)
                except Exception:
                    still.append((i, rid))
            failed = still
            if not failed:
                break
        assert failed == []
    finally:
        proxy.stop()

    final = verify_job(S3Store(direct, bucket), JOB, trust, retention_days=1)
    assert final.failures == [], [f.line() for f in final.failures]
    assert len(final.bundles) == N and len(final.chain) == N  # one bundle per run, one chain
    committed_runs = sorted(p.rstrip("/").rsplit("/", 1)[1] for p in final.chain)
    assert committed_runs == sorted(run_ids())
