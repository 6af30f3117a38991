"""What only a real server shows about the writer's "put only as new objects" rule.

On Ceph RGW (tests/evidence/rgw.py: a throwaway single-node cluster) If-None-Match is
ignored on versioned buckets, so a writer holding the writer role can put a second version
over a published `report.json` even with `If-None-Match: *` — the attack issue 13 lists,
which AWS refuses (the writer policy's `s3:if-none-match` condition plus the server's own
412) and which moto refuses with 412. What this proves on RGW: the forged write does not
replace the evidence — the original version is still there, still under COMPLIANCE
retention and cannot be deleted — and the online verifier fails the bundle with a
`versions` failure naming the object. It does not prove anything about IAM evaluation on
RGW (no identity policies are attached here).
"""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from tasks.evidence.store import S3Store
from tasks.evidence.verify_chain import verify_job
from tests.evidence.conftest import keypair, signer, trust  # noqa: F401  (fixtures)
from tests.evidence.helpers import publish_day

pytestmark = [pytest.mark.rgw, pytest.mark.xdist_group("rgw")]  # one RGW per run


def test_overwrite_of_a_published_report_on_rgw_is_kept_apart_and_reported(rgw, signer, trust):  # noqa: F811
    client = rgw.client()
    bucket = f"reports-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    bundle = publish_day(client, bucket, "cost-budget", signer, 1)
    key = bundle.prefix + "report.json"
    (original,) = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    original_body = client.get_object(Bucket=bucket, Key=key)["Body"].read()

    client.put_object(Bucket=bucket, Key=key, Body=b'{"status": "pass"}', IfNoneMatch="*")

    versions = client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 2  # RGW accepted the conditional overwrite as a new version
    kept = client.get_object(Bucket=bucket, Key=key, VersionId=original["VersionId"])
    assert kept["Body"].read() == original_body and kept["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError):
        client.delete_object(Bucket=bucket, Key=key, VersionId=original["VersionId"])
    report = verify_job(S3Store(client, bucket), "cost-budget", trust, retention_days=1)
    failed = {(f.check, f.object.rsplit("/", 1)[-1]) for f in report.failures}
    assert ("versions", "report.json") in failed, [f.line() for f in report.failures]
