"""log-retention's concurrent path over real S3 HTTP (moto server): the pool stays within
`retention.s3_concurrency`, a crash inside a batch resumes, a hold placed after planning
is kept even though the run does not HEAD its objects again, and refusals stay errors."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from botocore.exceptions import ClientError

from tasks.common.errors import ConfigError, StorageError
from tasks.common.s3 import s3_client
from tasks.common.settings import AppConfig
from tasks.common.storage import get_bytes
from tasks.retention import deleter
from tasks.retention import job as retention_job
from tasks.retention.config import parse_retention
from tasks.retention.deleter import unfinished_runs
from tasks.retention.runner import run_retention
from tests.retention.crash import SimulatedCrash

LATER = datetime.now(UTC) + timedelta(days=40)
USERS = ("ann", "bob", "cat")
PER_USER = 8  # tasks per user, one ui_messages.json each
TWO_VERSIONS = "raw/roo/ann/tasks/t-0/ui_messages.json"
HELD = "raw/roo/cat/tasks/t-7/ui_messages.json"


def key_of(user: str, n: int) -> str:
    return f"raw/roo/{user}/tasks/t-{n}/ui_messages.json"


@pytest.fixture
def fleet(buckets, s3, tmp_path):
    """An Object-Lock data bucket: 24 expired logs (one with two versions, one under S3
    legal hold), each carrying a token; a signing key; s3_concurrency 3."""
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    data = f"lockfleet-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=data, ObjectLockEnabledForBucket=True)
    priv, pub, _ = generate_key_files(tmp_path / "keys")
    settings = buckets.model_copy(update={"signing_key": str(priv), "data_bucket": data})
    ensure_buckets(s3_client(settings), settings, public_key_pem=pub.read_bytes())
    for user in USERS:
        for n in range(PER_USER):
            token = "ghp_" + uuid.uuid4().hex + "Ab12"
            body = orjson.dumps([{"ts": 1, "type": "say", "say": "text", "text": f"use {token}"}])
            s3.put_object(Bucket=data, Key=key_of(user, n), Body=body)
    s3.put_object(Bucket=data, Key=TWO_VERSIONS, Body=b'[{"ts": 2}]')
    s3.put_object_legal_hold(Bucket=data, Key=HELD, LegalHold={"Status": "ON"})
    sections = {
        "retention": {"raw_days": 30, "s3_concurrency": 3, "workers": 2},
        "redaction": {"key": "test-key-concurrency"},
    }
    return AppConfig(storage=settings, sections=sections, source="test.yaml"), data


def versions_of(s3, bucket: str, key: str) -> list[dict]:
    resp = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in resp.get("Versions", []) + resp.get("DeleteMarkers", []) if v["Key"] == key]


def manifest(s3, result: dict) -> list[dict]:
    bucket, _, key = result["bundle"][5:].partition("/")
    body = get_bytes(s3, bucket, key.rsplit("/", 1)[0] + "/manifest.jsonl")
    return [json.loads(line) for line in body.splitlines()]


EXPIRED = [key_of(u, n) for u in USERS for n in range(PER_USER) if key_of(u, n) != HELD]


def assert_all_gone(s3, data: str) -> None:
    for key in EXPIRED:
        assert versions_of(s3, data, key) == [], key
        assert b"ghp_" not in get_bytes(s3, data, key.replace("raw/", "redacted/", 1))
    assert versions_of(s3, data, HELD)


def test_s3_concurrency_is_validated() -> None:
    assert parse_retention({}).s3_concurrency == 16
    assert parse_retention({"s3_concurrency": 32}).s3_concurrency == 32
    for bad in (0, 33, "many"):
        with pytest.raises(ConfigError) as err:
            parse_retention({"s3_concurrency": bad}, "c.yaml")
        assert str(err.value).startswith("c.yaml: retention.s3_concurrency: ")
        assert "\n" not in str(err.value)


def test_requests_overlap_and_stay_within_the_bound(fleet, s3) -> None:
    """Slow GET/PUT/HEAD answers: the pool keeps more than one in flight, never more than
    s3_concurrency (3) from the pool plus the one thread that lists and deletes."""
    config, data = fleet
    lock, inflight, peak = threading.Lock(), [0], [0]

    def before(model, **_kw) -> None:
        with lock:
            inflight[0] += 1
            peak[0] = max(peak[0], inflight[0])
        if model.name in ("GetObject", "PutObject", "HeadObject"):
            time.sleep(0.02)

    def after(**_kw) -> None:
        with lock:
            inflight[0] -= 1

    s3.meta.events.register("before-call.s3", before)
    s3.meta.events.register("after-call.s3", after)
    s3.meta.events.register("after-call-error.s3", after)
    result = run_retention(config, s3, now=LATER)
    assert 1 < peak[0] <= 3 + 1
    assert result["summary"]["objects_deleted"] == len(EXPIRED)
    assert result["summary"]["legal_holds"] == 1
    assert_all_gone(s3, data)


def test_crash_inside_a_batch_of_the_pool_then_rerun(fleet, s3, monkeypatch) -> None:
    """The pool's third confirmation crashes: DeleteObjects has run, no batch marker is
    written; the rerun re-checks holds, deletes again (a no-op), confirms, and the
    manifest has every version once."""
    config, data = fleet
    calls, real = [0], deleter._confirm_gone
    guard = threading.Lock()

    def flaky(client, item, *listed):
        with guard:
            calls[0] += 1
            n = calls[0]
        if n == 3:
            raise SimulatedCrash("confirmation 3")
        return real(client, item, *listed)

    with monkeypatch.context() as m:
        m.setattr(deleter, "_confirm_gone", flaky)
        with pytest.raises(SimulatedCrash):
            run_retention(config, s3, now=LATER)
    (run,) = unfinished_runs(s3, data)
    done = s3.list_objects_v2(Bucket=data, Prefix=f"state/log-retention/{run}.done/")
    assert done.get("KeyCount", 0) == 0  # the crashed batch left no marker
    result = run_retention(config, s3, now=LATER)
    assert result["summary"]["resumed_runs"] == 1 and result["status"] == "pass"
    rows = manifest(s3, result)
    pairs = [(r["key"], r["version_id"]) for r in rows]
    assert len(pairs) == len(set(pairs)) == len(EXPIRED) + 1  # TWO_VERSIONS has two
    assert {r["outcome"] for r in rows} == {"deleted"} and all(r["sha256"] for r in rows)
    assert_all_gone(s3, data)
    assert unfinished_runs(s3, data) == []


def test_hold_placed_after_planning_is_kept_without_a_second_head(fleet, s3, monkeypatch):
    """Holds placed between the plan (GETs) and the deletion of the same run: S3 refuses
    the held versions, the run records them kept; a version that was not held goes."""
    config, data = fleet
    single = key_of("bob", 3)
    older = sorted(versions_of(s3, data, TWO_VERSIONS), key=lambda v: v["LastModified"])[0]
    real = retention_job.write_journal

    def journal_then_hold(*args, **kwargs):
        real(*args, **kwargs)
        s3.put_object_legal_hold(Bucket=data, Key=single, LegalHold={"Status": "ON"})
        s3.put_object_legal_hold(
            Bucket=data, Key=TWO_VERSIONS, VersionId=older["VersionId"],
            LegalHold={"Status": "ON"},
        )  # fmt: skip

    monkeypatch.setattr(retention_job, "write_journal", journal_then_hold)
    heads = []
    s3.meta.events.register("before-call.s3.HeadObject", lambda **kw: heads.append(1))
    result = run_retention(config, s3, now=LATER)
    # one confirmation per object deleted, plus the look-ups of the two refused objects;
    # re-checking every object before deleting would double it
    assert len(heads) <= len(EXPIRED) + 4
    assert result["status"] == "pass" and unfinished_runs(s3, data) == []
    assert [v["VersionId"] for v in versions_of(s3, data, TWO_VERSIONS)] == [older["VersionId"]]
    assert len(versions_of(s3, data, single)) == 1
    rows = {(r["key"], r["version_id"]): r for r in manifest(s3, result)}
    for (key, vid), row in rows.items():
        if key == single or (key == TWO_VERSIONS and vid == older["VersionId"]):
            assert row["outcome"] == "kept" and row["hold_check"] == "legal_hold:s3", key
        else:
            assert row["outcome"] == "deleted", key
    assert result["summary"]["kept_new_hold"] == 2


def test_a_refusal_without_a_hold_stops_the_run(fleet, s3, monkeypatch) -> None:
    """AccessDenied on an object S3 shows no hold on (a permissions problem) is an error,
    never 'kept' or 'gone'; the journal stays for the next run."""
    config, data = fleet
    real = s3.delete_objects

    def deny_first(**kwargs):
        objects = kwargs["Delete"]["Objects"]
        resp = real(**{**kwargs, "Delete": {**kwargs["Delete"], "Objects": objects[1:]}})
        resp.setdefault("Errors", []).append({"Key": objects[0]["Key"], "Code": "AccessDenied"})
        return resp

    monkeypatch.setattr(s3, "delete_objects", deny_first)
    with pytest.raises(RuntimeError, match="refused a version"):
        run_retention(config, s3, now=LATER)
    assert len(unfinished_runs(s3, data)) == 1


def test_deletions_are_confirmed_by_one_listing_not_a_head_each(fleet, s3) -> None:
    """After the batch's DeleteObjects, one ListObjectVersions of the folder the batch
    shares confirms every version gone: no HEAD at all (there was one per version)."""
    config, data = fleet
    calls: list[str] = []
    s3.meta.events.register("before-call.s3", lambda model, **_kw: calls.append(model.name))
    result = run_retention(config, s3, now=LATER)
    assert calls.count("HeadObject") == 0
    assert calls.count("ListObjectVersions") <= 3  # plan: raw and redacted roots; confirm
    rows = manifest(s3, result)
    assert len(rows) == len(EXPIRED) + 1 and {r["outcome"] for r in rows} == {"deleted"}
    assert_all_gone(s3, data)


def test_a_version_the_listing_still_shows_is_unconfirmed(fleet, s3, monkeypatch) -> None:
    """DeleteObjects reports success but one version is still there: the listing shows
    it, the manifest says `unconfirmed` and the run has a finding, never `deleted`."""
    config, data = fleet
    real = s3.delete_objects
    survivor = key_of("bob", 5)

    def spare_one(**kwargs):
        objects = [o for o in kwargs["Delete"]["Objects"] if o["Key"] != survivor]
        return real(**{**kwargs, "Delete": {**kwargs["Delete"], "Objects": objects}})

    monkeypatch.setattr(s3, "delete_objects", spare_one)
    result = run_retention(config, s3, now=LATER)
    outcomes = {r["key"]: r["outcome"] for r in manifest(s3, result)}
    assert outcomes.pop(survivor) == "unconfirmed"
    assert set(outcomes.values()) == {"deleted"}
    assert result["summary"]["versions_unconfirmed"] == 1
    assert len(versions_of(s3, data, survivor)) == 1


def test_a_400_on_the_confirming_listing_is_an_error_not_gone(fleet, s3, monkeypatch) -> None:
    config, data = fleet
    real = s3.list_object_versions
    deleted = []
    s3.meta.events.register("after-call.s3.DeleteObjects", lambda **_kw: deleted.append(1))

    def bad_request(**kwargs):
        if deleted:
            raise ClientError({"Error": {"Code": "400", "Message": "Bad Request"}}, "ListObjectVersions")  # fmt: skip
        return real(**kwargs)

    monkeypatch.setattr(s3, "list_object_versions", bad_request)
    with pytest.raises(StorageError) as err:
        run_retention(config, s3, now=LATER)
    assert str(err.value) == (
        f"s3://{data}/raw/roo/: cannot confirm the deletions (ListObjectVersions answered 400)"
    )
    assert len(unfinished_runs(s3, data)) == 1


@pytest.fixture
def crowded(fleet, s3, monkeypatch):
    """Objects that stay (settings exports, not task logs) listed before the fleet's keys,
    and one-entry pages: the confirming listing's page budget (one page per 10 items)
    ends before it reaches the fleet."""
    config, data = fleet
    for n in range(5):
        s3.put_object(Bucket=data, Key=f"raw/roo/aaa/settings/export-{n}.json", Body=b"{}")
    monkeypatch.setattr(deleter, "CONFIRM_PAGE_SIZE", 1)
    return config, data


def test_keys_beyond_the_listing_budget_are_confirmed_with_heads(crowded, s3) -> None:
    config, data = crowded
    heads = []
    s3.meta.events.register("before-call.s3.HeadObject", lambda **kw: heads.append(1))
    result = run_retention(config, s3, now=LATER)
    assert len(heads) == len(EXPIRED) + 1  # one per version: TWO_VERSIONS has two
    assert {r["outcome"] for r in manifest(s3, result)} == {"deleted"}
    assert_all_gone(s3, data)


def test_a_400_on_a_confirming_head_is_an_error_not_gone(crowded, s3, monkeypatch) -> None:
    config, data = crowded
    real = s3.head_object

    def bad_request(**kwargs):
        if "VersionId" in kwargs:
            raise ClientError({"Error": {"Code": "400", "Message": "Bad Request"}}, "HeadObject")
        return real(**kwargs)

    monkeypatch.setattr(s3, "head_object", bad_request)
    with pytest.raises(StorageError, match="cannot confirm the deletion"):
        run_retention(config, s3, now=LATER)
    assert len(unfinished_runs(s3, data)) == 1


class _CountingDict(dict):
    """engine's database cache, counting the databases stored (one per compile)."""

    stored = 0

    def __setitem__(self, key, value) -> None:
        type(self).stored += 1
        super().__setitem__(key, value)


def test_the_pool_compiles_the_redaction_database_once(fleet, s3, monkeypatch) -> None:
    """Every pool thread builds its own Redactor; the Hyperscan database (~0.7 s of CPU)
    is compiled once per process, not once per thread that starts at the same moment."""
    from tasks.retention import engine

    config, _data = fleet
    monkeypatch.setattr(engine, "_DATABASES", _CountingDict())
    monkeypatch.setattr(_CountingDict, "stored", 0)
    sections = config.sections | {
        "retention": config.sections["retention"] | {"s3_concurrency": 8},
        "redaction": {"key": "test-key-" + uuid.uuid4().hex},  # new per-thread Redactors
    }
    result = run_retention(config.model_copy(update={"sections": sections}), s3, now=LATER)
    assert result["summary"]["objects_deleted"] == len(EXPIRED)
    assert _CountingDict.stored == 1
