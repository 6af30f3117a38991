"""The conditional put of a spooled file against moto over HTTP: single PUT and multipart,
write-once (IfNoneMatch) and Object Lock as for bytes, digests taken while writing."""

from __future__ import annotations

import hashlib
import os

import pytest

from tasks.common.errors import StorageError
from tasks.common.storage import SpooledFile, put_locked
from tasks.common.storage.puts import FileSlice

MB = 1024 * 1024


def spool(data: bytes) -> SpooledFile:
    f, fh = SpooledFile.create()
    with fh:
        for i in range(0, len(data), 100_000):  # many writes: the digest follows them all
            fh.write(data[i : i + 100_000])
    return f


def test_digests_are_taken_while_writing(tmp_path):
    data = os.urandom(3 * MB + 17)
    f = spool(data)
    assert f._sha256 == hashlib.sha256(data).digest()  # recorded at close, not recomputed
    assert f.sha256() == hashlib.sha256(data).hexdigest()
    assert f.digests()[1] == hashlib.md5(data).digest()


@pytest.mark.parametrize("multipart", [False, True], ids=["single-put", "multipart"])
def test_spooled_put_is_write_once_and_locked(s3, buckets, multipart):
    bucket = buckets.reports_bucket
    data = os.urandom(12 * MB + 5)
    sizes = {"multipart_threshold": 5 * MB, "part_size": 5 * MB} if multipart else {}
    body = spool(data)
    assert put_locked(s3, bucket, "r/ledger.csv", body, 1, "text/csv", **sizes) is True
    got = s3.get_object(Bucket=bucket, Key="r/ledger.csv")
    assert got["Body"].read() == data
    assert got["ObjectLockMode"] == "COMPLIANCE"
    if multipart:
        assert "-3" in got["ETag"]  # three parts: 5 + 5 + 2 MB
    # the same bytes again (a rerun): found there, streamed and compared, not written
    assert put_locked(s3, bucket, "r/ledger.csv", spool(data), 1, "text/csv", **sizes) is False
    other = bytearray(data)
    other[-1] ^= 1
    with pytest.raises(StorageError, match="already exists with different content"):
        put_locked(s3, bucket, "r/ledger.csv", spool(bytes(other)), 1, "text/csv", **sizes)
    versions = s3.list_object_versions(Bucket=bucket, Prefix="r/")["Versions"]
    assert len(versions) == 1  # neither attempt left a second version
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # none left open


def test_spooled_and_bytes_puts_agree(s3, buckets):
    bucket = buckets.reports_bucket
    data = b"id,kind\n1,file_write\n"
    assert put_locked(s3, bucket, "a.csv", data, None, "text/csv")
    assert put_locked(s3, bucket, "a.csv", spool(data), None, "text/csv") is False
    assert put_locked(s3, bucket, "empty.csv", spool(b""), None, "text/csv")
    assert s3.get_object(Bucket=bucket, Key="empty.csv")["Body"].read() == b""


def test_file_slice_reads_its_range_and_rewinds(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 4)
    with path.open("rb") as fh:
        piece = FileSlice(fh, 250, 20)
        assert len(piece) == 20 and piece.read(5) == bytes(range(250, 255))
        assert piece.read() == bytes([255]) + bytes(range(14))
        assert piece.read() == b"" and len(piece) == 0
        piece.seek(0)
        assert len(piece) == 20
