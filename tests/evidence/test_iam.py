"""Least privilege, enforced by moto's IAM access control in a separate moto server process.

moto evaluates identity policies (Action and Resource; its Condition support is partial)
once `/moto-api/reset-auth` turns enforcement on — the server-mode form of
`set_initial_no_auth_action_count`. A separate process keeps that global switch away from
the session's shared moto server.

What this proves (and only this): with deployments/iam/writer-policy.json attached, the
writer can PUT a new report object (with If-None-Match, as the publisher does), but
DeleteObject on a report version (with VersionId, i.e. s3:DeleteObjectVersion) and a plain
DeleteObject are refused with AccessDenied, and PutBucketObjectLockConfiguration is refused;
with auditor-policy.json the auditor can read and list versions but cannot PUT or delete.
It does not prove Object Lock itself (moto lets COMPLIANCE retention be shortened) —
tests/evidence/test_rgw.py proves that on Ceph RGW — nor any policy Condition: moto ignores
condition operators other than StringEquals and supplies no S3 context keys, so the
writer's `s3:if-none-match` condition is not exercised here (see
tests/security/test_iam_least_privilege.py for what is proved about it, and how).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tasks.common.embedded import free_port

POLICIES = Path(__file__).resolve().parents[2] / "deployments" / "iam"
BUCKET = "iam-reports"


def policy(name: str) -> str:
    text = (POLICIES / name).read_text().replace("REPORTS_BUCKET", BUCKET)
    return text.replace('"RETENTION_DAYS"', '"1"')


@pytest.fixture(scope="module")
def moto_auth_server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()  # our own child, by its Popen handle
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(service, url, key="testing", secret="testing"):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def user_with_policy(iam, name: str, document: str) -> tuple[str, str]:
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=document)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def set_auth(url: str, count: str) -> None:
    req = urllib.request.Request(
        f"{url}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "application/octet-stream"},
    )
    urllib.request.urlopen(req, timeout=5).read()


def denied(exc: pytest.ExceptionInfo) -> bool:
    return exc.value.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"}


def test_policies_are_valid_json_with_explicit_denies():
    writer = json.loads(policy("writer-policy.json"))
    denies = {
        a
        for s in writer["Statement"]
        if s["Effect"] == "Deny"
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {
        "s3:DeleteObjectVersion",
        "s3:BypassGovernanceRetention",
        "s3:PutBucketObjectLockConfiguration",
        "s3:DeleteObject",
        "s3:PutObjectRetention",
    } <= denies
    auditor = json.loads(policy("auditor-policy.json"))
    allowed = {a for s in auditor["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert all(a.startswith(("s3:Get", "s3:List")) for a in allowed)


def test_writer_cannot_delete_a_report_version(moto_auth_server):
    url = moto_auth_server
    iam, admin = client("iam", url), client("s3", url)
    admin.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    first = admin.put_object(Bucket=BUCKET, Key="reports/x/report.json", Body=b"{}")
    writer_key = user_with_policy(iam, "writer", policy("writer-policy.json"))
    auditor_key = user_with_policy(iam, "auditor", policy("auditor-policy.json"))
    set_auth(url, "0")  # enforce IAM from now on
    try:
        writer, auditor = client("s3", url, *writer_key), client("s3", url, *auditor_key)
        writer.put_object(Bucket=BUCKET, Key="reports/x/report.html", Body=b"<p/>", IfNoneMatch="*")
        assert (
            writer.get_object(Bucket=BUCKET, Key="reports/x/report.html")["Body"].read() == b"<p/>"
        )
        with pytest.raises(ClientError) as exc:
            writer.delete_object(
                Bucket=BUCKET, Key="reports/x/report.json", VersionId=first["VersionId"]
            )
        assert denied(exc)
        with pytest.raises(ClientError) as exc:
            writer.delete_object(Bucket=BUCKET, Key="reports/x/report.json")
        assert denied(exc)
        with pytest.raises(ClientError) as exc:
            writer.put_object_lock_configuration(
                Bucket=BUCKET, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
            )
        assert denied(exc)
        # The auditor reads and lists versions, and cannot write or delete.
        assert (
            auditor.get_object(Bucket=BUCKET, Key="reports/x/report.json")["Body"].read() == b"{}"
        )
        assert auditor.list_object_versions(Bucket=BUCKET)["Versions"]
        with pytest.raises(ClientError) as exc:
            auditor.put_object(Bucket=BUCKET, Key="reports/x/evil.json", Body=b"x")
        assert denied(exc)
        with pytest.raises(ClientError) as exc:
            auditor.delete_object(
                Bucket=BUCKET, Key="reports/x/report.json", VersionId=first["VersionId"]
            )
        assert denied(exc)
    finally:
        set_auth(url, "inf")
    versions = admin.list_object_versions(Bucket=BUCKET, Prefix="reports/x/report.json")["Versions"]
    assert [v["VersionId"] for v in versions] == [first["VersionId"]]
