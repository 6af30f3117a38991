"""The whole log-retention run as one plain function; the flow passes a Prefect mapper."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tasks.common.ids import new_run_id
from tasks.common.jobrun import finish_job
from tasks.common.progress import RunProgress
from tasks.common.s3 import s3_client
from tasks.common.settings import AppConfig, StorageSettings
from tasks.reports import Table
from tasks.retention.config import RedactionConfig, RetentionConfig
from tasks.retention.deleter import (
    JOB,
    execute_journal,
    mark_complete,
    write_journal,
)
from tasks.retention.job import (
    findings_for,
    journal_items,
    load_sections,
    log_plan,
    manifest_files,
    period_for,
    plan_and_prepare,
    resume_journals,
    summarize,
)
from tasks.retention.planner import PlanItem, PrefixWork, listed_work, user_prefixes

# fn(unit) over the units (a prefix, or a PrefixWork carrying its listing)
Mapper = Callable[[Callable[[Any], dict[str, Any]], Sequence[Any]], list[dict[str, Any]]]


def thread_mapper(workers: int) -> Mapper:
    def mapper(fn: Callable[[Any], dict[str, Any]], args: Sequence[Any]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, args))

    return mapper


@dataclass
class PrefixPlanner:
    """Plans one user prefix. Picklable: on a Dask worker it builds its own S3 client
    (a boto3 client cannot be pickled), in threads it shares the caller's."""

    settings: StorageSettings
    bucket: str
    ret: RetentionConfig
    red_cfg: RedactionConfig
    key: bytes
    now: datetime
    dry_run: bool
    client: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "client": None}

    def __call__(self, work: str | PrefixWork) -> dict[str, Any]:
        """A prefix (listed here), or a PrefixWork listed by the runner."""
        if self.client is None:
            self.client = s3_client(self.settings)
        unit = work if isinstance(work, PrefixWork) else None
        prefix = unit.prefix if unit else str(work)
        return plan_and_prepare(
            self.client, self.bucket, prefix, self.ret, self.red_cfg, self.key,
            now=self.now, dry_run=self.dry_run, work=unit,
        )  # fmt: skip


def run_retention(
    config: AppConfig,
    client,
    *,
    users: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    mapper: Mapper | None = None,
    on_delete: Callable[[int], None] | None = None,
    publish: bool = True,
) -> dict[str, Any]:
    """Resume unfinished journals, plan per prefix in parallel, delete, publish the manifest."""
    ret, red_cfg, key = load_sections(config)
    settings = config.storage
    bucket = settings.data_bucket
    settings.require("data_bucket")
    now = now or datetime.now(UTC)
    mapper = mapper or thread_mapper(ret.workers)
    rows: list[dict[str, Any]] = []
    resumed = [] if dry_run else resume_journals(client, bucket)
    for old_run, old_items in resumed:
        rows += execute_journal(
            client, bucket, old_run, old_items, ret, now=now, on_delete=on_delete
        )

    one = PrefixPlanner(settings, bucket, ret, red_cfg, key, now, dry_run, client)
    prefixes = user_prefixes(client, bucket, users)
    # listed per root, one page at a time, then handed out one user prefix per task
    results = mapper(one, listed_work(client, bucket, prefixes) if not users else prefixes)
    items = [PlanItem.from_dict(d) for r in results for d in r["items"]]
    created = sum(r["redacted_created"] for r in results)
    log_plan(items, dry_run)
    run_id = new_run_id()
    if not dry_run:
        todo = journal_items(items)
        if todo:
            write_journal(client, bucket, run_id, todo)  # the commit point before deleting
            progress = RunProgress(
                "log-retention-deletions", "deleting expired raw objects", len(todo)
            )
            report = on_delete or progress.update
            rows += execute_journal(
                client, bucket, run_id, todo, ret, now=now, on_delete=report, recheck_s3=False
            )
            progress.update(len(todo), force=True)
    summary = summarize(items, rows, created, [r for r, _ in resumed])
    summary["dry_run"] = dry_run
    held = [i for i in items if i.decision == "keep" and i.reason != "young"]
    tables = [
        Table(
            "Would delete" if dry_run else "Deleted",
            ["key", "rule", "versions"],
            [[i.key, i.rule, len(i.versions)] for i in items if i.decision == "delete"],
            csv="manifest.csv",  # report.html shows the first rows and points here
        ),
        Table("Kept (held or unverified)", ["key", "reason"], [[i.key, i.reason] for i in held]),
    ]
    result = finish_job(
        JOB,
        period_for(now, ret),
        findings_for(items, rows),
        summary,
        manifest_files(rows, items),
        [{"uri": f"s3://{bucket}/raw/roo/", "objects": len(items)}],
        settings,
        dry_run=dry_run or not publish,
        tables=tables,
        run_id=run_id,
        counts_extra={
            "deleted_versions": summary["versions_deleted"],
            "held": summary["legal_holds"] + summary["object_lock"],
        },
    )
    if not dry_run:
        for done_run in [r for r, _ in resumed] + ([run_id] if journal_items(items) else []):
            mark_complete(client, bucket, done_run, result["bundle"])
    # extra keys for callers that want the figures (the flow returns only the contract's)
    result["summary"] = summary
    result["plan"] = [{"key": i.key, "decision": i.decision, "reason": i.reason} for i in items]
    return result
