"""`compliance storage init`: the data bucket, the Object-Lock reports bucket, the public key."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tasks.common.errors import ConfigError, StorageError
from tasks.common.settings import StorageSettings
from tasks.common.storage import error_code, is_bucket_missing, put_locked

from .signer import fingerprint, load_public_key
from .store import KEYS, require_object_lock


def _exists(client: Any, bucket: str) -> bool:
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if is_bucket_missing(exc):
            return False
        raise StorageError(f"s3://{bucket}: cannot read bucket ({error_code(exc)})") from None
    return True


def _create(client: Any, bucket: str, region: str, lock: bool) -> bool:
    # us-east-1 answers 200 to re-creating your own bucket (and moto may then switch lock
    # on): never "create" an existing bucket, so an unlocked one is refused below.
    if _exists(client, bucket):
        return False
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region and region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if lock:
        kwargs["ObjectLockEnabledForBucket"] = True
    try:
        client.create_bucket(**kwargs)
    except ClientError as exc:
        if error_code(exc) in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            return False
        raise StorageError(f"s3://{bucket}: cannot create bucket ({error_code(exc)})") from None
    return True


def ensure_buckets(
    client: Any, settings: StorageSettings, public_key_pem: bytes | None = None
) -> dict[str, Any]:
    """Create both buckets (reports with Object Lock); upload keys/<fingerprint>.pem."""
    if not settings.configured:
        raise ConfigError(
            "storage: reports_bucket and data_bucket must be set "
            "(COMPLIANCE_REPORTS_BUCKET, COMPLIANCE_DATA_BUCKET)"
        )
    data_bucket, reports_bucket = settings.data_bucket, settings.reports_bucket
    assert data_bucket and reports_bucket
    created = []
    if _create(client, data_bucket, settings.region, lock=False):
        created.append(data_bucket)
    if _create(client, reports_bucket, settings.region, lock=True):
        created.append(reports_bucket)
    # An existing reports bucket without Object Lock is refused, never silently used.
    require_object_lock(client, reports_bucket)
    result: dict[str, Any] = {
        "data_bucket": data_bucket,
        "reports_bucket": reports_bucket,
        "created": created,
        "public_key": None,
    }
    if public_key_pem:
        fp = fingerprint(load_public_key(public_key_pem))
        key = f"{KEYS}{fp}.pem"
        put_locked(
            client,
            reports_bucket,
            key,
            public_key_pem,
            settings.retention_days,
            "application/x-pem-file",
        )
        result["public_key"] = f"s3://{reports_bucket}/{key}"
        result["fingerprint"] = fp
    return result
