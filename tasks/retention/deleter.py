"""Crash-safe deletion: redacted copy first, journal before deleting, confirm after.

Order for each eligible raw object: its redacted copy exists and re-scans clean → every
version is hashed → the journal (state/log-retention/<run>.jsonl) is written → versions
are deleted, each object's completion recorded as its own small marker object (S3 has no
append) → deletion confirmed with head_object/list_object_versions. A rerun finds
journals without a `.complete` marker and finishes them; holds are re-checked first.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.exceptions import ClientError

from tasks.common.layout import state_key
from tasks.common.models import iso_z
from tasks.retention.config import RetentionConfig
from tasks.retention.engine import Redactor
from tasks.retention.planner import PlanItem, config_hold, redacted_key, s3_hold
from tasks.retention.stream import is_json_name, redact_stream

JOB = "log-retention"


class SimulatedCrash(RuntimeError):
    """Raised by the crash-injection hook (tests only)."""


def journal_key(run_id: str) -> str:
    return state_key(JOB, f"{run_id}.jsonl")


def done_key(run_id: str, index: int) -> str:
    return state_key(JOB, f"{run_id}.done/{index:08d}.json")


def complete_key(run_id: str) -> str:
    return state_key(JOB, f"{run_id}.complete")


def _missing(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("404", "NoSuchKey", "NoSuchVersion", "NotFound", "400")


def _exists(client, bucket: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _missing(exc):
            return False
        raise
    return True


class _Null(io.RawIOBase):
    def write(self, b: bytes) -> int:  # type: ignore[override]
        return len(b)


def prepare_raw(client, item: PlanItem, redactor: Redactor) -> tuple[str | None, bool]:
    """Make sure the redacted copy exists and scans clean. (problem or None, created)."""
    live = [v for v in item.versions if not v.delete_marker]
    if not live:
        return None, False  # only delete markers left: nothing to copy
    newest = max(live, key=lambda v: v.last_modified)
    target = redacted_key(item.key)
    created = False
    if not _exists(client, item.bucket, target):
        args = {"Bucket": item.bucket, "Key": item.key}
        if newest.version_id != "null":
            args["VersionId"] = newest.version_id
        body = client.get_object(**args)["Body"]
        with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as spool:
            redact_stream(redactor, body, spool, as_json=is_json_name(item.key))
            spool.seek(0)
            client.upload_fileobj(spool, item.bucket, target)
        created = True
    body = client.get_object(Bucket=item.bucket, Key=target)["Body"]
    # rescan as plain text: stricter than the JSON pass (sees keys and escaped content too)
    stats = redact_stream(redactor, body, _Null(), as_json=False)
    if stats.counts:
        return f"redacted copy not clean ({sum(stats.counts.values())} findings)", created
    return None, created


def hash_versions(client, item: PlanItem) -> None:
    for v in item.versions:
        if v.delete_marker:
            continue
        args = {"Bucket": item.bucket, "Key": item.key}
        if v.version_id != "null":
            args["VersionId"] = v.version_id
        body = client.get_object(**args)["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda b=body: b.read(1024 * 1024), b""):
            digest.update(chunk)
        v.sha256 = digest.hexdigest()


def write_journal(client, bucket: str, run_id: str, items: list[PlanItem]) -> None:
    lines = b"".join(orjson.dumps(i.as_dict()) + b"\n" for i in items)
    client.put_object(Bucket=bucket, Key=journal_key(run_id), Body=lines)


def load_journal(client, bucket: str, run_id: str) -> list[PlanItem]:
    body = client.get_object(Bucket=bucket, Key=journal_key(run_id))["Body"].read()
    return [PlanItem.from_dict(orjson.loads(line)) for line in body.splitlines() if line.strip()]


def unfinished_runs(client, bucket: str) -> list[str]:
    prefix = state_key(JOB, "")
    journals, complete = set(), set()
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix) :]
            if name.endswith(".jsonl"):
                journals.add(name[: -len(".jsonl")])
            elif name.endswith(".complete"):
                complete.add(name[: -len(".complete")])
    return sorted(journals - complete)


def _done_markers(client, bucket: str, run_id: str) -> dict[int, dict[str, Any]]:
    prefix = state_key(JOB, f"{run_id}.done/")
    done = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            data = orjson.loads(client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            done[int(data["index"])] = data
    return done


def _version_gone(client, item: PlanItem, version_id: str) -> bool:
    try:
        client.head_object(Bucket=item.bucket, Key=item.key, VersionId=version_id)
    except ClientError as exc:
        return _missing(exc)
    return False


def _confirm_gone(client, item: PlanItem) -> bool:
    """Every planned version answers 404 to a versioned HEAD, and the key itself is gone.

    One HEAD per version rather than a ListObjectVersions per key: a listing per object
    costs O(bucket) on some servers (moto copies the whole bucket for each call).
    """
    ids = {v.version_id for v in item.versions if not v.delete_marker and v.version_id != "null"}
    if not all(_version_gone(client, item, vid) for vid in sorted(ids)):
        return False
    if ids:
        return True  # a version written after planning is kept on purpose; ours are gone
    return not _exists(client, item.bucket, item.key)  # unversioned bucket: the key itself


def execute_journal(
    client,
    bucket: str,
    run_id: str,
    items: list[PlanItem],
    cfg: RetentionConfig,
    *,
    now: datetime | None = None,
    on_delete: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Delete what the journal says (skipping what is already done); return manifest rows."""
    done = _done_markers(client, bucket, run_id)
    rows: list[dict[str, Any]] = []
    deleted = 0
    for index, item in enumerate(items):
        record = done.get(index)
        if record is None:
            hold = config_hold(cfg, item.user, item.task_id) or s3_hold(
                client, item.bucket, item.key, item.versions, now or datetime.now(UTC)
            )
            if hold:  # placed since planning: keep the object
                record = {"index": index, "outcome": "kept", "hold_check": hold}
            else:
                for v in item.versions:
                    args = {"Bucket": item.bucket, "Key": item.key}
                    if v.version_id != "null":
                        args["VersionId"] = v.version_id
                    client.delete_object(**args)
                    deleted += 1
                    if on_delete:
                        on_delete(deleted)
                confirmed = _confirm_gone(client, item)
                record = {
                    "index": index,
                    "outcome": "deleted" if confirmed else "unconfirmed",
                    "hold_check": "none",
                    "deleted_at": iso_z(datetime.now(UTC)),
                }
            client.put_object(Bucket=bucket, Key=done_key(run_id, index), Body=orjson.dumps(record))
        rows += manifest_rows(run_id, item, record)
    return rows


def manifest_rows(run_id: str, item: PlanItem, record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "bucket": item.bucket,
            "key": item.key,
            "version_id": v.version_id,
            "delete_marker": v.delete_marker,
            "sha256": v.sha256,
            "size": v.size,
            "last_modified": v.last_modified,
            "rule": item.rule,
            "hold_check": record.get("hold_check"),
            "outcome": record["outcome"],
            "deleted_at": record.get("deleted_at"),
        }
        for v in item.versions
    ]


def mark_complete(client, bucket: str, run_id: str, bundle: str | None) -> None:
    client.put_object(
        Bucket=bucket, Key=complete_key(run_id), Body=orjson.dumps({"bundle": bundle})
    )
