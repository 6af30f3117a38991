"""Crash-safe deletion: redacted copy first, journal before deleting, confirm after.

Order for each eligible raw object: its redacted copy exists and re-scans clean → every
version is hashed → the journal (state/log-retention/<run>.jsonl) is written → versions
are deleted in batches (one DeleteObjects request each), each deletion confirmed (one
versions listing of the batch's folder, a versioned HEAD through the storage layer beyond
its reach), and each batch's completion recorded as its own small marker
object (S3 has no append). A rerun finds journals without a `.complete` marker and
finishes them; holds are re-checked first. The per-object HEADs go through the bounded
pool (tasks/retention/concurrency.py); the preparation before the journal is in
tasks/retention/prepare.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from botocore.exceptions import ClientError

from tasks.common.errors import StorageError
from tasks.common.layout import state_key
from tasks.common.models import iso_z
from tasks.common.storage import (
    NOT_FOUND_CODES,
    PAGE_SIZE,
    S3Store,
    error_code,
    get_bytes,
    iter_objects,
    iter_version_pages,
    put_object,
)
from tasks.retention.concurrency import pmap
from tasks.retention.config import RetentionConfig
from tasks.retention.planner import (
    PlanItem,
    config_hold,
    s3_hold,
)

JOB = "log-retention"
DELETE_BATCH = 1000  # journal items per DeleteObjects request and per done marker
DELETE_OBJECTS_MAX = 1000  # S3's limit of keys per DeleteObjects request
CONFIRM_PAGE_SIZE = PAGE_SIZE  # entries per page of the confirming versions listing
CONFIRM_ITEMS_PER_PAGE = 10  # list at most one page per this many items, HEAD the rest


def journal_key(run_id: str) -> str:
    return state_key(JOB, f"{run_id}.jsonl")


def done_key(run_id: str, index: int) -> str:
    return state_key(JOB, f"{run_id}.done/{index:08d}.json")


def complete_key(run_id: str) -> str:
    return state_key(JOB, f"{run_id}.complete")


def _exists(client, bucket: str, key: str) -> bool:
    try:
        return S3Store(client, bucket).lock_info(key) is not None  # a HEAD; None: 404
    except StorageError as exc:
        raise StorageError(f"{exc}: cannot confirm the deletion") from None


def write_journal(client, bucket: str, run_id: str, items: list[PlanItem]) -> None:
    lines = b"".join(orjson.dumps(i.as_dict()) + b"\n" for i in items)
    put_object(client, bucket, journal_key(run_id), lines, "application/x-ndjson")


def load_journal(client, bucket: str, run_id: str) -> list[PlanItem]:
    body = get_bytes(client, bucket, journal_key(run_id))
    return [PlanItem.from_dict(orjson.loads(line)) for line in body.splitlines() if line.strip()]


def unfinished_runs(client, bucket: str) -> list[str]:
    _folders, names = S3Store(client, bucket).children(state_key(JOB, ""))
    journals = {n[: -len(".jsonl")] for n in names if n.endswith(".jsonl")}
    complete = {n[: -len(".complete")] for n in names if n.endswith(".complete")}
    return sorted(journals - complete)


def _done_markers(client, bucket: str, run_id: str) -> dict[int, dict[str, Any]]:
    """Records of the items already handled: a marker holds one batch (a list), or one
    item (a dict, as journals written before batching have them)."""
    prefix = state_key(JOB, f"{run_id}.done/")
    done = {}
    for obj in iter_objects(client, bucket, prefix):
        data = orjson.loads(get_bytes(client, bucket, obj["Key"]))
        for record in data if isinstance(data, list) else [data]:
            done[int(record["index"])] = record
    return done


def _version_gone(client, item: PlanItem, version_id: str) -> bool:
    """One versioned HEAD through the storage layer: gone only on its 404 (or 405, a
    delete marker); a 400/403/5xx is raised, never read as gone."""
    try:
        return S3Store(client, item.bucket).head(item.key, version_id) is None
    except StorageError as exc:
        raise StorageError(f"{exc}: cannot confirm the deletion") from None


@dataclass
class Listed:
    """What one versions listing after a batch's DeleteObjects shows of the batch's keys:
    key -> (version id, delete marker, latest) of every entry still there."""

    entries: dict[str, list[tuple[str, bool, bool]]]
    until: str | None  # keys before this one were listed whole; None: every key was

    def covers(self, key: str) -> bool:
        return self.until is None or key < self.until


def list_after_delete(client, bucket: str, items: list[PlanItem]) -> Listed | None:
    """One paginated ListObjectVersions of the folder the items share, instead of a HEAD
    per version: at most one page per CONFIRM_ITEMS_PER_PAGE items (None, no listing, for
    fewer), so a folder full of objects kept (young, held) costs fewer pages than the
    HEADs it saves; keys the pages did not reach are confirmed with HEADs."""
    budget = len(items) // CONFIRM_ITEMS_PER_PAGE
    if not budget:
        return None
    keys = sorted({item.key for item in items})
    folder = os.path.commonprefix(keys).rpartition("/")[0]
    prefix = f"{folder}/" if folder else ""
    wanted, entries, last = set(keys), {}, ""
    try:
        for n, page in enumerate(iter_version_pages(client, bucket, prefix, CONFIRM_PAGE_SIZE), 1):
            for entry, marker in page:
                if entry["Key"] in wanted:
                    version = entry.get("VersionId") or "null"
                    latest = entry.get("IsLatest", True)  # unknown: as if still current
                    entries.setdefault(entry["Key"], []).append((version, marker, latest))
            last = page[-1][0]["Key"] if page else last
            if last > keys[-1]:
                break  # past the batch's last key: the rest of the folder is not ours
            if n >= budget:
                return Listed(entries, last)
    except ClientError as exc:
        raise StorageError(
            f"s3://{bucket}/{prefix}: cannot confirm the deletions "
            f"(ListObjectVersions answered {error_code(exc) or '?'})"
        ) from None
    return Listed(entries, None)


def _confirm_gone(client, item: PlanItem, listed: Listed | None = None) -> bool:
    """Every planned version is gone, and (unversioned) the key itself: from the listing
    made after the batch's deletion when it reaches the key, else one versioned HEAD per
    version (404 = gone). A version written after planning is kept on purpose."""
    ids = {v.version_id for v in item.versions if not v.delete_marker and v.version_id != "null"}
    if listed is not None and listed.covers(item.key):
        there = listed.entries.get(item.key, [])
        if ids:
            return not any(vid in ids for vid, marker, _latest in there if not marker)
        return not any(latest and not marker for _vid, marker, latest in there)
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
    recheck_s3: bool = True,
) -> list[dict[str, Any]]:
    """Delete what the journal says (skipping what is already done); return manifest rows.

    Items go in batches: holds re-checked per item, one DeleteObjects per batch, each
    deletion confirmed (one versions listing of the batch's folder, HEADs beyond its
    reach), then one marker recording the whole batch. A crash inside a
    batch leaves no marker for it; the rerun re-checks holds and deletes again (a
    version already gone deletes as a no-op), so the end state is the same.

    recheck_s3=False (the run that just planned and read every version's hold with its
    GET): config holds are re-checked, S3 holds are not HEADed again. S3 itself refuses
    to delete a version under legal hold or retention; such a refusal is then looked up
    (HEAD) and the object recorded as kept, with any version that did go as deleted.
    HEADs (re-check, confirmation) go through the pool, `cfg.s3_concurrency` at once.
    """
    records = _done_markers(client, bucket, run_id)
    todo = [(index, item) for index, item in enumerate(items) if index not in records]
    deleted = 0
    width = cfg.s3_concurrency
    when = now or datetime.now(UTC)

    def recheck(pair: tuple[int, PlanItem]) -> str | None:
        item = pair[1]
        held = config_hold(cfg, item.user, item.task_id)
        if held or not recheck_s3:
            return held
        return s3_hold(client, item.bucket, item.key, item.versions, when)

    for batch in _batches(todo):
        batch_records: dict[int, dict[str, Any]] = {}
        doomed: list[tuple[int, PlanItem]] = []
        for (index, item), hold in zip(batch, pmap(recheck, batch, width), strict=True):
            if hold:  # placed since planning: keep the object
                batch_records[index] = {"index": index, "outcome": "kept", "hold_check": hold}
            else:
                doomed.append((index, item))
        refused: set[tuple[str, str]] = set()
        listed: dict[str, Listed | None] = {}
        if doomed:
            count, refused = _delete_versions(client, [item for _, item in doomed])
            deleted += count
            if on_delete:
                on_delete(deleted)
            for name in sorted({item.bucket for _, item in doomed}):
                listed[name] = list_after_delete(
                    client, name, [item for _, item in doomed if item.bucket == name]
                )

        def settle(
            pair: tuple[int, PlanItem], refused: set = refused, listed: dict = listed
        ) -> dict[str, Any]:
            index, item = pair
            if (item.bucket, item.key) in refused:
                return _refused_record(client, index, item, when)
            ok = _confirm_gone(client, item, listed.get(item.bucket))
            return {
                "index": index,
                "outcome": "deleted" if ok else "unconfirmed",
                "hold_check": "none",
                "deleted_at": iso_z(datetime.now(UTC)),
            }

        for (index, _item), record in zip(doomed, pmap(settle, doomed, width), strict=True):
            batch_records[index] = record
        marker = [batch_records[index] for index, _ in batch]
        put_object(client, bucket, done_key(run_id, batch[0][0]), orjson.dumps(marker))
        records.update(batch_records)
    rows: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        rows += manifest_rows(run_id, item, records[index])
    return rows


def _refused_record(client, index: int, item: PlanItem, now: datetime) -> dict[str, Any]:
    """S3 refused to delete a version: kept under the hold S3 shows, each version that did
    go recorded as deleted. No hold to show: the refusal is an error (the run stops)."""
    hold = s3_hold(client, item.bucket, item.key, item.versions, now)
    if not hold:
        raise RuntimeError(
            f"s3://{item.bucket}/{item.key}: DeleteObjects refused a version (AccessDenied) "
            "and S3 shows no hold on it"
        )
    ids = [v.version_id for v in item.versions if not v.delete_marker]
    went = {vid: "deleted" for vid in ids if _version_gone(client, item, vid)}
    record = {"index": index, "outcome": "kept", "hold_check": hold}
    if went:
        record |= {"version_outcomes": went, "deleted_at": iso_z(datetime.now(UTC))}
    return record


def _batches(todo: list[tuple[int, PlanItem]]) -> list[list[tuple[int, PlanItem]]]:
    """At most DELETE_BATCH items and DeleteObjects' 1,000 versions per batch."""
    batches: list[list[tuple[int, PlanItem]]] = []
    current: list[tuple[int, PlanItem]] = []
    versions = 0
    for index, item in todo:
        n = len(item.versions)
        if current and (len(current) >= DELETE_BATCH or versions + n > DELETE_OBJECTS_MAX):
            batches.append(current)
            current, versions = [], 0
        current.append((index, item))
        versions += n
    if current:
        batches.append(current)
    return batches


