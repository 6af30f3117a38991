"""The log-retention job: its steps (the job contract, tasks/common/contract.py, at the
end) and the plain functions they call.

plan (resume unfinished journals; list the user prefixes) -> collect_chunk (one prefix:
decide, redact copies, hash versions; mapped over the task runner) -> merge (journal,
then delete) -> evaluate (manifest, summary, findings) -> publish -> after_publish (mark
the journals complete with the bundle).
"""

from __future__ import annotations

import io
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from tasks.collect.mark import SOURCE_MARK, SourceMark
from tasks.common.contract import JobResult, Scope
from tasks.common.csvsafe import SafeDictWriter
from tasks.common.models import Finding, Period, to_utc
from tasks.common.settings import AppConfig, StorageSettings
from tasks.common.storage import iter_objects
from tasks.reports import Table
from tasks.retention.concurrency import pmap
from tasks.retention.config import (
    RedactionConfig,
    RetentionConfig,
    parse_redaction,
    parse_retention,
    redaction_key,
)
from tasks.retention.deleter import (
    execute_journal,
    load_journal,
    mark_complete,
    unfinished_runs,
    write_journal,
)
from tasks.retention.engine import thread_redactor
from tasks.retention.planner import (
    PlanItem,
    PrefixWork,
    listed_work,
    plan_prefix,
    redacted_key,
    user_prefixes,
)
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

    if any(i.data_class == "raw" for i in due):
        warm_redactor(red_cfg, key)
    created = sum(pmap(prepare, due, ret.s3_concurrency))
    return {"items": [i.as_dict() for i in items], "redacted_created": created}


_WARM = threading.Lock()


def warm_redactor(red_cfg: RedactionConfig, key: bytes) -> None:
    """Build this thread's Redactor before the pool's threads build theirs: they share
    the compiled Hyperscan database (~0.7 s of CPU), which threads starting at the same
    moment would otherwise each compile."""
    with _WARM:
        thread_redactor(red_cfg, key)


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
        elif item.reason.startswith("unsafe_key"):
            log.info("keep %r: %s", item.key, item.reason)  # repr: odd bytes show, no new line
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
        "unsafe_keys": reasons.get("unsafe_key", 0),
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


# --- the job contract's steps ---


@dataclass
class Planned:
    """What plan did before the prefixes are mapped: resumed journals and their rows."""

    key: bytes = field(repr=False)  # the redaction key, read where the config is
    resumed: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Unit:
    """One prefix (or a PrefixWork carrying its listing) and what planning it needs.
    Picklable: on a Dask worker it makes its own S3 client."""

    work: str | PrefixWork
    key: bytes = field(repr=False)


@dataclass
class Collected:
    items: list[PlanItem]
    rows: list[dict[str, Any]]  # the manifest: one row per version deleted (or not)
    created: int
    resumed: list[str]
    bucket: str
    journaled: bool  # this run wrote a journal (and deleted what it lists)
    dry_run: bool
    now: datetime


def check(settings: StorageSettings, cfg: Any) -> None:
    redaction_key(cfg.redaction, settings.data_bucket)  # required, before any work


def _client(settings: StorageSettings, scope: Scope) -> Any:
    from tasks.common.s3 import s3_client

    return scope.options.get("client") or s3_client(settings)


def _users(scope: Scope) -> list[str] | None:
    return scope.options.get("users") or ([scope.user] if scope.user else None)


