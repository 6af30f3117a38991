"""The conditional, optionally locked, put of bytes or of a spooled file.

A spooled file is never read whole: its SHA-256 and MD5 were computed while it was
written, a single PUT streams it from disk, and a body of `MULTIPART_THRESHOLD` bytes or
more (S3 refuses a single PUT over 5 GB) goes up in parts, each a ranged view of the file,
with IfNoneMatch on the completion — the same write-once rule as a single PUT.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from botocore.exceptions import ClientError

from tasks.common.errors import StorageError

from .rules import error_code, is_not_found, is_precondition_failed
from .spool import SpooledFile

Body = bytes | bytearray | SpooledFile
MULTIPART_THRESHOLD = 4 * 1024**3  # under S3's 5 GB single-PUT limit
PART_SIZE = 256 * 1024**2  # 10,000 parts (S3's maximum) of this: 2.5 TB
COMPARE_CHUNK = 1 << 20


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def body_digests(data: Body) -> tuple[bytes, bytes]:
    """(SHA-256, MD5) of a body; a spooled file's were computed while it was written."""
    if isinstance(data, SpooledFile):
        return data.digests()
    return hashlib.sha256(data).digest(), hashlib.md5(data).digest()


def body_sha256(data: Body) -> str:
    return body_digests(data)[0].hex()


def _lock(retention_days: int | None) -> dict[str, Any]:
    if retention_days is None:
        return {}
    return {
        "ObjectLockMode": "COMPLIANCE",
        "ObjectLockRetainUntilDate": datetime.now(UTC) + timedelta(days=retention_days),
    }


@contextlib.contextmanager
def _sent(data: Body | IO[bytes]) -> Iterator[Any]:
    """What a PUT sends: bytes as they are, a spooled file opened from disk (closed after),
    a caller's open file as it is (the caller closes it)."""
    if isinstance(data, SpooledFile):
        with data.open() as fh:
            yield fh
    elif isinstance(data, (bytes, bytearray)):
        yield bytes(data)
    else:
        yield data


def put_once(
    client: Any,
    bucket: str,
    key: str,
    data: Body,
    retention_days: int | None,
    content_type: str,
    *,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> None:
    """Write with IfNoneMatch="*" and a SHA-256 checksum; COMPLIANCE retention when
    retention_days is given. A 412 ClientError propagates to the caller."""
    if isinstance(data, SpooledFile) and len(data) >= multipart_threshold:
        _put_parts(client, bucket, key, data, retention_days, content_type, part_size)
        return
    sha, md5 = body_digests(data)
    with _sent(data) as body:
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            IfNoneMatch="*",
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=_b64(sha),
            ContentMD5=_b64(md5),
            **_lock(retention_days),
        )


def put_object(
    client: Any,
    bucket: str,
    key: str,
    data: Body | IO[bytes],
    content_type: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """The plain put (state files, derived tables: a rerun replaces them) with a SHA-256
    checksum; a spooled or open file is streamed from disk (botocore hashes an open file as
    it sends it). Any failure is one StorageError naming the key. `extra`: further PutObject
    arguments (metadata). Returns S3's answer."""
    checksum: dict[str, str] = {}
    if isinstance(data, (bytes, bytearray, SpooledFile)):
        checksum["ChecksumSHA256"] = _b64(body_digests(data)[0])
    try:
        with _sent(data) as body:
            return client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=content_type or "application/octet-stream",
                ChecksumAlgorithm="SHA256",
                **checksum,
                **extra,
            )
    except ClientError as exc:
        raise StorageError(f"s3://{bucket}/{key}: write failed ({error_code(exc)})") from None
    except Exception as exc:  # connection errors and friends; keep the message one line
        raise StorageError(f"s3://{bucket}/{key}: write failed ({type(exc).__name__})") from None


def _put_parts(
    client: Any,
    bucket: str,
    key: str,
    data: SpooledFile,
    retention_days: int | None,
    content_type: str,
    part_size: int,
) -> None:
    """A multipart upload, each part checksummed (SHA-256, MD5) by one read of its range
    and sent from a second; aborted on any failure, so no part is left behind."""
    lock = _lock(retention_days)
    upload = client.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256", **lock
    )["UploadId"]
    try:
        parts = []
        size = len(data)
        with data.open() as fh:
            for number, start in enumerate(range(0, size, part_size), 1):
                piece = FileSlice(fh, start, min(part_size, size - start))
                sha, md5 = piece.digests()
                resp = client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload,
                    PartNumber=number,
                    Body=piece,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=_b64(sha),
                    ContentMD5=_b64(md5),
                )
                parts.append({"PartNumber": number, "ETag": resp["ETag"],
                              "ChecksumSHA256": _b64(sha)})  # fmt: skip
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )
    except BaseException:
        # the bucket's lifecycle rule for incomplete uploads is the backstop
        with contextlib.suppress(ClientError):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise
    if lock:  # the same retention again: S3 set it at creation; moto drops it on multipart
        client.put_object_retention(
            Bucket=bucket,
            Key=key,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": lock["ObjectLockRetainUntilDate"]},
        )


class FileSlice(io.RawIOBase):
    """Bytes [start, start+length) of an open file as a seekable stream (a part's body);
    botocore takes its length from len() and rewinds it to retry."""

    def __init__(self, fh: IO[bytes], start: int, length: int) -> None:
        self._fh, self._start, self._length, self._pos = fh, start, length, 0

    def __len__(self) -> int:
        return self._length - self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + offset))
        return self._pos

    def read(self, size: int = -1) -> bytes:
        left = self._length - self._pos
        size = left if size is None or size < 0 else min(size, left)
        if size <= 0:
            return b""
        self._fh.seek(self._start + self._pos)
        block = self._fh.read(size)
        self._pos += len(block)
        return block

    def readinto(self, buffer: Any) -> int:
        block = self.read(len(buffer))
        buffer[: len(block)] = block
        return len(block)

    def digests(self) -> tuple[bytes, bytes]:
        sha, md5 = hashlib.sha256(), hashlib.md5()
        self.seek(0)
        while block := self.read(COMPARE_CHUNK):
            sha.update(block)
            md5.update(block)
        self.seek(0)
        return sha.digest(), md5.digest()


def same_content(client: Any, bucket: str, key: str, data: Body) -> bool | None:
    """Whether the object holds exactly `data` (streamed and hashed, never held whole);
    None when it is absent."""
    try:
        resp = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise StorageError(f"s3://{bucket}/{key}: read failed ({error_code(exc)})") from None
    body = resp["Body"]
    try:
        if resp.get("ContentLength") not in (None, len(data)):
            return False
        sha = hashlib.sha256()
        for block in body.iter_chunks(COMPARE_CHUNK):
            sha.update(block)
    finally:
        body.close()
    return sha.digest() == body_digests(data)[0]


def put_locked(
    client: Any,
    bucket: str,
    key: str,
    data: Body,
    retention_days: int | None,
    content_type: str,
    **multipart: int,
) -> bool:
    """Write once (see put_once). A 412 is success when the object already holds these exact
    bytes: that is our own earlier attempt (a retried PUT whose first response was lost, or a
    rerun). True when this call created the object, False when it was already there."""
    try:
        put_once(client, bucket, key, data, retention_days, content_type, **multipart)
        return True
    except ClientError as exc:
        if not is_precondition_failed(exc):
            raise StorageError(f"s3://{bucket}/{key}: write failed ({error_code(exc)})") from None
    if not same_content(client, bucket, key, data):
        raise StorageError(f"s3://{bucket}/{key}: already exists with different content")
    return False
