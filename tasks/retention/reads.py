"""log-retention's reads of one object version, through the one storage layer
(tasks/common/storage: S3Store.head / S3Store.open and its not-found rule), with the
Object Lock fields of the very response.

The hold check needs the legal hold, the lock mode and the retain-until date from the HEAD
or GET it makes anyway (a second request per version would double the job's requests).
Store.head gives mode and retain-until but not the legal hold; Store.open gives the stream,
not the response's headers. botocore's `after-call` event hands them over: the fields of
the parsed response are kept for the calling thread (the event fires in the thread that
made the call, before the call returns), taken right after the Store call, and a read
whose fields were not seen is an error, never "no hold".
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from typing import Any, BinaryIO

from tasks.common.errors import StorageError
from tasks.common.storage import S3Store

HOLD_FIELDS = ("ObjectLockLegalHoldStatus", "ObjectLockMode", "ObjectLockRetainUntilDate")
CHUNK = 1024 * 1024
_seen = threading.local()


def _keep_hold_fields(parsed: dict[str, Any] | None = None, **_kwargs: Any) -> None:
    ok = parsed is not None and "Error" not in parsed
    _seen.fields = {k: parsed[k] for k in HOLD_FIELDS if k in parsed} if ok else None


def _watching(client: Any) -> Any:
    """`client` with the hold fields of its GetObject/HeadObject responses kept (once per
    client: botocore ignores a second registration under the same unique_id)."""
    for op in ("GetObject", "HeadObject"):
        client.meta.events.register(
            f"after-call.s3.{op}", _keep_hold_fields, unique_id=f"retention-hold-fields-{op}"
        )
    _seen.fields = None
    return client


def _fields_seen(bucket: str, key: str) -> dict[str, Any]:
    fields, _seen.fields = getattr(_seen, "fields", None), None
    if fields is None:
        raise StorageError(f"s3://{bucket}/{key}: the response's Object Lock fields were not seen")
    return fields


def _version(version_id: str) -> str | None:
    return None if version_id == "null" else version_id  # unversioned: the object itself


def head_version(client: Any, bucket: str, key: str, version_id: str) -> dict[str, Any] | None:
    """The hold fields of one version from one HEAD; None when it is gone (404, or 405: a
    delete marker); StorageError (one line) on any other answer."""
    head = S3Store(_watching(client), bucket).head(key, _version(version_id))
    return None if head is None else _fields_seen(bucket, key)


def open_version(
    client: Any, bucket: str, key: str, version_id: str
) -> tuple[BinaryIO, dict[str, Any]]:
    """A stream over one version (the caller closes it) and the hold fields of the same
    GET; StorageError (one line) when it cannot be opened, a version gone included."""
    body = S3Store(_watching(client), bucket).open(key, _version(version_id))
    try:
        return body, _fields_seen(bucket, key)
    except StorageError:
        body.close()
        raise


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
