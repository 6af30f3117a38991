"""Putting one file or generated document into the bucket.

Small files are read once (the bytes hashed are the bytes sent) and put with their
SHA-256 checksum, which S3 verifies; files above MULTIPART_THRESHOLD go multipart, part by part. Retries are botocore's standard retry mode (the client comes
from tasks/common/s3.client_config). With --redact the redaction engine runs first, on
the machine, and the object carries `x-amz-meta-compliance-redacted: engine`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

MULTIPART_THRESHOLD = 8 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
REDACTED_META = {"compliance-redacted": "engine"}


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def put_bytes(client: Any, bucket: str, key: str, data: bytes, meta: dict | None = None) -> str:
    """Put `data`; returns the version id ("" when the bucket is not versioned)."""
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    resp = client.put_object(
        Bucket=bucket, Key=key, Body=data, ChecksumSHA256=digest, Metadata=meta or {}
    )
    return resp.get("VersionId") or ""


def put_file(client: Any, bucket: str, key: str, fobj: BinaryIO, meta: dict | None = None) -> str:
    """Multipart upload of a large file, part by part; returns the version id.

    Done by hand rather than by the transfer manager so that the result carries the version
    id and the collector needs s3:PutObject alone (no HeadObject, so no s3:GetObject).
    """
    mpu = client.create_multipart_upload(Bucket=bucket, Key=key, Metadata=meta or {})
    upload_id, parts = mpu["UploadId"], []
    try:
        for number, chunk in enumerate(iter(lambda: fobj.read(PART_SIZE), b""), start=1):
            resp = client.upload_part(
                Bucket=bucket, Key=key, PartNumber=number, UploadId=upload_id, Body=chunk
            )
            parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        done = client.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        # leave no orphaned parts behind; the original error is the one to report
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return done.get("VersionId") or ""


def put_redacted(client: Any, bucket: str, key: str, path: Path, redactor: Any) -> tuple[str, int]:
    """The file through the redaction engine, streamed into a spool (bounded memory), then put."""
    from tasks.retention.stream import is_json_name, redact_stream

    with tempfile.SpooledTemporaryFile(max_size=MULTIPART_THRESHOLD) as spool:
        with open(path, "rb") as fin:
            redact_stream(redactor, fin, spool, as_json=is_json_name(path.name))
        size = spool.tell()
        spool.seek(0)
        if size <= MULTIPART_THRESHOLD:
            return put_bytes(client, bucket, key, spool.read(), REDACTED_META), size
        return put_file(client, bucket, key, spool, REDACTED_META), size
