"""Object operations on a bare boto3 client: paginated listings (objects and versions) and
whole reads under the not-found rule (the conditional put is puts.py's)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tasks.common.errors import StorageError

from .rules import error_code, is_not_found

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
