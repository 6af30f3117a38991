"""The deleter's "is it gone" check: only a 404 / NoSuchKey / NoSuchVersion means gone.

Real deleter over real S3 HTTP (moto server). Once DeleteObjects has run, botocore's own
`before-send` hook answers the confirming HEADs with a raw HTTP 400 (what AWS sends for a
malformed request, or a proxy in the way), parsed by botocore as a real response would be.
A 400 says nothing about the object: it must stop the run with one line naming the object,
never become a "deleted" row in the manifest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.awsrequest import AWSResponse

from tasks.common.errors import StorageError
from tasks.retention.config import parse_retention
from tasks.retention.deleter import execute_journal
from tasks.retention.planner import plan_prefix

KEY = "raw/roo/ann/tasks/t-1/ui_messages.json"


class _Raw:
    """The smallest raw body urllib3 would hand botocore (empty: HEAD has no body)."""

    def stream(self, *_a, **_k):
        yield b""


def _answer_heads_with(status: int, client) -> dict:
    state = {"armed": False, "answered": 0}

    def arm(**_kwargs):
        state["armed"] = True

    def before_send(request, **_kwargs):
        if state["armed"] and request.method == "HEAD":
            state["answered"] += 1
            return AWSResponse(request.url, status, {"content-length": "0"}, _Raw())
        return None

    client.meta.events.register("after-call.s3.DeleteObjects", arm)
    client.meta.events.register("before-send.s3.HeadObject", before_send)
    return state


@pytest.mark.parametrize("versioned", [True, False])
def test_http_400_on_the_gone_check_is_an_error_not_a_deletion(s3, buckets, versioned):
    bucket = buckets.data_bucket
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"[]")
    cfg = parse_retention({"raw_days": 0})
    items = plan_prefix(s3, bucket, "raw/roo/ann/", cfg, now=datetime.now(UTC) + timedelta(days=1))
    assert [i.decision for i in items] == ["delete"]
    state = _answer_heads_with(400, s3)
    with pytest.raises(StorageError) as exc:
        execute_journal(s3, bucket, "run-400", items, cfg)
    assert state["answered"] >= 1
    message = str(exc.value)
    assert "\n" not in message and KEY in message and "400" in message
    # no done marker records the item as handled: the next run checks again
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="state/").get("Contents", [])
    assert not [o for o in listed if "run-400.done" in o["Key"]]


def test_a_real_404_still_confirms_the_deletion(s3, buckets):
    bucket = buckets.data_bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"[]")
    cfg = parse_retention({"raw_days": 0})
    items = plan_prefix(s3, bucket, "raw/roo/ann/", cfg, now=datetime.now(UTC) + timedelta(days=1))
    rows = execute_journal(s3, bucket, "run-404", items, cfg)
    assert {r["outcome"] for r in rows} == {"deleted"}
