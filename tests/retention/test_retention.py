"""Planner and deleter over real S3 HTTP (moto server): holds, Object Lock, crash + rerun."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from botocore.exceptions import ClientError

from tasks.common.s3 import s3_client
from tasks.common.settings import AppConfig
from tasks.common.storage import get_bytes
from tasks.retention import job as retention_job
from tasks.retention.config import parse_retention
from tasks.retention.deleter import unfinished_runs
from tasks.retention.planner import plan_prefix
from tasks.retention.runner import run_retention
from tests.retention.crash import SimulatedCrash

SECRETS = {
    "ann": "ghp_" + "Ann1" * 9,
    "bob": "sk_live_" + "Bob2" * 6,
    "cat": "AKIA" + "CATCATCAT2345672",
    "dan": "jane.q.public@corp-mail.io",
}
LATER = datetime.now(UTC) + timedelta(days=40)  # raw (30 d) expired, redacted (365 d) young


def task_key(user: str, task: str, name: str) -> str:
    return f"raw/roo/{user}/tasks/{task}/{name}"


@pytest.fixture
def env(buckets, s3, tmp_path):
    """An Object-Lock (versioned) data bucket with four users' task logs; a signing key."""
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    data = f"lockdata-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=data, ObjectLockEnabledForBucket=True)
    priv, pub, _ = generate_key_files(tmp_path / "keys")
    settings = buckets.model_copy(update={"signing_key": str(priv), "data_bucket": data})
    ensure_buckets(s3_client(settings), settings, public_key_pem=pub.read_bytes())
    objects = {}
    for user, secret in SECRETS.items():
        task = f"task-{user}"
        ui = orjson.dumps([{"ts": 1, "type": "say", "say": "text", "text": f"use {secret} now"}])
        objects[task_key(user, task, "ui_messages.json")] = ui
        objects[task_key(user, task, "command-output/cmd-1.txt")] = f"$ env\nX={secret}\n".encode()
    for key, body in objects.items():
        s3.put_object(Bucket=data, Key=key, Body=body)
    # a second version of ann's ui file: every version must go
    s3.put_object(Bucket=data, Key=task_key("ann", "task-ann", "ui_messages.json"), Body=objects[task_key("ann", "task-ann", "ui_messages.json")] + b" ")  # fmt: skip
    # S3 legal hold on cat's command output; Object Lock retention on dan's
    s3.put_object_legal_hold(Bucket=data, Key=task_key("cat", "task-cat", "command-output/cmd-1.txt"), LegalHold={"Status": "ON"})  # fmt: skip
    s3.put_object(Bucket=data, Key=task_key("dan", "task-dan", "command-output/cmd-1.txt"), Body=objects[task_key("dan", "task-dan", "command-output/cmd-1.txt")], ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=400), ChecksumAlgorithm="SHA256")  # fmt: skip
    sections = {
        "retention": {"raw_days": 30, "redacted_days": 365, "legal_holds": {"users": ["bob"], "matters": {"M-7": ["task-zed"]}}},
        "redaction": {"key": "test-key"},
    }  # fmt: skip
    config = AppConfig(storage=settings, sections=sections, source="test.yaml")
    return config, data


def versions_of(s3, bucket: str, key: str) -> list[dict]:
    resp = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in resp.get("Versions", []) + resp.get("DeleteMarkers", []) if v["Key"] == key]


def bundle_files(s3, result: dict) -> dict[str, bytes]:
    uri = result["bundle"]
    bucket, _, key = uri[5:].partition("/")
    prefix = key.rsplit("/", 1)[0] + "/"
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    return {o["Key"][len(prefix) :]: get_bytes(s3, bucket, o["Key"]) for o in listing}


EXPIRED = [
    task_key("ann", "task-ann", "ui_messages.json"),
    task_key("ann", "task-ann", "command-output/cmd-1.txt"),
    task_key("cat", "task-cat", "ui_messages.json"),
    task_key("dan", "task-dan", "ui_messages.json"),
]
KEPT = {
    task_key("bob", "task-bob", "ui_messages.json"): "legal_hold:config:user:bob",
    task_key("bob", "task-bob", "command-output/cmd-1.txt"): "legal_hold:config:user:bob",
    task_key("cat", "task-cat", "command-output/cmd-1.txt"): "legal_hold:s3",
    task_key("dan", "task-dan", "command-output/cmd-1.txt"): "object_lock:GOVERNANCE",
}


def assert_end_state(s3, data: str) -> None:
    for key in EXPIRED:
        assert versions_of(s3, data, key) == [], key
        with pytest.raises(ClientError):
            s3.head_object(Bucket=data, Key=key)
        copy = get_bytes(s3, data, key.replace("raw/", "redacted/", 1))
        assert b"[REDACTED:" in copy and not any(v.encode() in copy for v in SECRETS.values())
    for key in KEPT:
        assert versions_of(s3, data, key), key


