"""Storage access for bundles: locked, never-overwriting puts, and one read interface over
an S3 bucket or a downloaded folder (same relative keys), so the verifier runs on both.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tasks.common.errors import StorageError
from tasks.common.s3 import iter_objects

from .dsse import sha256_hex

ROOT = "reports/"
KEYS = "keys/"


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def is_precondition_failed(exc: ClientError) -> bool:
    return http_status(exc) == 412 or error_code(exc) in {"PreconditionFailed", "412"}


def is_not_found(exc: ClientError) -> bool:
    return http_status(exc) == 404 or error_code(exc) in {"NoSuchKey", "404", "NotFound"}


_LOCKED: set[tuple[str, str]] = set()


def require_object_lock(client: Any, bucket: str) -> None:
    """Refuse (one line) to write reports into a bucket without Object Lock.

    Object Lock can never be turned off again, so a positive answer is cached per endpoint.
    """
    where = (str(client.meta.endpoint_url), bucket)
    if where in _LOCKED:
        return
    try:
        cfg = client.get_object_lock_configuration(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            raise StorageError(f"s3://{bucket}: reports bucket does not exist") from None
        raise StorageError(
            f"s3://{bucket}: Object Lock is not enabled; refusing to write reports"
        ) from None
    if cfg.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
        raise StorageError(f"s3://{bucket}: Object Lock is not enabled; refusing to write reports")
    _LOCKED.add(where)


def put_locked(
    client: Any, bucket: str, key: str, data: bytes, retention_days: int, content_type: str
) -> bool:
    """Write once with IfNoneMatch, SHA-256 checksum and COMPLIANCE retention.

    A 412 is success when the object already holds these exact bytes: that is our own
    earlier attempt (a retried PUT whose first response was lost, or a rerun).
    Returns True when this call created the object, False when it was already there.
    """
    try:
        put_once(client, bucket, key, data, retention_days, content_type)
        return True
    except ClientError as exc:
        if not is_precondition_failed(exc):
            raise StorageError(f"s3://{bucket}/{key}: write failed ({error_code(exc)})") from None
        existing = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        if existing != data:
            raise StorageError(
                f"s3://{bucket}/{key}: already exists with different content"
            ) from None
    return False


def server_now(response: dict[str, Any]) -> datetime:
    """The server's clock from a response's Date header (lease decisions avoid client skew)."""
    from email.utils import parsedate_to_datetime

    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    return parsedate_to_datetime(date).astimezone(UTC) if date else datetime.now(UTC)


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    is_delete_marker: bool
    last_modified: datetime | None


LOCK_FIELDS = ("ObjectLockMode", "ObjectLockRetainUntilDate", "LastModified")


class Store:
    """Read-only view of a reports tree, keyed by the bucket-relative object key."""

    online = False
    label = ""

    def keys(self, prefix: str) -> Iterator[str]:
        raise NotImplementedError

    def read(self, key: str) -> bytes | None:
        raise NotImplementedError

    def uri(self, key: str) -> str:
        return f"{self.label}{key}"


class LocalStore(Store):
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.label = f"{self.root}/"

    def keys(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix
        start = base if base.is_dir() else base.parent
        if not start.is_dir():
            return
        for p in sorted(start.rglob("*")):
            if p.is_file():
                rel = p.relative_to(self.root).as_posix()
                if rel.startswith(prefix):
                    yield rel

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


class S3Store(Store):
    online = True

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket
        self.label = f"s3://{bucket}/"
        self._meta: dict[str, dict[str, Any]] = {}  # lock headers seen on GET (saves a HEAD)
        # key -> its first version, once a versions listing saw it: reads are pinned there,
        # so a later version (or delete marker) over a committed object changes nothing
        # read; the verifier's `versions` check reports it.
        self._first: dict[str, str] = {}

    def keys(self, prefix: str) -> Iterator[str]:
        for obj in iter_objects(self.client, self.bucket, prefix):
            yield obj["Key"]

    def read(self, key: str, limit: int | None = None) -> bytes | None:
        """The object (at its first version once a listing saw it); with `limit`, at most
        limit+1 bytes through a ranged GET, so a huge object is never read whole."""
        pinned = self._first.get(key)
        extra: dict[str, Any] = {"VersionId": pinned} if pinned else {}
        if limit is not None:
            extra["Range"] = f"bytes=0-{limit}"
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            if limit is not None and error_code(exc) == "InvalidRange":  # an empty object
                return b""
            raise StorageError(
                f"s3://{self.bucket}/{key}: read failed ({error_code(exc)})"
            ) from None
        self._meta[key] = {k: resp.get(k) for k in LOCK_FIELDS}  # spares online checks a HEAD
        body = resp["Body"]
        try:
            return body.read() if limit is None else body.read(limit + 1)
        finally:
            body.close()

    def versions(self, prefix: str) -> dict[str, list[ObjectVersion]]:
        """Every version and delete marker under prefix, newest first per key."""
        out: dict[str, list[ObjectVersion]] = {}
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
                for v in page.get(kind, []):
                    out.setdefault(v["Key"], []).append(
                        ObjectVersion(
                            v["Key"], v.get("VersionId", ""), marker, v.get("LastModified")
                        )
                    )
                    if not marker and v.get("VersionId") not in (None, "", "null"):
                        self._first[v["Key"]] = v["VersionId"]  # S3 lists newest first
        return out

    def lock_info(self, key: str) -> dict[str, Any] | None:
        # GET/HEAD carry ObjectLockMode/RetainUntilDate (moto answers 500 on GetObjectRetention)
        if key in self._meta:
            return self._meta[key]
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if is_not_found(exc) or http_status(exc) == 405:
                return None
            raise StorageError(
                f"s3://{self.bucket}/{key}: head failed ({error_code(exc)})"
            ) from None


def local_digest(data: bytes) -> str:
    return sha256_hex(data)


def put_once(
    client: Any, bucket: str, key: str, data: bytes, retention_days: int, content_type: str
) -> None:
    """Locked write with IfNoneMatch="*"; a 412 ClientError propagates to the caller."""
    until = datetime.now(UTC) + timedelta(days=retention_days)
    client.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        IfNoneMatch="*",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
        ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )
