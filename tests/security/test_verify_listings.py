"""What verifying a chain costs in listings: a bucket holding many bundles must not make
the verifier list every bundle's versions again (ListObjectVersions is the request moto
and RGW answer slowest, and the one a planted pile of versions makes expensive)."""

from __future__ import annotations

import pytest

from tasks.evidence.store import S3Store
from tasks.evidence.verify_chain import verify_job

from .chainkit import JOB, client_for, make_signer, new_lock_bucket, publish_day, trust_of


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return make_signer(tmp_path_factory.mktemp("job-key"))


def listings_to_verify(s3_server, signer, bundles: int) -> int:
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    for i in range(1, bundles + 1):
        publish_day(client, bucket, signer, i)
    calls = []
    client.meta.events.register(
        "before-parameter-build.s3.ListObjectVersions", lambda params, **_: calls.append(params)
    )
    report = verify_job(S3Store(client, bucket), JOB, trust_of(signer), retention_days=1)
    assert report.ok and len(report.chain) == bundles, [f.line() for f in report.failures]
    return len(calls)


def test_verifying_a_chain_lists_versions_a_fixed_number_of_times(s3_server, signer):
    """verify_job lists the job's versions once and hands the listing to verify_bundle,
    which dropped it: every bundle's versions were listed again, and the claims once more
    (N + 2 listings; now 1)."""
    one, five = listings_to_verify(s3_server, signer, 1), listings_to_verify(s3_server, signer, 5)
    assert five == one == 1
