"""The bundle writer against moto server mode over real HTTP."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tasks.common.errors import StorageError
from tasks.common.storage import S3Store
from tasks.evidence import ChainPolicy, publish_bundle
from tasks.evidence.chain import claim_key
from tasks.evidence.dsse import parse_envelope
from tasks.evidence.verify_chain import verify_job
from tasks.evidence.writer import StatementTooLarge

from .conftest import day_period


def test_publish_writes_locked_objects_in_layout(s3, buckets, publish_daily, signer):
    bucket = buckets.reports_bucket
    b = publish_daily(s3, bucket, "access-review", 1)
    assert b.prefix == f"reports/access-review/2026/11/02/{b.run_id}/"
    assert b.run_id.startswith("20261102T060000Z-") and len(b.run_id) == 25
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    # The once-per-process IfNoneMatch probe sits outside every job.
    keys = [k for k in listed if not k.startswith("reports/_probe/")]
    assert len(listed) - len(keys) <= 1
    assert keys == sorted(
        [
            b.prefix + n
            for n in ("report.json", "report.html", "findings.csv", "attestation.dsse.json")
        ]
        + [claim_key("access-review", 0)]
    )
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] > head["LastModified"]
    env = parse_envelope(
        s3.get_object(Bucket=bucket, Key=b.prefix + "attestation.dsse.json")["Body"].read()
    )
    pred = env.predicate
    assert [s["name"] for s in env.statement["subject"]] == [
        "findings.csv",
        "report.html",
        "report.json",
    ]
    assert pred["previous"] is None and pred["bucket"] == bucket and pred["prefix"] == b.prefix
    assert (
        pred["tool"]["name"] == "compliance-jobs"
        and pred["period"]["start"] == "2026-11-01T00:00:00Z"
    )
    assert env.signatures[0][0] == signer.keyid


def test_chain_links_previous_and_verifies_clean(s3, buckets, publish_daily, trust):
    bucket = buckets.reports_bucket
    bundles = [publish_daily(s3, bucket, "cost-budget", i) for i in range(1, 5)]
    for prev, cur in zip(bundles, bundles[1:], strict=False):
        assert cur.previous == {
            "uri": prev.envelope_uri,
            "digest": {"sha256": prev.envelope_sha256},
        }
    report = verify_job(S3Store(s3, bucket), "cost-budget", trust, retention_days=1)
    assert report.failures == []
    assert report.chain == [b.prefix for b in bundles]


def test_refuses_bucket_without_object_lock(s3, buckets, publish_daily):
    with pytest.raises(StorageError, match="Object Lock is not enabled") as exc:
        publish_daily(s3, buckets.data_bucket, "access-review", 1)
    assert "\n" not in str(exc.value)


def test_rerun_same_run_id_is_idempotent(s3, buckets, publish_daily):
    bucket = buckets.reports_bucket
    a = publish_daily(s3, bucket, "log-retention", 1, run_id="20261102T060000Z-0000abcd")
    b = publish_daily(s3, bucket, "log-retention", 1, run_id="20261102T060000Z-0000abcd")
    assert a.envelope_sha256 == b.envelope_sha256
    with pytest.raises(StorageError, match="different content"):
        publish_daily(
            s3,
            bucket,
            "log-retention",
            1,
            run_id="20261102T060000Z-0000abcd",
            files={"report.json": b"other"},
        )


def test_too_many_inputs_are_summarised_into_inputs_json(s3, buckets, signer):
    inputs = [
        {"uri": f"s3://data/raw/events/2026/11/01/{i}.jsonl", "digest": {"sha256": "a" * 64}}
        for i in range(200)
    ]
    b = publish_bundle(
        s3,
        buckets.reports_bucket,
        "telemetry-quality",
        {"report.json": b"{}"},
        signer=signer,
        period=day_period(1),
        status="warn",
        counts={"findings": 1},
        inputs=inputs,
        retention_days=1,
    )
    (summary,) = b.statement["predicate"]["inputs"]
    assert summary["count"] == 200 and summary["uri"].endswith(b.prefix + "inputs.json")
    listing = s3.get_object(Bucket=buckets.reports_bucket, Key=b.prefix + "inputs.json")[
        "Body"
    ].read()
    assert json.loads(listing) == inputs
    assert "inputs.json" in [s["name"] for s in b.statement["subject"]]


def test_statement_over_kms_limit_fails_clearly(s3, buckets, signer):
    files = {f"part-{i:04d}.json": b"{}" for i in range(60)}
    with pytest.raises(StatementTooLarge, match="KMS RAW limit 4096"):
        publish_bundle(
            s3,
            buckets.reports_bucket,
            "audit-trail",
            files,
            signer=signer,
            period=day_period(1),
            status="pass",
            counts={},
            retention_days=1,
        )
    # Nothing was written: the size is checked before any object.
    assert s3.list_objects_v2(Bucket=buckets.reports_bucket).get("KeyCount", 0) == 0


def test_concurrent_publishers_never_fork(s3, buckets, publish_daily, trust):
    bucket, results, errors = buckets.reports_bucket, [], []

    def worker(i):
        try:
            results.append(publish_daily(s3, bucket, "access-review", i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = sorted(b.seq for b in results)
    assert seqs == list(range(5))
    prevs = [json.dumps(b.previous, sort_keys=True) for b in results]
    assert len(set(prevs)) == 5  # no two bundles share a previous
    report = verify_job(S3Store(s3, bucket), "access-review", trust, retention_days=1)
    assert report.failures == [] and len(report.chain) == 5


def test_crashed_claimer_is_linked_past_after_lease(s3, buckets, signer, trust):
    """A claim whose publisher died never blocks the chain and never becomes a report."""
    from tasks.common.storage import put_once
    from tasks.evidence.chain import claim_next

    bucket, job = buckets.reports_bucket, "cost-budget"
    policy = ChainPolicy(lease_seconds=2.5, fence_seconds=0.5, poll_initial=0.05)

    def put(key, body):
        put_once(s3, bucket, key, body, 1, "application/json")

    def pub(i):
        return publish_bundle(
            s3,
            bucket,
            job,
            {"report.json": b"%d" % i},
            signer=signer,
            period=day_period(i),
            status="pass",
            counts={},
            retention_days=1,
            policy=policy,
        )

    first = pub(1)
    # A publisher writes its files, claims link 1 and dies before committing.
    put("reports/cost-budget/2026/11/02/dead-run-00000000/report.json", b"{}")
    dead = claim_next(
        s3, bucket, job, "dead", "reports/cost-budget/2026/11/02/dead-run-00000000/", put, policy
    )
    assert dead.claim.seq == 1
    t0 = time.monotonic()
    second = pub(2)  # waits for the lease, then links past the dead claim
    assert time.monotonic() - t0 >= 1.0
    assert second.seq == 2 and second.previous["digest"]["sha256"] == first.envelope_sha256
    report = verify_job(S3Store(s3, bucket), job, trust, retention_days=1)
    assert report.failures == []
    assert report.incomplete == ["reports/cost-budget/2026/11/02/dead-run-00000000/"]


def test_claimer_past_its_fence_does_not_commit(s3, buckets, signer, monkeypatch):
    policy = ChainPolicy(lease_seconds=10, fence_seconds=0.0)
    with pytest.raises(StorageError, match="expired before commit"):
        publish_bundle(
            s3,
            buckets.reports_bucket,
            "access-review",
            {"report.json": b"x"},
            signer=signer,
            period=day_period(1),
            status="pass",
            counts={},
            retention_days=1,
            policy=policy,
        )


def test_lost_claim_race_on_moto_gets_412_and_moves_on(s3, buckets):
    from .helpers import race_lost_claim

    result, versions = race_lost_claim(s3, buckets.reports_bucket, "audit-trail")
    assert versions == 1  # moto enforces IfNoneMatch: B's PUT was refused
    assert result.claim.seq == 1 and result.claim.run_id == "b-run"


def test_the_if_none_match_probe_leaves_one_object_however_many_processes(s3, buckets):
    from tasks.evidence import chain

    bucket = buckets.reports_bucket

    def put(key: str, body: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")

    for _ in range(3):  # three "processes": the per-process answer is forgotten each time
        chain._ENFORCES.clear()
        assert chain.enforces_if_none_match(s3, bucket, put) is True  # moto enforces it
    versions = s3.list_object_versions(Bucket=bucket, Prefix=chain.PROBE_PREFIX)
    assert [v["Key"] for v in versions.get("Versions", [])] == [chain.PROBE_KEY]