def plan(settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> tuple[Planned, list[Unit]]:  # fmt: skip
    """Finish what a crashed run left in its journal, then list the work per user prefix."""
    client, bucket = _client(settings, scope), settings.data_bucket
    planned = Planned(redaction_key(cfg.redaction, bucket))
    if not scope.dry_run:
        for old_run, old_items in resume_journals(client, bucket):
            planned.resumed.append(old_run)
            planned.rows += execute_journal(client, bucket, old_run, old_items, cfg.retention,
                                            now=scope.now, on_delete=scope.options.get("on_delete"))  # fmt: skip
    users = _users(scope)
    prefixes = user_prefixes(client, bucket, users)
    # listed per root, one page at a time, then handed out one user prefix per task
    work = listed_work(client, bucket, prefixes) if not users else prefixes
    return planned, [Unit(w, planned.key) for w in work]


_CLIENTS = threading.local()


def collect_chunk(settings: StorageSettings, cfg: Any, period: Period, scope: Scope, unit: Unit) -> dict[str, Any]:  # fmt: skip
    """One prefix: decide, and (unless a dry run) redact copies and hash versions."""
    client = scope.options.get("client") or getattr(_CLIENTS, "client", None)
    if client is None:  # one per thread or Dask worker (clients do not pickle)
        from tasks.common.s3 import s3_client

        client = _CLIENTS.client = s3_client(settings)
    work = unit.work if isinstance(unit.work, PrefixWork) else None
    prefix = work.prefix if work else str(unit.work)
    return plan_and_prepare(client, settings.data_bucket, prefix, cfg.retention, cfg.redaction,
                            unit.key, now=scope.now, dry_run=scope.dry_run, work=work)  # fmt: skip


def merge(settings: StorageSettings, cfg: Any, period: Period, scope: Scope,
          planned: Planned, chunks: list[dict[str, Any]]) -> Collected:  # fmt: skip
    """Journal what is due (the commit point), then delete it."""
    from tasks.common.progress import RunProgress

    client, bucket = _client(settings, scope), settings.data_bucket
    items = [PlanItem.from_dict(d) for r in chunks for d in r["items"]]
    log_plan(items, scope.dry_run)
    rows = list(planned.rows)
    todo = journal_items(items) if not scope.dry_run else []
    if todo:
        write_journal(client, bucket, scope.run_id, todo)
        progress = RunProgress("log-retention-deletions", "deleting expired raw objects", len(todo))
        report = scope.options.get("on_delete") or progress.update
        rows += execute_journal(client, bucket, scope.run_id, todo, cfg.retention, now=scope.now,
                                on_delete=report, recheck_s3=False)  # fmt: skip
        progress.update(len(todo), force=True)
    created = sum(r["redacted_created"] for r in chunks)
    return Collected(items, rows, created, planned.resumed, bucket, bool(todo), scope.dry_run,
                     scope.now)  # fmt: skip


def evaluate(c: Collected, cfg: Any) -> JobResult:
    items, rows = c.items, c.rows
    summary = summarize(items, rows, c.created, c.resumed)
    summary["dry_run"] = c.dry_run
    held = [i for i in items if i.decision == "keep" and i.reason != "young"]
    tables = [
        Table(
            "Would delete" if c.dry_run else "Deleted",
            ["key", "rule", "versions"],
            [[i.key, i.rule, len(i.versions)] for i in items if i.decision == "delete"],
            csv="manifest.csv",  # report.html shows the first rows and points here
        ),
        Table("Kept (held or unverified)", ["key", "reason"], [[i.key, i.reason] for i in held]),
    ]
    return JobResult(
        findings_for(items, rows),
        summary,
        inputs=[{"uri": f"s3://{c.bucket}/raw/roo/", "objects": len(items)}],
        files=manifest_files(rows, items),
        tables=tables,
        counts_extra={
            "deleted_versions": summary["versions_deleted"],
            "held": summary["legal_holds"] + summary["object_lock"],
        },
        period=period_for(c.now, cfg.retention),
        state=[{"key": i.key, "decision": i.decision, "reason": i.reason} for i in items],
    )


def after_publish(settings: StorageSettings, cfg: Any, c: Collected, result: JobResult,
                  published: dict[str, Any], scope: Scope) -> None:  # fmt: skip
    """The journals this run finished point at its bundle; a dry run shows its plan."""
    if c.dry_run:
        show_plan(result.state)
        return
    client = _client(settings, scope)
    for done_run in c.resumed + ([scope.run_id] if c.journaled else []):
        mark_complete(client, c.bucket, done_run, published["bundle"])


def show_plan(plan: list[dict[str, Any]]) -> None:
    """A dry run publishes nothing: the plan goes to the run's log and a table artifact."""
    from tasks.common.jobrun import in_prefect_run

    if not in_prefect_run():
        return
    from prefect import get_run_logger
    from prefect.artifacts import create_table_artifact

    logger = get_run_logger()
    for row in plan:
        if row["decision"] == "delete":
            logger.info("would delete %s", row["key"])
        elif row["reason"] != "young":
            logger.info("would keep %s: %s", row["key"], row["reason"])
    create_table_artifact(
        table=[r for r in plan if r["reason"] != "young"][:1000] or [{"decision": "nothing due"}],
        key="log-retention-plan",
        description="Dry run: what would be deleted, what is held and why",
    )


__all__ = [
    "journal_items",
    "load_sections",
    "plan_and_prepare",
    "resume_journals",
    "summarize",
    "write_journal",
]
