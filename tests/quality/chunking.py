"""Test drivers of chunked ingestion: every chunk in turn, merged (the flow maps the chunks
over its task runner instead; these drive the same plan and merge without one)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tasks.common.models import Period
from tasks.quality.chunks import concat, merge_counts, merge_quarantine, merge_spooled, plan_chunks
from tasks.quality.spool import ingest_to_spool
from tasks.quality.storage import RawInputs, plan_inputs, raw_inputs
from tasks.telemetry.ingest import IngestResult, ingest
from tasks.telemetry.schema import EVENTS_SCHEMA, TASKS_SCHEMA


def ingest_chunk(
    source: str, users: Sequence[str] | None, *, s3_client: Any = None,
    period: Period | None = None,
) -> IngestResult:  # fmt: skip
    """One chunk in memory: ingest restricted to `users` (None: all)."""
    return ingest(
        source, s3_client=s3_client, period=period, users=None if users is None else list(users)
    )


def merge_chunks(parts: Sequence[IngestResult]) -> IngestResult:
    """In-memory chunks concatenated in chunk order, unattributed rows counted once (the
    job's merge_spooled, on tables)."""
    if not parts:
        raise ValueError("merge_chunks: no chunk results")
    quarantine, dropped = merge_quarantine([p.quarantine for p in parts])
    return IngestResult(
        tasks=concat([p.tasks for p in parts], TASKS_SCHEMA),
        events=concat([p.events for p in parts], EVENTS_SCHEMA),
        quarantine=quarantine,
        counts=merge_counts([p.counts for p in parts], dropped),
    )


def ingest_in_turn(
    source: str, chunks: Sequence[Sequence[str] | None], s3_client: Any, period: Period | None
) -> list[IngestResult]:
    """Every chunk, one after another."""
    return [ingest_chunk(source, c, s3_client=s3_client, period=period) for c in chunks]


def chunked_ingest(
    source: str,
    *,
    s3_client: Any = None,
    period: Period | None = None,
    users: Iterable[str] | None = None,
    chunk_users: int | None = None,
    mapper: Callable[[list[list[str]]], list[IngestResult]] | None = None,
) -> IngestResult:
    """plan -> ingest each chunk (with `mapper`, default in turn) -> merge."""
    chunks = plan_chunks(
        source, s3_client=s3_client, period=period, users=users, chunk_users=chunk_users
    )
    parts = mapper(chunks) if mapper else ingest_in_turn(source, chunks, s3_client, period)
    return merge_chunks(parts)


def load_raw(
    client: Any,
    bucket: str,
    period: Period,
    team: str | None,
    user: str | None,
    chunk_users: int | None = None,
) -> RawInputs:
    """Everything the job reads, chunks ingested to the spool in turn (the flow's plan and
    merge)."""
    spread = chunk_users is not None  # in turn, more chunks only cost CPU
    plan = plan_inputs(client, bucket, period, team, user, chunk_users, spread)
    parts = [ingest_to_spool(plan.source, c, s3_client=client, period=period) for c in plan.chunks]
    return raw_inputs(plan, *merge_spooled(parts))
