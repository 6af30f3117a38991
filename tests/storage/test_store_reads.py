"""The Store read API other jobs use: read at a version, head with the lock fields, a
streamed digest, ranged/capped reads — on S3 (moto over HTTP) and on a local folder."""

from __future__ import annotations

import hashlib
import os

import pytest

from tasks.common.errors import StorageError
from tasks.common.storage import LocalStore, S3Store, Store, put_locked


@pytest.fixture
def versioned(s3, buckets):
    """reports bucket (Object Lock, so versioned): k has two versions, locked holds one."""
    bucket = buckets.reports_bucket
    v1 = s3.put_object(Bucket=bucket, Key="p/k", Body=b"first")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="p/k", Body=b"second!")["VersionId"]
    put_locked(s3, bucket, "p/locked.json", b"{}", 1, "application/json")
    return S3Store(s3, bucket, "p"), v1, v2


def test_s3_head_gives_size_version_and_lock(versioned):
    store, v1, v2 = versioned
    head = store.head("k")
    assert (head["size"], head["version_id"]) == (7, v2)
    assert store.head("k", version_id=v1)["size"] == 5
    locked = store.head("locked.json")
    assert locked["lock_mode"] == "COMPLIANCE" and locked["retain_until"] > locked["last_modified"]
    assert store.head("absent") is None


def test_s3_read_open_and_digest_at_a_version(versioned):
    store, v1, _v2 = versioned
    assert store.read("k", version_id=v1) == b"first"
    assert store.read("k", limit=2) == b"sec"  # a ranged GET of limit+1 bytes
    with store.open("k", version_id=v1) as fh:
        assert fh.read() == b"first"
    assert store.digest("k") == (hashlib.sha256(b"second!").hexdigest(), 7)
    assert store.digest("k", version_id=v1) == (hashlib.sha256(b"first").hexdigest(), 5)
    assert store.digest("absent") is None
    with pytest.raises(StorageError, match="open failed") as exc:
        store.open("absent")
    assert "\n" not in str(exc.value)


def test_local_head_digest_and_symlinks(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.bin").write_bytes(b"x" * 3_000_000)
    (tmp_path / "outside").write_bytes(b"secret")
    os.symlink(tmp_path / "outside", tmp_path / "d" / "link")
    store = LocalStore(tmp_path / "d")
    assert store.head("f.bin")["size"] == 3_000_000
    assert store.digest("f.bin") == (hashlib.sha256(b"x" * 3_000_000).hexdigest(), 3_000_000)
    assert store.head("link") is None and store.digest("link") is None  # never followed
    assert store.head("nope") is None and store.digest("nope") is None


def test_a_store_that_only_reads_is_hashed_through_read():
    class Mem(Store):
        def read(self, key, limit=None, version_id=None):
            return {"a": b"abc"}.get(key)

    assert Mem().digest("a") == (hashlib.sha256(b"abc").hexdigest(), 3)
    assert Mem().digest("b") is None
