"""Object operations on a bare boto3 client: paginated listings (objects and versions),
whole reads under the not-found rule, and the conditional (optionally locked) put."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tasks.common.errors import StorageError

from .rules import error_code, is_not_found, is_precondition_failed

PAGE_SIZE = 1000


def iter_objects(
    client: Any, bucket: str, prefix: str = "", page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every object under a prefix, page by page (memory does not grow with the listing)."""
    paginator = client.get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
    )
    for page in pages:
        yield from page.get("Contents", [])


def get_bytes(client: Any, bucket: str, key: str) -> bytes:
    """The whole object; raises ClientError (use a Store's `read` for the not-found rule)."""
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def get_or_none(client: Any, bucket: str, key: str) -> bytes | None:
    """The whole object, or None when it is absent; any other failure is one StorageError."""
    try:
        return get_bytes(client, bucket, key)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise StorageError(f"s3://{bucket}/{key}: read failed ({error_code(exc)})") from None


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    is_delete_marker: bool
    last_modified: datetime | None


def iter_version_pages(
    client: Any, bucket: str, prefix: str, page_size: int = PAGE_SIZE
) -> Iterator[list[tuple[dict[str, Any], bool]]]:
    """Each page of a versions listing as (entry, is delete marker), grouped by key: a key's
    versions newest first (S3's order), then its delete markers."""
    paginator = client.get_paginator("list_object_versions")
    pages = paginator.paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
    )
    for page in pages:
        entries = [(v, False) for v in page.get("Versions", [])]
        entries += [(m, True) for m in page.get("DeleteMarkers", [])]
        entries.sort(key=lambda e: e[0]["Key"])  # stable: S3's order within a key stays
        yield entries


def iter_versions(
    client: Any, bucket: str, prefix: str, page_size: int = PAGE_SIZE
) -> Iterator[ObjectVersion]:
    """Every version and delete marker under prefix, page by page (see iter_version_pages)."""
    for page in iter_version_pages(client, bucket, prefix, page_size):
        for v, marker in page:
            yield ObjectVersion(v["Key"], v.get("VersionId", ""), marker, v.get("LastModified"))


def put_once(
    client: Any,
    bucket: str,
    key: str,
    data: bytes,
    retention_days: int | None,
    content_type: str,
) -> None:
    """Write with IfNoneMatch="*" and a SHA-256 checksum; COMPLIANCE retention when
    retention_days is given. A 412 ClientError propagates to the caller."""
    extra: dict[str, Any] = {}
    if retention_days is not None:
        extra["ObjectLockMode"] = "COMPLIANCE"
        extra["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=retention_days)
    client.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=content_type,
        IfNoneMatch="*",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
        ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
        **extra,
    )


def put_locked(
    client: Any,
    bucket: str,
    key: str,
    data: bytes,
    retention_days: int | None,
    content_type: str,
) -> bool:
    """Write once (see put_once). A 412 is success when the object already holds these exact
    bytes: that is our own earlier attempt (a retried PUT whose first response was lost, or a
    rerun). True when this call created the object, False when it was already there."""
    try:
        put_once(client, bucket, key, data, retention_days, content_type)
        return True
    except ClientError as exc:
        if not is_precondition_failed(exc):
            raise StorageError(f"s3://{bucket}/{key}: write failed ({error_code(exc)})") from None
    existing = get_or_none(client, bucket, key)
    if existing != data:
        raise StorageError(f"s3://{bucket}/{key}: already exists with different content")
    return False
