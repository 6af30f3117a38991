"""The bundle writer publishes a spooled file without holding it: memory measured with
tracemalloc while a 50 MB file goes to moto in its own process (so the server's copy is
not counted), then the bundle verifies and keeps its Object Lock."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from tasks.common.embedded import EmbeddedS3
from tasks.common.s3 import s3_client
from tasks.common.settings import StorageSettings
from tasks.common.storage import S3Store, SpooledFile
from tasks.evidence import publish_bundle
from tasks.evidence.verify import verify_bundle

from .conftest import day_period

SIZE = 50 * 1024 * 1024
MB = 1024 * 1024


@pytest.fixture(scope="module")
def own_s3():
    server = EmbeddedS3(separate_process=True).start()
    yield server
    server.stop()


@pytest.fixture
def locked(own_s3):
    client = s3_client(StorageSettings(endpoint_url=own_s3.endpoint_url))
    bucket = f"reports-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return client, bucket


def spooled(size: int) -> SpooledFile:
    f, fh = SpooledFile.create(".csv")
    with fh:
        for _ in range(size // MB):
            fh.write(os.urandom(MB))  # incompressible: nothing on the way can shrink it
    return f


def test_publish_streams_a_50_mb_spooled_file(locked, signer, trust):
    client, bucket = locked
    big = spooled(SIZE)
    client.head_bucket(Bucket=bucket)  # the connection is warm before the measure
    tracemalloc.start()
    try:
        b = publish_bundle(client, bucket, "audit-trail", {"ledger.csv": big, "report.json": b"{}"},
                           signer=signer, period=day_period(1), status="pass",
                           counts={"findings": 0}, retention_days=1)  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SIZE / 10, f"publishing held {peak / MB:.1f} MB for a {SIZE / MB:.0f} MB file"
    head = client.head_object(Bucket=bucket, Key=b.prefix + "ledger.csv")
    assert head["ContentLength"] == SIZE and head["ObjectLockMode"] == "COMPLIANCE"
    digests = {s["name"]: s["digest"]["sha256"] for s in b.statement["subject"]}
    assert digests["ledger.csv"] == big.sha256()
    _info, failures = verify_bundle(S3Store(client, bucket), b.prefix, trust, retention_days=1)
    assert failures == []
