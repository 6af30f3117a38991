"""deployments/iam/collector-policy.json on Ceph RGW: what a second, real S3 server shows.

What this proves, and what it does not:
- RGW 16.2 ("Pacific", Debian's) refuses the policy as written: `PutUserPolicy` answers 400
  (MalformedPolicyDocument for the whole file, InvalidInput for the `${aws:username}`
  statement alone) while the same statement with a literal user name is accepted. RGW
  does not support IAM policy variables in resources, so `${aws:username}` cannot be
  evaluated here any more than on moto; AWS evaluates it, and that substitution stays
  proved only by AWS's documentation. The test asserts the refusal, so a later RGW that
  accepts the variable makes it fail and be upgraded to evaluate it.
- With each user's policy substituted (as AWS does at evaluation time), RGW enforces the
  statement shape: the real collector, as alice, puts under raw/roo/alice/ (multipart
  included) and cannot put to bob's prefix, raw/org/ or a prefix that merely starts with
  her name, nor list or read bob's objects.
- Unlike AWS with Object Ownership "bucket owner enforced" (the default for new buckets),
  RGW makes the writer the owner of the object, so alice can read back what she wrote
  (the object ACL, not the policy, grants it), and the bucket owner — the jobs — cannot
  read it until a bucket policy grants them reads on raw/* (RGW checks the bucket policy
  before the ACL); the bucket owner can delete it. Asserted, so the difference stays visible.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tasks.collect.run import collect
from tasks.common.s3 import S3Uri, client_config
from tests.collect.helpers import machine

pytestmark = [pytest.mark.rgw, pytest.mark.xdist_group("rgw")]
POLICY = Path(__file__).resolve().parents[2] / "deployments" / "iam" / "collector-policy.json"


def _client(cluster, service: str, keys: tuple[str, str] | None = None):
    ak, sk = keys or (cluster.access_key, cluster.secret_key)
    return boto3.client(
        service,
        endpoint_url=cluster.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        config=client_config(),
    )


def _admin(cluster, *args: str) -> str:
    return cluster._run("radosgw-admin", "-c", str(cluster.conf), "-n", "client.admin", *args)


def _code(exc: pytest.ExceptionInfo) -> tuple[int, str]:
    meta = exc.value.response.get("ResponseMetadata", {})
    return meta.get("HTTPStatusCode", 0), exc.value.response.get("Error", {}).get("Code", "")


def test_rgw_refuses_the_variable_and_enforces_the_substituted_policy(
    rgw,
    tmp_path,
    fleet,
    fleet_users,
):
    tag = uuid.uuid4().hex[:6]
    alice, bob, bucket = f"alice{tag}", f"bob{tag}", f"collect-{tag}"
    _admin(rgw, "caps", "add", "--uid=tester", "--caps=user-policy=*")
    keys = {}
    for user in (alice, bob):
        out = json.loads(_admin(rgw, "user", "create", f"--uid={user}", f"--display-name={user}"))
        keys[user] = (out["keys"][0]["access_key"], out["keys"][0]["secret_key"])
    admin_s3, iam = _client(rgw, "s3"), _client(rgw, "iam")
    admin_s3.create_bucket(Bucket=bucket)
    admin_s3.put_object(Bucket=bucket, Key=f"raw/roo/{bob}/tasks/t/ui_messages.json", Body=b"[]")

    doc = json.loads(POLICY.read_text().replace("DATA_BUCKET", bucket))
    variable_only = {**doc, "Statement": [doc["Statement"][0]]}
    assert "${aws:username}" in variable_only["Statement"][0]["Resource"]
    for attempt in (doc, variable_only):
        with pytest.raises(ClientError) as exc:
            iam.put_user_policy(UserName=alice, PolicyName="c", PolicyDocument=json.dumps(attempt))
        assert _code(exc)[0] == 400, exc.value.response
    for user in (alice, bob):
        text = json.dumps(variable_only).replace("${aws:username}", user)
        iam.put_user_policy(UserName=user, PolicyName="collector", PolicyDocument=text)

    s3 = _client(rgw, "s3", keys[alice])
    s3.put_object(Bucket=bucket, Key=f"raw/roo/{alice}/probe", Body=b"x")
    for key in (f"raw/roo/{bob}/tasks/t/ui_messages.json", "raw/org/roster.csv",
                f"raw/roo/{alice}2/x"):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        assert _code(exc) == (403, "AccessDenied"), key
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=f"raw/roo/{bob}/tasks/t/ui_messages.json")
    assert _code(exc) == (403, "AccessDenied")
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=bucket, Prefix=f"raw/roo/{bob}/")
    assert _code(exc) == (403, "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key=f"raw/roo/{alice}/probe")["Body"].read() == b"x"

    home = tmp_path / "home"
    storage = machine(home, "vscode", "linux", Path(fleet[0]) / "raw/roo" / fleet_users[0])
    big = next((storage / "tasks").iterdir()) / "command-output" / "cmd-big.txt"
    big.parent.mkdir(exist_ok=True)
    big.write_bytes(os.urandom(9 * 1024 * 1024))
    os.utime(big, (0, 0))
    res = collect(home, alice, S3Uri(bucket, "raw/"), s3, tmp_path / "a.json", key=b"k" * 32)
    assert res.errors == 0 and res.uploaded > 0, res.notes
    bad = collect(home, bob, S3Uri(bucket, "raw/"), s3, tmp_path / "b.json", key=b"k" * 32)
    assert bad.uploaded == 0 and bad.errors > 0
    listed = admin_s3.list_objects_v2(Bucket=bucket, Prefix=f"raw/roo/{bob}/")["Contents"]
    assert [o["Key"] for o in listed] == [f"raw/roo/{bob}/tasks/t/ui_messages.json"]
    big_key = f"raw/roo/{alice}/{big.relative_to(storage).as_posix()}"
    # RGW makes alice the object's owner: the bucket owner (the jobs) cannot read it ...
    with pytest.raises(ClientError) as exc:
        admin_s3.head_object(Bucket=bucket, Key=big_key)
    assert _code(exc)[0] == 403
    # ... until a bucket policy grants the jobs' principal reads (RGW checks it before ACLs)
    admin_s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(jobs_read_policy(bucket)))
    assert admin_s3.head_object(Bucket=bucket, Key=big_key)["ContentLength"] == 9 * 1024 * 1024
    admin_s3.delete_object(Bucket=bucket, Key=big_key)  # the bucket owner may delete (retention)
    with pytest.raises(ClientError):
        admin_s3.head_object(Bucket=bucket, Key=big_key)


def jobs_read_policy(bucket: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam:::user/tester"]},
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"arn:aws:s3:::{bucket}/raw/*",
            }
        ],
    }