def test_plan_young_and_held(env, s3) -> None:
    config, data = env
    cfg = parse_retention(config.sections["retention"])
    young = plan_prefix(s3, data, "raw/roo/", cfg, datetime.now(UTC) + timedelta(days=5))
    assert {i.reason for i in young} == {"young"} and len(young) == 8
    later = {i.key: i for i in plan_prefix(s3, data, "raw/roo/", cfg, LATER)}
    assert sorted(k for k, i in later.items() if i.decision == "delete") == sorted(EXPIRED)
    for key, reason in KEPT.items():
        assert later[key].decision == "keep" and later[key].reason.startswith(reason)
    assert len(later[EXPIRED[0]].versions) == 2


def test_dry_run_deletes_nothing_and_prints_the_plan(env, s3, caplog) -> None:
    config, data = env
    caplog.set_level("INFO")
    result = run_retention(config, s3, dry_run=True, now=LATER)
    assert result["bundle"] is None
    assert sum(p["decision"] == "delete" for p in result["plan"]) == 4
    assert "would delete raw/roo/ann/tasks/task-ann/ui_messages.json" in caplog.text
    assert "keep raw/roo/cat/tasks/task-cat/command-output/cmd-1.txt: legal_hold:s3" in caplog.text
    for key in EXPIRED + list(KEPT):
        assert versions_of(s3, data, key)
    assert unfinished_runs(s3, data) == []


def test_apply_deletes_every_version_after_a_clean_redacted_copy(env, s3, caplog) -> None:
    config, data = env
    sha = {k: hashlib.sha256(get_bytes(s3, data, k)).hexdigest() for k in EXPIRED}
    result = run_retention(config, s3, now=LATER)
    assert_end_state(s3, data)
    summary = result["summary"]
    assert summary["objects_deleted"] == 4 and summary["versions_deleted"] == 5
    assert summary["redacted_copies_created"] == 4 and summary["legal_holds"] == 3
    files = bundle_files(s3, result)
    assert {"manifest.jsonl", "manifest.csv", "report.json", "report.html", "attestation.dsse.json"} <= set(files)  # fmt: skip
    rows = [json.loads(line) for line in files["manifest.jsonl"].splitlines()]
    assert len(rows) == 5 and {r["outcome"] for r in rows} == {"deleted"}
    for r in rows:
        assert set(r) >= {"bucket", "key", "version_id", "sha256", "size", "last_modified", "rule", "hold_check", "deleted_at"}  # fmt: skip
        assert r["bucket"] == data and r["rule"] == "retention.raw_days=30"
    newest = {r["key"]: r for r in rows}  # the newest version is listed last per key
    for key in EXPIRED[1:]:
        assert newest[key]["sha256"] == sha[key]
    everything = b"".join(files.values()).decode(errors="replace") + caplog.text
    assert not any(v in everything for v in SECRETS.values())
    assert unfinished_runs(s3, data) == []
    again = run_retention(config, s3, now=LATER)  # idempotent: nothing more to do
    assert again["summary"]["versions_deleted"] == 0


@pytest.fixture
def small_batches(monkeypatch):
    """Two objects per DeleteObjects batch, so a crash can fall between batches."""
    import tasks.retention.deleter as deleter

    monkeypatch.setattr(deleter, "DELETE_BATCH", 2)


@pytest.mark.parametrize("crash_after", [1, 3])
def test_crash_halfway_through_deletions_then_rerun(
    env, s3, small_batches, crash_after: int
) -> None:
    config, data = env

    def crash(n: int) -> None:
        if n >= crash_after:
            raise SimulatedCrash(f"after {n} deletions")

    with pytest.raises(SimulatedCrash):
        run_retention(config, s3, now=LATER, on_delete=crash)
    assert len(unfinished_runs(s3, data)) == 1
    survivors = [k for k in EXPIRED if versions_of(s3, data, k)]
    assert 0 < len(survivors) < len(EXPIRED)  # the crash fell between batches
    for key in KEPT:
        assert versions_of(s3, data, key)
    result = run_retention(config, s3, now=LATER)
    assert_end_state(s3, data)
    assert result["summary"]["resumed_runs"] == 1
    rows = [json.loads(x) for x in bundle_files(s3, result)["manifest.jsonl"].splitlines()]
    deleted = {(r["key"], r["version_id"]) for r in rows if r["outcome"] == "deleted"}
    assert len(deleted) == 5 and {r["key"] for r in rows} == set(EXPIRED)
    assert all(r["sha256"] or r["delete_marker"] for r in rows)
    assert unfinished_runs(s3, data) == []


def test_crash_between_redaction_and_deletion_then_rerun(env, s3, monkeypatch) -> None:
    config, data = env

    def boom(*_a, **_k):
        raise SimulatedCrash("before journal")

    with monkeypatch.context() as m:
        m.setattr(retention_job, "write_journal", boom)
        with pytest.raises(SimulatedCrash):
            run_retention(config, s3, now=LATER)
    for key in EXPIRED:  # redacted copies written, nothing deleted yet
        assert versions_of(s3, data, key)
        assert get_bytes(s3, data, key.replace("raw/", "redacted/", 1))
    result = run_retention(config, s3, now=LATER)
    assert result["summary"]["redacted_copies_created"] == 0
    assert_end_state(s3, data)


