"""log-retention's versioned HEADs and GETs follow the one not-found rule: only a 404 on a
version means it is gone; a 403 or a 500 says nothing about the object and stops the run
(never "no hold", never "deleted", never "no copy, make one").

Real moto server over HTTP for the real 404 (a version deleted). moto never answers a HEAD
or GET with 403/500, so botocore's own `before-send` hook answers the matching request with
that raw status, parsed by botocore as a real response would be.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tasks.common.errors import StorageError
from tasks.common.s3 import s3_client
from tasks.common.settings import AppConfig
from tasks.retention.config import parse_retention
from tasks.retention.deleter import _version_gone
from tasks.retention.engine import thread_redactor
from tasks.retention.job import load_sections
from tasks.retention.planner import PlanItem, plan_prefix, redacted_key, version_hold
from tasks.retention.prepare import hash_versions, prepare_raw

KEY = "raw/roo/ann/tasks/t-1/ui_messages.json"
LATER = datetime.now(UTC) + timedelta(days=1)
FAILURES = (ClientError, StorageError)  # the run stops either way; never read as an answer


class _Raw:
    """The smallest raw body urllib3 would hand botocore (empty)."""

    def stream(self, *_a, **_k):
        yield b""


def answer_with(client, status: int, method: str, url_part: str) -> list[str]:
    """Answer every `method` request whose URL contains `url_part` with a bare `status`."""
    answered: list[str] = []

    def before_send(request, **_kwargs):
        if request.method == method and url_part in request.url:
            answered.append(request.url)
            return AWSResponse(request.url, status, {"content-length": "0"}, _Raw())
        return None

    client.meta.events.register("before-send.s3", before_send)
    return answered


@pytest.fixture
def one_log(buckets, storage_settings):
    """An Object-Lock (versioned) bucket with one expired log in two versions, its plan
    item, the redaction settings, and a client that does not retry (a 500 answers once)."""
    client = s3_client(storage_settings, max_attempts=1)
    data = f"lockreads-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=data, ObjectLockEnabledForBucket=True)
    for n in range(2):
        client.put_object(Bucket=data, Key=KEY, Body=orjson.dumps([{"ts": n, "text": "hi"}]))
    sections = {"retention": {"raw_days": 0}, "redaction": {"key": "test-key-reads"}}
    ret, red_cfg, secret = load_sections(
        AppConfig(storage=storage_settings, sections=sections, source="test.yaml")
    )
    (item,) = plan_prefix(client, data, "raw/roo/ann/", ret, LATER, s3_holds=False)
    assert item.decision == "delete" and len(item.versions) == 2
    return client, data, item, thread_redactor(red_cfg, secret)


def oldest(item: PlanItem):
    return min(item.versions, key=lambda v: v.last_modified)


@pytest.mark.parametrize("status", [403, 500])
def test_an_error_on_a_version_head_is_not_no_hold(one_log, status) -> None:
    client, data, item, _red = one_log
    answered = answer_with(client, status, "HEAD", "versionId=")
    with pytest.raises(FAILURES, match=str(status)):
        version_hold(client, data, KEY, oldest(item), LATER)
    assert answered


def test_a_deleted_version_holds_nothing_and_a_held_one_holds(one_log) -> None:
    client, data, item, _red = one_log
    old, newest = sorted(item.versions, key=lambda v: v.last_modified)
    client.put_object_legal_hold(
        Bucket=data, Key=KEY, VersionId=newest.version_id, LegalHold={"Status": "ON"}
    )
    client.delete_object(Bucket=data, Key=KEY, VersionId=old.version_id)
    assert version_hold(client, data, KEY, old, LATER) is None  # 404: gone since listing
    assert version_hold(client, data, KEY, newest, LATER) == "legal_hold:s3"


@pytest.mark.parametrize("status", [403, 500])
def test_an_error_on_the_confirming_head_is_not_gone(one_log, status) -> None:
    client, data, item, _red = one_log
    answer_with(client, status, "HEAD", "versionId=")
    with pytest.raises(StorageError, match=str(status)) as exc:
        _version_gone(client, item, oldest(item).version_id)
    message = str(exc.value)
    assert "cannot confirm the deletion" in message and KEY in message and "\n" not in message


def test_a_deleted_version_is_gone_and_a_live_one_is_not(one_log) -> None:
    client, data, item, _red = one_log
    old = oldest(item)
    assert _version_gone(client, item, old.version_id) is False
    client.delete_object(Bucket=data, Key=KEY, VersionId=old.version_id)
    assert _version_gone(client, item, old.version_id) is True


@pytest.mark.parametrize("status", [403, 500])
def test_an_error_on_a_version_get_stops_the_hashing(one_log, status) -> None:
    client, _data, item, _red = one_log
    answer_with(client, status, "GET", "versionId=")
    with pytest.raises(FAILURES, match=str(status)):
        hash_versions(client, item, LATER)
    assert not any(v.sha256 for v in item.versions)


def test_a_version_deleted_before_its_hash_stops_the_run(one_log) -> None:
    """A version planned but gone before its GET: its content can no longer be proven in
    the manifest, so the run stops (the next run plans again) rather than skip it."""
    client, data, item, _red = one_log
    client.delete_object(Bucket=data, Key=KEY, VersionId=oldest(item).version_id)
    with pytest.raises(FAILURES, match="NoSuchVersion|404"):
        hash_versions(client, item, LATER)


@pytest.mark.parametrize("status", [403, 500])
def test_an_error_on_the_raw_get_makes_no_copy(one_log, status) -> None:
    client, data, item, red = one_log
    answer_with(client, status, "GET", "versionId=")
    with pytest.raises(FAILURES, match=str(status)):
        prepare_raw(client, item, red, set(), now=LATER)
    assert not client.list_objects_v2(Bucket=data, Prefix="redacted/").get("KeyCount")


@pytest.mark.parametrize("status", [403, 500])
def test_an_error_on_a_listed_copy_is_not_absent(one_log, status) -> None:
    """The copy listed, its GET answered 403/500: the run stops; the copy is not made
    again over it as if it were gone."""
    client, data, item, red = one_log
    target = redacted_key(KEY)
    client.put_object(Bucket=data, Key=target, Body=b"[]")
    puts: list[int] = []
    client.meta.events.register("before-call.s3.PutObject", lambda **_kw: puts.append(1))
    answer_with(client, status, "GET", "/redacted/roo/")
    with pytest.raises(FAILURES, match=str(status)):
        prepare_raw(client, item, red, {target}, now=LATER)
    assert puts == []
    assert len(client.list_object_versions(Bucket=data, Prefix=target)["Versions"]) == 1


def test_a_listed_copy_deleted_since_is_made_again(one_log) -> None:
    client, data, item, red = one_log
    target = redacted_key(KEY)
    assert prepare_raw(client, item, red, {target}, now=LATER) == (None, True)  # 404: make it
    assert prepare_raw(client, item, red, {target}, now=LATER) == (None, False)  # found now


def test_a_key_the_storage_layer_refuses_is_kept_and_counted(one_log, caplog) -> None:
    """A key that could climb out of a root (here a backslash) is never read: the storage
    layer refuses it before any I/O, so the object is kept (reason `unsafe_key`), named
    in one log line (repr) and counted; the other objects are handled as usual."""
    from tasks.retention.job import log_plan, summarize

    caplog.set_level(logging.INFO)
    client, data, _item, _red = one_log
    odd = "raw/roo/ann/tasks/t-2/a\\b.json"
    client.put_object(Bucket=data, Key=odd, Body=b"[]")
    cfg = parse_retention({"raw_days": 0})
    items = {i.key: i for i in plan_prefix(client, data, "raw/roo/ann/", cfg, LATER)}
    assert (items[odd].decision, items[odd].reason) == ("keep", "unsafe_key: backslash in key")
    assert items[KEY].decision == "delete"
    log_plan(list(items.values()), dry_run=True)
    assert f"keep {odd!r}: unsafe_key: backslash in key" in caplog.text
    assert summarize(list(items.values()), [], 0, [])["unsafe_keys"] == 1
