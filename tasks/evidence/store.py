"""Evidence-specific storage policy: the reports tree's roots and the Object Lock gate.

Reading, listing, versions and conditional puts are tasks/common/storage.py's (the one
storage layer); the names re-exported below keep tests/security's imports unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from tasks.common.errors import StorageError
from tasks.common.storage import LocalStore, S3Store, Store, error_code, put_locked, put_once

__all__ = ["KEYS", "ROOT", "LocalStore", "S3Store", "Store", "put_locked", "put_once"]

ROOT = "reports/"
KEYS = "keys/"

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


def server_now(response: dict[str, Any]) -> datetime:
    """The server's clock from a response's Date header (lease decisions avoid client skew)."""
    from email.utils import parsedate_to_datetime

    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    return parsedate_to_datetime(date).astimezone(UTC) if date else datetime.now(UTC)
