"""deployments/iam/collector-policy.json under moto's IAM enforcement, in its own process.

Reuses tests/evidence/test_iam.py's server helper (a moto server started with
enforcement switchable through /moto-api/reset-auth). moto does not substitute IAM policy
variables, so each user's policy is attached with `${aws:username}` already replaced by
that user's name — what AWS does when it evaluates the statement. What this proves: the
actions and resource shape let a collector put (also multipart) under its own prefix and
nowhere else, and read nothing, not even its own objects. The `${aws:…}` substitution
itself is AWS's, and is checked here only statically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tasks.collect.run import collect
from tasks.common.s3 import S3Uri
from tests.collect.helpers import machine
from tests.evidence.test_iam import (  # noqa: F401 - moto_auth_server is a fixture
    client,
    denied,
    moto_auth_server,
    set_auth,
    user_with_policy,
)

POLICY = Path(__file__).resolve().parents[2] / "deployments" / "iam" / "collector-policy.json"
BUCKET = "collector-data"


def rendered(user: str) -> str:
    text = POLICY.read_text().replace("DATA_BUCKET", BUCKET)
    return text.replace("${aws:username}", user).replace("${aws:PrincipalTag/roo_user}", user)


def test_policy_allows_only_puts_under_the_principals_own_prefix():
    doc = json.loads(POLICY.read_text())
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow"
        assert set(st["Action"]) <= {"s3:PutObject", "s3:AbortMultipartUpload"}
        res = st["Resource"]
        assert isinstance(res, str) and res.startswith("arn:aws:s3:::DATA_BUCKET/raw/roo/${aws:")
        assert res.endswith("}/*")
    resources = {st["Resource"] for st in doc["Statement"]}
    assert "arn:aws:s3:::DATA_BUCKET/raw/roo/${aws:username}/*" in resources
    assert "arn:aws:s3:::DATA_BUCKET/raw/roo/${aws:PrincipalTag/roo_user}/*" in resources


def test_user_cannot_write_or_read_another_users_prefix(
    moto_auth_server,  # noqa: F811 - the imported fixture
    tmp_path,
    fleet,
    fleet_users,
):
    url = moto_auth_server
    iam, admin = client("iam", url), client("s3", url)
    admin.create_bucket(Bucket=BUCKET)
    admin.put_object(Bucket=BUCKET, Key="raw/roo/bob/tasks/t/ui_messages.json", Body=b"[]")
    alice_key = user_with_policy(iam, "alice", rendered("alice"))
    user_with_policy(iam, "bob", rendered("bob"))
    set_auth(url, "0")
    try:
        alice = client("s3", url, *alice_key)
        alice.put_object(Bucket=BUCKET, Key="raw/roo/alice/tasks/t/ui_messages.json", Body=b"[]")
        for key in (
            "raw/roo/bob/tasks/t/ui_messages.json",
            "raw/org/roster.csv",
            "raw/roo/alice2/x",
        ):
            with pytest.raises(ClientError) as exc:
                alice.put_object(Bucket=BUCKET, Key=key, Body=b"x")
            assert denied(exc), key
        for key in (
            "raw/roo/bob/tasks/t/ui_messages.json",
            "raw/roo/alice/tasks/t/ui_messages.json",
        ):
            with pytest.raises(ClientError) as exc:
                alice.get_object(Bucket=BUCKET, Key=key)
            assert denied(exc), key
        with pytest.raises(ClientError) as exc:
            alice.list_objects_v2(Bucket=BUCKET, Prefix="raw/roo/bob/")
        assert denied(exc)
        # The real collector, as alice, needs nothing more (multipart included).
        home = tmp_path / "home"
        storage = machine(home, "vscode", "linux", Path(fleet[0]) / "raw/roo" / fleet_users[0])
        big = next((storage / "tasks").iterdir()) / "command-output" / "cmd-big.txt"
        big.parent.mkdir(exist_ok=True)
        big.write_bytes(os.urandom(9 * 1024 * 1024))
        os.utime(big, (0, 0))
        res = collect(home, "alice", S3Uri(BUCKET, "raw/"), alice, tmp_path / "l.json", key=b"k")
        assert res.errors == 0 and res.uploaded > 0, res.notes
        bad = collect(home, "bob", S3Uri(BUCKET, "raw/"), alice, tmp_path / "l2.json", key=b"k")
        assert bad.uploaded == 0 and bad.errors > 0
        assert all("AccessDenied" in n for n in bad.notes if "not sent" in n)
    finally:
        set_auth(url, "inf")
    keys = [
        o["Key"] for o in admin.list_objects_v2(Bucket=BUCKET, Prefix="raw/roo/bob/")["Contents"]
    ]
    assert keys == ["raw/roo/bob/tasks/t/ui_messages.json"]
