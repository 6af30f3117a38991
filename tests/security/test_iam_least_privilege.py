"""Least privilege for the writer role, proved where moto can prove it.

moto (5.x) enforces identity policies in its own server process (see
tests/evidence/test_iam.py for the harness): it evaluates Action and Resource, and an
explicit Deny wins. What moto does NOT evaluate: condition operators other than
StringEquals are ignored (treated as met) and S3 request context keys such as
`s3:if-none-match` are never supplied. So:

* moto proves: the writer role cannot PUT under `keys/` (the "writer publishes its own
  key" attack of issue 13) nor anywhere outside `reports/`; the key-admin role can publish a
  key and cannot write under `reports/`; the real publisher (`publish_bundle`) succeeds with
  nothing more than the writer policy; every PutObject the publisher sends carries
  `If-None-Match: *` (observed on the wire), so the policy's condition never blocks it; and
  moto itself answers 412 to an `If-None-Match: *` overwrite of a published object.
* moto does NOT prove: that AWS refuses a PutObject without `If-None-Match` under
  `reports/` (the `Null` condition). That is shown only structurally here (the only Allow for
  PutObject under reports/ carries the condition) and holds on AWS per its documentation.
  On Ceph RGW, which ignores If-None-Match on versioned buckets
  (tests/evidence/test_rgw.py::test_rgw_ignores_if_none_match_on_versioned_buckets), an
  overwrite becomes a new version; deployments/iam/README.md says what still protects.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tasks.common.models import Period
from tests.evidence.test_iam import (  # noqa: F401  (moto_auth_server is a fixture)
    POLICIES,
    client,
    denied,
    moto_auth_server,
    policy,
    set_auth,
    user_with_policy,
)

BUCKET = "iam-reports"  # the name tests/evidence/test_iam.policy substitutes
PEM = b"-----BEGIN PUBLIC KEY-----\nattacker\n-----END PUBLIC KEY-----\n"


def statements(name: str) -> list[dict]:
    return json.loads(policy(name))["Statement"]


def as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_only_allow_of_putobject_under_reports_requires_if_none_match():
    for name, prefix in (("writer-policy.json", "reports/"), ("key-admin-policy.json", "keys/")):
        puts = [
            s
            for s in statements(name)
            if s["Effect"] == "Allow"
            and any(a in ("s3:PutObject", "s3:*", "s3:Put*") for a in as_list(s["Action"]))
        ]
        assert puts, name
        for s in puts:
            assert all(r.endswith(f"/{prefix}*") for r in as_list(s["Resource"])), (name, s)
            # an object is created (PutObject, CompleteMultipartUpload) only with
            # If-None-Match; the writer may also start an upload and send its parts, which
            # create nothing (AWS's documented pattern for conditional multipart writes)
            assert s["Condition"] in (
                {"Null": {"s3:if-none-match": "false"}},
                {"Bool": {"s3:ObjectCreationOperation": "false"}},
            ), (name, s)
        assert any(s["Condition"] == {"Null": {"s3:if-none-match": "false"}} for s in puts)


def test_writer_has_an_explicit_deny_on_keys_and_key_admin_on_reports():
    def denied_puts(name: str, prefix: str) -> set[str]:
        return {
            a
            for s in statements(name)
            if s["Effect"] == "Deny"
            and "Condition" not in s
            and any(r.endswith(f"/{prefix}*") for r in as_list(s["Resource"]))
            for a in as_list(s["Action"])
        }

    assert {"s3:PutObject", "s3:PutObjectRetention"} <= denied_puts("writer-policy.json", "keys/")
    assert {"s3:PutObject"} <= denied_puts("key-admin-policy.json", "reports/")


@pytest.fixture
def roles(moto_auth_server):  # noqa: F811
    url = moto_auth_server
    iam, admin = client("iam", url), client("s3", url)
    existing = [b["Name"] for b in admin.list_buckets().get("Buckets", [])]
    if BUCKET not in existing:
        admin.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    suffix = datetime.now(UTC).strftime("%H%M%S%f")
    writer = user_with_policy(iam, f"writer-{suffix}", policy("writer-policy.json"))
    keyadmin = user_with_policy(iam, f"keyadmin-{suffix}", policy("key-admin-policy.json"))
    set_auth(url, "0")
    try:
        yield url, client("s3", url, *writer), client("s3", url, *keyadmin), admin
    finally:
        set_auth(url, "inf")


def test_writer_cannot_publish_its_own_key(roles):
    url, writer, _, _ = roles
    for kwargs in ({}, {"IfNoneMatch": "*"}):
        with pytest.raises(ClientError) as exc:
            writer.put_object(Bucket=BUCKET, Key="keys/evil.pem", Body=PEM, **kwargs)
        assert denied(exc)
    with pytest.raises(ClientError) as exc:
        writer.put_object(Bucket=BUCKET, Key="elsewhere/x.json", Body=b"{}", IfNoneMatch="*")
    assert denied(exc)
    # ...and what store.put_locked (the product's own key upload) reports: one line, no trace
    from tasks.common.errors import StorageError
    from tasks.evidence.store import put_locked

    with pytest.raises(StorageError, match=r"keys/evil2\.pem: write failed \(AccessDenied\)"):
        put_locked(writer, BUCKET, "keys/evil2.pem", PEM, 1, "application/x-pem-file")


def test_key_admin_publishes_keys_and_cannot_write_reports(roles):
    from tasks.evidence.store import put_locked

    _, _, keyadmin, _ = roles
    key = f"keys/{datetime.now(UTC).timestamp()}.pem"
    assert put_locked(keyadmin, BUCKET, key, PEM, 1, "application/x-pem-file") is True
    assert keyadmin.get_object(Bucket=BUCKET, Key=key)["Body"].read() == PEM
    with pytest.raises(ClientError) as exc:
        keyadmin.put_object(Bucket=BUCKET, Key="reports/j/x.json", Body=b"{}", IfNoneMatch="*")
    assert denied(exc)
    with pytest.raises(ClientError) as exc:
        keyadmin.delete_object(Bucket=BUCKET, Key=key)
    assert denied(exc)


def test_real_publisher_needs_nothing_more_and_always_sends_if_none_match(roles, tmp_path):
    from tasks.evidence import load_signer, publish_bundle
    from tasks.evidence.signer import generate_key_files

    _, writer, _, _ = roles
    signer = load_signer(str(generate_key_files(tmp_path)[0]))
    puts: list[str | None] = []

    def record(request, **_):
        puts.append(request.headers.get("If-None-Match"))

    writer.meta.events.register("before-send.s3.PutObject", record)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    job = f"iam-job-{datetime.now(UTC).strftime('%H%M%S%f')}"
    for i in range(2):
        period = Period(start=start + timedelta(days=i), end=start + timedelta(days=i + 1))
        publish_bundle(
            writer, BUCKET, job, {"report.json": b'{"i": %d}\n' % i}, signer=signer,
            period=period, status="pass", counts={}, retention_days=1,
            generated_at=period.end,
        )  # fmt: skip
    assert puts and all(h in ("*", b"*") for h in puts), puts
    # an overwrite of a published object is refused by the server's If-None-Match (moto)
    listed = writer.list_objects_v2(Bucket=BUCKET, Prefix=f"reports/{job}/")["Contents"]
    report = next(o["Key"] for o in listed if o["Key"].endswith("report.json"))
    with pytest.raises(ClientError) as exc:
        writer.put_object(Bucket=BUCKET, Key=report, Body=b'{"forged": 1}', IfNoneMatch="*")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_readme_names_what_protects_where_if_none_match_is_ignored():
    text = (POLICIES / "README.md").read_text()
    for needle in ("key-admin-policy.json", "s3:if-none-match", "Ceph RGW", "read-back",
                   "version", "test_iam_least_privilege.py"):  # fmt: skip
        assert needle in text, needle
