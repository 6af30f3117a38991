"""log-retention's reads of one object version, through the one storage layer
(tasks/common/storage: S3Store.head / S3Store.open and its not-found rule), with the
Object Lock fields of the very response: the hold check takes the legal hold, the lock
mode and the retain-until date from the HEAD or GET it makes anyway (a second request per
version would double the job's requests).
"""

from __future__ import annotations

import contextlib
import shutil
from typing import Any, BinaryIO

from tasks.common.errors import StorageError
from tasks.common.storage import S3Store

CHUNK = 1024 * 1024


def _version(version_id: str) -> str | None:
    return None if version_id == "null" else version_id  # unversioned: the object itself


def head_version(client: Any, bucket: str, key: str, version_id: str) -> dict[str, Any] | None:
    """The hold fields (S3's names) of one version from one HEAD; None when it is gone (404,
    or 405: a delete marker); StorageError (one line) on any other answer."""
    head = S3Store(client, bucket).head(key, _version(version_id))
    if head is None:
        return None
    fields = {
        "ObjectLockLegalHoldStatus": head["legal_hold"],
        "ObjectLockMode": head["lock_mode"],
        "ObjectLockRetainUntilDate": head["retain_until"],
    }
    return {k: v for k, v in fields.items() if v is not None}


def open_version(
    client: Any, bucket: str, key: str, version_id: str
) -> tuple[BinaryIO, dict[str, Any]]:
    """A stream over one version (the caller closes it) and the hold fields of the same
    GET; StorageError (one line) when it cannot be opened, a version gone included."""
    store = S3Store(client, bucket)
    body = store.open(key, _version(version_id))
    meta = store.lock_info(key) or {}  # recorded from this GET's answer: no request
    fields = {k: meta[k] for k in ("ObjectLockLegalHoldStatus", "ObjectLockMode",
                                   "ObjectLockRetainUntilDate") if meta.get(k) is not None}  # fmt: skip
    return body, fields


def download(client: Any, bucket: str, key: str, spool: Any) -> bool:
    """The object into the spool (one GET); False when it is absent. Store.open fails the
    same way for every answer, so a failed open is looked up with Store.head: only its
    404 means absent; a 403/5xx stays an error."""
    store = S3Store(client, bucket)
    try:
        body = store.open(key)
    except StorageError:
        if store.head(key) is None:
            return False
        raise
    with contextlib.closing(body):
        shutil.copyfileobj(body, spool, CHUNK)
    return True
