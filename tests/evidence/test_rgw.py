"""Real Object Lock on Ceph RGW: what moto cannot prove.

Needs radosgw (see tests/evidence/rgw.py). Locally without it these skip with a reason;
with CI=true a failure to start fails them.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tasks.common.storage import LocalStore, S3Store
from tasks.evidence.verify_chain import verify_job

from .helpers import download_all, publish_day, race_lost_claim

pytestmark = [pytest.mark.rgw, pytest.mark.xdist_group("rgw")]  # one RGW per run


@pytest.fixture
def rgw_bucket(rgw):
    client = rgw.client()
    name = f"reports-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return client, name


def test_compliance_version_cannot_be_deleted_even_with_bypass(rgw_bucket, signer):
    client, bucket = rgw_bucket
    b = publish_day(client, bucket, "access-review", signer, 1)
    key = b.prefix + "report.json"
    (version,) = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    with pytest.raises(ClientError) as exc:
        client.delete_object(
            Bucket=bucket, Key=key, VersionId=version["VersionId"], BypassGovernanceRetention=True
        )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError):
        client.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
    assert client.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()


def test_compliance_retention_cannot_be_shortened(rgw_bucket, signer):
    client, bucket = rgw_bucket
    b = publish_day(client, bucket, "access-review", signer, 1)
    key = b.prefix + "attestation.dsse.json"
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    shorter = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(ClientError) as exc:
        client.put_object_retention(
            Bucket=bucket, Key=key, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": shorter}
        )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError):
        client.put_object_retention(
            Bucket=bucket,
            Key=key,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": head["ObjectLockRetainUntilDate"]},
            BypassGovernanceRetention=True,
        )
    assert (
        client.head_object(Bucket=bucket, Key=key)["ObjectLockRetainUntilDate"]
        == head["ObjectLockRetainUntilDate"]
    )


def test_publish_and_online_verify_on_rgw(rgw_bucket, signer, trust):
    client, bucket = rgw_bucket
    bundles = [publish_day(client, bucket, "log-retention", signer, i) for i in (1, 2, 3)]
    report = verify_job(S3Store(client, bucket), "log-retention", trust, retention_days=1)
    assert report.failures == [], [f.line() for f in report.failures]
    assert report.chain == [b.prefix for b in bundles]


def test_rgw_ignores_if_none_match_on_versioned_buckets(rgw_bucket):
    """The premise of the claim read-back: a second conditional PUT becomes a new version."""
    client, bucket = rgw_bucket
    client.put_object(Bucket=bucket, Key="probe", Body=b"1", IfNoneMatch="*")
    client.put_object(Bucket=bucket, Key="probe", Body=b"2", IfNoneMatch="*")
    assert len(client.list_object_versions(Bucket=bucket, Prefix="probe")["Versions"]) == 2


def test_concurrent_publishers_on_rgw_never_fork(rgw, rgw_bucket, signer, trust, tmp_path):
    _, bucket = rgw_bucket
    job, results, errors = "cost-budget", [], []

    def worker(offset):
        client = rgw.client()  # one client per publisher, as two processes would have
        try:
            for i in range(3):
                results.append(publish_day(client, bucket, job, signer, offset + i))
        except Exception as exc:  # pragma: no cover - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(o,)) for o in (1, 11, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(b.seq for b in results) == list(range(9))
    report = verify_job(S3Store(rgw.client(), bucket), job, trust, retention_days=1)
    assert report.failures == [], [f.line() for f in report.failures]
    assert len(report.chain) == 9
    # Downloaded (claims as their earliest versions), the chain verifies offline too.
    tree = download_all(rgw.client(), bucket, tmp_path / "dl")
    local = verify_job(LocalStore(tree), job, trust)
    assert local.failures == [] and local.chain == report.chain


def test_lost_claim_race_on_rgw_reads_back_earliest_version(rgw_bucket):
    client, bucket = rgw_bucket
    result, versions = race_lost_claim(client, bucket, "audit-trail")
    assert versions == 2  # RGW kept both conditional PUTs as versions
    assert result.claim.seq == 1 and result.claim.previous is None  # linked past the rival


# ---- issue 13: forged claims and later versions, where IfNoneMatch does not hold -------
# moto (tests/security/) proved these with IfNoneMatch enforced: a forged claim is a key of
# its own and a lost race is a 412. On RGW a PUT over an existing claim or envelope key
# simply becomes a later version, so what is proved here is the read-the-earliest-version
# side: the writer links to the committed envelope whatever was put over it or beside it.


def _link(bundle):
    return {"uri": bundle.envelope_uri, "digest": {"sha256": bundle.envelope_sha256}}


def test_forged_claims_and_later_versions_on_rgw_neither_fork_nor_stall(rgw_bucket, signer, trust):
    import json
    import time

    from tasks.evidence.chain import chain_prefix, claim_key

    client, bucket = rgw_bucket
    job = "access-review"
    bundles = [publish_day(client, bucket, job, signer, i) for i in (1, 2, 3)]

    def forged(seq, bundle, previous):
        return json.dumps(
            {
                "seq": seq,
                "job": job,
                "run_id": "forged",
                "prefix": bundle.prefix,
                "previous": previous,
                "claim_id": "forged",
            }
        ).encode()

    # A later version over the head claim, naming an old bundle (RGW keeps both).
    client.put_object(Bucket=bucket, Key=claim_key(job, 2), Body=forged(2, bundles[0], None))
    assert (
        len(client.list_object_versions(Bucket=bucket, Prefix=claim_key(job, 2))["Versions"]) == 2
    )
    # A later version over the head envelope: junk, which no key signed.
    env_key = bundles[2].prefix + "attestation.dsse.json"
    client.put_object(Bucket=bucket, Key=env_key, Body=b'{"payload": "x"}')
    # A forged next claim (a copy of claim 0 at seq 3) and a non-canonical key.
    client.put_object(Bucket=bucket, Key=claim_key(job, 3), Body=forged(3, bundles[0], None))
    client.put_object(
        Bucket=bucket, Key=chain_prefix(job) + "99", Body=forged(99, bundles[0], None)
    )
    t0 = time.monotonic()
    fourth = publish_day(client, bucket, job, signer, 4)
    assert time.monotonic() - t0 < 30
    assert fourth.previous == _link(bundles[2]) and fourth.seq == 4
    report = verify_job(S3Store(client, bucket), job, trust, retention_days=1)
    checks = {f.check for f in report.failures}
    assert "fork" not in checks and "orphan" not in checks
    assert {"claim", "versions"} <= checks  # the planted objects are reported


def test_download_on_rgw_takes_the_committed_version(rgw_bucket, signer, tmp_path):
    """RGW proves the version pinning on a server whose Object Lock is real."""
    from tasks.evidence.bundles import download, iter_bundles

    client, bucket = rgw_bucket
    b = publish_day(client, bucket, "cost-budget", signer, 1)
    key = b.prefix + "report.json"
    original = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=b'{"tampered": true}\n')
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() != original
    counts = download(client, bucket, list(iter_bundles(client, bucket)), tmp_path / "dl")
    assert (tmp_path / "dl" / key).read_bytes() == original
    assert [f.check for f in counts["failures"]] == ["versions"]