def test_hold_placed_after_a_crash_is_respected_on_rerun(env, s3, small_batches) -> None:
    config, data = env

    def crash(n: int) -> None:
        raise SimulatedCrash("first delete")

    with pytest.raises(SimulatedCrash):
        run_retention(config, s3, now=LATER, on_delete=crash)
    survivors = [k for k in EXPIRED if versions_of(s3, data, k)]
    held = survivors[-1]
    s3.put_object_legal_hold(Bucket=data, Key=held, LegalHold={"Status": "ON"})
    result = run_retention(config, s3, now=LATER)
    assert versions_of(s3, data, held)
    rows = [json.loads(x) for x in bundle_files(s3, result)["manifest.jsonl"].splitlines()]
    kept = [r for r in rows if r["key"] == held]
    assert kept and {r["outcome"] for r in kept} == {"kept"}
    assert kept[0]["hold_check"] == "legal_hold:s3"


def test_unclean_redacted_copy_blocks_deletion(env, s3) -> None:
    config, data = env
    key = EXPIRED[0]
    # a pre-existing "redacted" copy that still holds the secret
    s3.put_object(Bucket=data, Key=key.replace("raw/", "redacted/", 1), Body=f"left {SECRETS['ann']}".encode())  # fmt: skip
    result = run_retention(config, s3, now=LATER)
    assert versions_of(s3, data, key)
    assert result["status"] == "fail" and result["summary"]["redaction_problems"] == 1


def test_data_classes_and_config_holds() -> None:
    from tasks.retention.planner import config_hold, data_class_of, redacted_key, user_and_task

    assert data_class_of("raw/roo/ann/tasks/t1/ui_messages.json") == "raw"
    assert data_class_of("raw/roo/ann/settings/mcp_settings.json") is None  # not a task log
    assert data_class_of("redacted/roo/ann/tasks/t1/x.txt") == "redacted"
    assert data_class_of("quarantine/date=2026-11-01/r.jsonl") == "quarantine"
    assert data_class_of("validated/tasks/date=2026-11-01/r.parquet") is None
    assert user_and_task("raw/roo/ann/tasks/t1/command-output/c.txt") == ("ann", "t1")
    assert redacted_key("raw/roo/ann/tasks/t1/a.json") == "redacted/roo/ann/tasks/t1/a.json"
    cfg = parse_retention({"legal_holds": {"tasks": ["t9"], "matters": {"M-1": ["bob", "t7"]}}})
    assert config_hold(cfg, "ann", "t9") == "legal_hold:config:task:t9"
    assert config_hold(cfg, "bob", "t1") == "legal_hold:config:matter:M-1"
    assert config_hold(cfg, "cat", "t7") == "legal_hold:config:matter:M-1"
    assert config_hold(cfg, "cat", "t1") is None


def test_redacted_and_quarantine_classes_follow_their_own_days(buckets, s3) -> None:
    data = buckets.data_bucket  # unversioned bucket: version id "null"
    s3.put_object(Bucket=data, Key="redacted/roo/ann/tasks/t1/ui_messages.json", Body=b"[]")
    s3.put_object(Bucket=data, Key="quarantine/date=2026-10-01/r.jsonl", Body=b"{}\n")
    keep = parse_retention({"redacted_days": 365, "quarantine_days": 90})
    drop = parse_retention({"redacted_days": 30, "quarantine_days": 30})
    for prefix in ("redacted/roo/ann/", "quarantine/"):
        (young,) = plan_prefix(s3, data, prefix, keep, LATER)
        (old,) = plan_prefix(s3, data, prefix, drop, LATER)
        assert young.reason == "young" and old.decision == "delete"
        assert old.versions[0].version_id == "null"


def test_a_listed_copy_that_is_gone_is_made_again_and_the_raw_version_hashed(env, s3) -> None:
    from tasks.retention.engine import thread_redactor
    from tasks.retention.job import load_sections
    from tasks.retention.planner import redacted_key
    from tasks.retention.prepare import prepare_raw

    config, data = env
    ret, red_cfg, key = load_sections(config)
    item = next(i for i in plan_prefix(s3, data, "raw/roo/", ret, LATER) if i.key == EXPIRED[1])
    target = redacted_key(item.key)
    assert not versions_of(s3, data, target)
    problem, created = prepare_raw(s3, item, thread_redactor(red_cfg, key), copies={target})
    assert (problem, created) == (None, True)
    copy = get_bytes(s3, data, target)
    assert copy and not any(v.encode() in copy for v in SECRETS.values())
    newest = max(item.versions, key=lambda v: v.last_modified)
    assert newest.sha256 == hashlib.sha256(get_bytes(s3, data, item.key)).hexdigest()
