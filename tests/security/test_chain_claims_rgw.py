"""The old-claim copy on Ceph RGW, where the writer cannot rely on IfNoneMatch: it lists
claim versions and reads each key's earliest one, and a plain PUT over a locked envelope
becomes a later version with a fresh LastModified (tests/evidence/rgw.py: a throwaway
single-node cluster). Proves the claim/envelope time rule on a real server's clock."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tasks.evidence.chain import claim_key
from tasks.evidence.store import S3Store
from tasks.evidence.verify_chain import verify_job
from tests.evidence.conftest import keypair, signer, trust  # noqa: F401  (fixtures)

from .chainkit import JOB, fresh_process, publish_day, without_seq

pytestmark = [pytest.mark.rgw, pytest.mark.xdist_group("rgw")]  # one RGW per run


def _link(bundle) -> dict:
    return {"uri": bundle.envelope_uri, "digest": {"sha256": bundle.envelope_sha256}}


def test_copy_of_an_old_claim_on_rgw_neither_forks_nor_counts(rgw, signer, trust, monkeypatch):  # noqa: F811
    client = rgw.client()
    bucket = f"reports-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    with monkeypatch.context() as old_writer:
        without_seq(old_writer)
        legacy = [publish_day(client, bucket, signer, i) for i in (1, 2)]
    third = publish_day(client, bucket, signer, 3)
    time.sleep(2.2)  # later than the envelope, past whole seconds and the 1 s slack
    record = json.loads(client.get_object(Bucket=bucket, Key=claim_key(JOB, 1))["Body"].read())
    record["seq"] = 3
    client.put_object(Bucket=bucket, Key=claim_key(JOB, 3), Body=json.dumps(record).encode())
    named = legacy[1].prefix + "attestation.dsse.json"
    body = client.get_object(Bucket=bucket, Key=named)["Body"].read()
    client.put_object(Bucket=bucket, Key=named, Body=body, IfNoneMatch="*")  # RGW keeps both
    fresh_process(monkeypatch)
    fourth = publish_day(client, bucket, signer, 4)
    assert fourth.previous == _link(third) and fourth.seq == 4
    report = verify_job(S3Store(client, bucket), JOB, trust, retention_days=1)
    got = sorted((f.object.rsplit("/", 1)[-1], f.check) for f in report.failures)
    assert got == [("000000000003", "claim"), ("attestation.dsse.json", "versions")], got
