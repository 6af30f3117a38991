"""The log-retention job as plain functions (the flow only sequences and maps them)."""

from __future__ import annotations

import io
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson

from tasks.collect.mark import SOURCE_MARK, SourceMark
from tasks.common.csvsafe import SafeDictWriter
from tasks.common.models import Finding, Period, to_utc
from tasks.common.settings import AppConfig
from tasks.common.storage import iter_objects
from tasks.retention.concurrency import pmap
from tasks.retention.config import (
    RedactionConfig,
    RetentionConfig,
    parse_redaction,
    parse_retention,
    redaction_key,
)
from tasks.retention.deleter import load_journal, unfinished_runs, write_journal
from tasks.retention.engine import thread_redactor
from tasks.retention.planner import PlanItem, PrefixWork, plan_prefix, redacted_key
from tasks.retention.prepare import hash_versions, newest_live, prepare_raw

log = logging.getLogger(__name__)

MANIFEST_FIELDS = [
    "run_id", "bucket", "key", "version_id", "delete_marker", "sha256", "size",
    "last_modified", "rule", "hold_check", "outcome", "deleted_at",
]  # fmt: skip


def load_sections(config: AppConfig) -> tuple[RetentionConfig, RedactionConfig, bytes]:
    source = config.source or "config"
    ret = parse_retention(config.section("retention"), source)
    red = parse_redaction(config.section("redaction"), source)
    return ret, red, redaction_key(red, config.storage.data_bucket)


def plan_and_prepare(
    client,
    bucket: str,
    prefix: str,
    ret: RetentionConfig,
    red_cfg: RedactionConfig,
    key: bytes,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    work: PrefixWork | None = None,
) -> dict[str, Any]:
    """One prefix: decide, then (unless dry run) redact copies, re-scan and hash versions.

    The objects due go through the S3 pool (`retention.s3_concurrency` at once); their S3
    holds come from the GETs that hash and copy them (a dry run HEADs each version).
    """
    now = to_utc(now or datetime.now(UTC))
    listing = work.listing if work else None
    items = plan_prefix(client, bucket, prefix, ret, now, s3_holds=dry_run, listing=listing)
    due = [i for i in items if i.decision == "delete"] if not dry_run else []
    copies: set[str] = work.copies if work else set()  # redacted copies known to exist
    if work is None and any(i.data_class == "raw" for i in due):
        copies = existing_keys(client, bucket, redacted_key(prefix))

    def prepare(item: PlanItem) -> bool:
        """Copy and hash one object; False when it must be kept (hold or unclean copy)."""
        newest = newest_live(item)
        fresh = item.data_class == "raw" and redacted_key(item.key) not in copies
        seen = SourceMark(client, item, newest)
        # older versions first: a hold on any of them keeps the object before a copy is made
        problem = hash_versions(seen, item, now, skip=newest if fresh else None)
        made = False
        if not problem and item.data_class == "raw":
            # one redactor per pool thread: the compiled database is cached per process
            red = thread_redactor(red_cfg, key)
            problem, made = prepare_raw(seen, item, red, copies, now=now)
        if not problem:
            problem = hash_versions(seen, item, now)  # the raw behind a listed copy
        if seen.mark:
            item.source_redacted = seen.verdict(problem)
        if problem:
            item.decision, item.reason = "keep", problem
        return made

    created = sum(pmap(prepare, due, ret.s3_concurrency))
    return {"items": [i.as_dict() for i in items], "redacted_created": created}


def existing_keys(client, bucket: str, prefix: str) -> set[str]:
    return {obj["Key"] for obj in iter_objects(client, bucket, prefix)}


def resume_journals(client, bucket: str) -> list[tuple[str, list[PlanItem]]]:
    return [
        (run_id, load_journal(client, bucket, run_id)) for run_id in unfinished_runs(client, bucket)
    ]


def log_plan(items: list[PlanItem], dry_run: bool) -> None:
    verb = "would delete" if dry_run else "delete"
    for item in items:
        if item.decision == "delete":
            log.info("%s %s (%s, %d versions)", verb, item.key, item.rule, len(item.versions))
        elif item.reason != "young":
            log.info("keep %s: %s", item.key, item.reason)


def summarize(
    items: list[PlanItem], rows: list[dict[str, Any]], created: int, resumed: list[str]
) -> dict[str, Any]:
    reasons = Counter(i.reason.split(":")[0] if ":" in i.reason else i.reason for i in items)
    outcomes = Counter(r["outcome"] for r in rows)
    deleted_keys = {(r["bucket"], r["key"]) for r in rows if r["outcome"] == "deleted"}
    return {
        "objects_considered": len(items),
        "eligible": sum(i.decision == "delete" for i in items),
        "young": reasons.get("young", 0),
        "legal_holds": reasons.get("legal_hold", 0),
        "object_lock": reasons.get("object_lock", 0),
        "redaction_problems": sum(i.reason.startswith("redacted copy") for i in items),
        "redacted_copies_created": created,
        "objects_deleted": len(deleted_keys),
        "versions_deleted": outcomes.get("deleted", 0),
        "versions_unconfirmed": outcomes.get("unconfirmed", 0),
        "kept_new_hold": outcomes.get("kept", 0),
        "bytes_deleted": sum(r["size"] for r in rows if r["outcome"] == "deleted"),
        "resumed_runs": len(resumed),
        "source_redacted": dict(Counter(i.source_redacted for i in items if i.source_redacted)),
    }


def findings_for(items: list[PlanItem], rows: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for item in items:
        if item.reason.startswith("redacted copy"):
            findings.append(
                Finding.make(
                    "retention.redaction_verified", "high", "fail", item.key,
                    "Raw log kept: its redacted copy still has findings after redaction.",
                )
            )  # fmt: skip
        if item.source_redacted == "not_confirmed":
            findings.append(
                Finding.make(
                    "retention.source_mark_unconfirmed", "medium", "fail", item.key,
                    "Raw log marked redacted at the source still changed when redacted here.",
                    mark=SOURCE_MARK,
                )
            )  # fmt: skip
    for row in rows:
        if row["outcome"] == "unconfirmed":
            findings.append(
                Finding.make(
                    "retention.deletion_confirmed", "high", "fail", row["key"],
                    "Deletion could not be confirmed with the S3 API.",
                    version_id=row["version_id"],
                )
            )  # fmt: skip
    return findings


def manifest_files(rows: list[dict[str, Any]], items: list[PlanItem]) -> dict[str, bytes]:
    jsonl = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    buf = io.StringIO()
    writer = SafeDictWriter(buf, fieldnames=MANIFEST_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    plan = b"".join(
        orjson.dumps({k: getattr(i, k) for k in ("key", "data_class", "decision", "reason",
                                                  "rule", "age_days", "source_redacted")}) + b"\n"
        for i in items
    )  # fmt: skip
    return {
        "manifest.jsonl": jsonl,
        "manifest.csv": buf.getvalue().encode(),
        "plan.jsonl": plan,
    }


def period_for(now: datetime | None, ret: RetentionConfig) -> Period:
    end = to_utc(now or datetime.now(UTC))
    return Period.last_days(max(ret.raw_days, 1), end)


def journal_items(items: list[PlanItem]) -> list[PlanItem]:
    return [i for i in items if i.decision == "delete"]


__all__ = [
    "journal_items",
    "load_sections",
    "plan_and_prepare",
    "resume_journals",
    "summarize",
    "write_journal",
]