def _delete_versions(client, items: list[PlanItem]) -> tuple[int, set[tuple[str, str]]]:
    """Every version of the items, one DeleteObjects request per bucket (and per 1,000).

    (versions deleted, (bucket, key) of the objects a version of which S3 refused with
    AccessDenied, as it answers for a version under Object Lock). Any other refusal stops
    the run; its journal stays and the next run resumes it.
    """
    by_bucket: dict[str, list[dict[str, str]]] = {}
    for item in items:
        for v in item.versions:
            entry = {"Key": item.key}
            if v.version_id != "null":
                entry["VersionId"] = v.version_id
            by_bucket.setdefault(item.bucket, []).append(entry)
    count, refused = 0, set()
    for name, entries in by_bucket.items():
        for start in range(0, len(entries), DELETE_OBJECTS_MAX):
            chunk = entries[start : start + DELETE_OBJECTS_MAX]
            resp = client.delete_objects(Bucket=name, Delete={"Objects": chunk, "Quiet": False})
            errors = [e for e in resp.get("Errors", []) if e.get("Code") not in NOT_FOUND_CODES]
            denied = [e for e in errors if e.get("Code") == "AccessDenied"]
            if len(denied) < len(errors):
                first = next(e for e in errors if e.get("Code") != "AccessDenied")
                raise RuntimeError(
                    f"s3://{name}: DeleteObjects refused {len(errors)} of {len(chunk)} versions "
                    f"(first: {first.get('Code')} on {first.get('Key')})"
                )
            refused |= {(name, e.get("Key", "")) for e in denied}
            count += len(chunk) - len(denied)
    return count, refused


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
            "outcome": record.get("version_outcomes", {}).get(v.version_id, record["outcome"]),
            "deleted_at": record.get("deleted_at"),
        }
        for v in item.versions
    ]


def mark_complete(client, bucket: str, run_id: str, bundle: str | None) -> None:
    put_object(client, bucket, complete_key(run_id), orjson.dumps({"bundle": bundle}))
