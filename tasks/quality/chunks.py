"""Ingestion in chunks of users, so a task runner (threads or a Dask cluster) can spread it.

    chunks = plan_chunks(source, s3_client=c, period=p, users=None, chunk_users=4)
    parts = [ingest_to_spool(source, users, s3_client=c, period=p) for users in chunks]
    spool, counts, quarantine = merge_spooled(parts)   # == ingest(source, period=p) spooled

Users are those with task folders (raw/roo/<user>/) plus those that appear only in the
telemetry (raw/events/), sorted, in chunks of `chunk_users`. Every chunk reads every
events file of the period (the files are by day, not by user) and keeps its users' lines.

Telemetry lines that name no valid user (not JSON, bad envelope, over-long line) are
quarantined by ingest whatever the user filter, so every chunk reports them: the merge
keeps them from the first chunk only. Chunks hold disjoint users, so with two or more
chunks a quarantine row found in all of them is exactly such a line.

A task's provider/model/version/mode come from every telemetry line naming it, whoever
the line was filed under (ingest notes them for all users), so a chunk's task rows are
exactly a single ingest's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.common.models import Period
from tasks.common.settings import positive_int_setting
from tasks.common.storage import Store, open_store
from tasks.quality.spool import Spool, SpooledChunk
from tasks.telemetry.ingest import (
    DAY_MS,
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_USER,
)
from tasks.telemetry.schema import QUARANTINE_SCHEMA
from tasks.telemetry.sources import EVENTS_DAY, detect_units, iter_lines

CHUNK_USERS_ENV = "COMPLIANCE_INGEST_CHUNK_USERS"
MAX_CHUNKS = 8  # default: at most this many chunks (each one re-reads the telemetry)
COUNT_KEYS = ("records_in", "valid", "quarantined")


def chunk_users_setting(value: int | str | None = None) -> int | None:
    """Users per chunk: the argument, else COMPLIANCE_INGEST_CHUNK_USERS, else None (auto)."""
    return positive_int_setting(value, CHUNK_USERS_ENV, "users per chunk")


def split_users(users: Sequence[str], chunk_users: int | None) -> list[list[str]]:
    """Sorted users in consecutive chunks; auto size keeps the count at most MAX_CHUNKS."""
    ordered = sorted(set(users))
    size = chunk_users or max(1, math.ceil(len(ordered) / MAX_CHUNKS))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _period_ms(period: Period | None) -> tuple[int, int] | None:
    if period is None:
        return None
    return int(period.start.timestamp() * 1000), int(period.end.timestamp() * 1000)


def _day_may_hold(key: str, period_ms: tuple[int, int] | None) -> bool:
    """Ingest's own file window (a day's file may hold events from around midnight)."""
    match = EVENTS_DAY.search(key)
    if period_ms is None or not match:
        return True
    y, m, d = (int(x) for x in match.groups())
    day_ms = int(datetime(y, m, d, tzinfo=UTC).timestamp() * 1000)
    return period_ms[0] - DAY_MS <= day_ms < period_ms[1] + DAY_MS


def event_users(store: Store, prefixes: Iterable[str], period: Period | None) -> set[str]:
    """Users named by the telemetry envelopes in the files ingest would read."""
    window = _period_ms(period)
    found: set[str] = set()
    for prefix in prefixes:
        for key, _size in store.list(prefix):
            if not key.endswith(".jsonl") or not _day_may_hold(key, window):
                continue
            with store.open(key) as stream:
                for _lineno, line, _length in iter_lines(stream, DEFAULT_MAX_LINE_BYTES):
                    try:
                        env = orjson.loads(line) if line and line.strip() else None
                    except orjson.JSONDecodeError:
                        continue  # quarantined by every chunk; the merge keeps one copy
                    user = env.get("user") if type(env) is dict else None
                    if type(user) is str and user:
                        found.add(user)
    return found


def plan_chunks(
    source: str,
    *,
    s3_client: Any = None,
    period: Period | None = None,
    users: Iterable[str] | None = None,
    chunk_users: int | None = None,
    default_user: str = DEFAULT_USER,
    spread: bool = True,
) -> list[list[str] | None]:
    """The user chunks covering what `ingest(source, period=, users=)` would read.

    A --team/--user run chunks its own list (no telemetry scan); without telemetry only
    users with task folders are kept, so no chunk meets "no data found" on its own.
    `spread=False` (a thread pool, where chunks would only cost CPU: each one re-reads the
    telemetry) gives one chunk holding the filter as it is (None: everyone).
    """
    if not spread:
        return [sorted(set(users)) if users is not None else None]
    store = open_store(str(source), s3_client, must_exist=True)
    units = detect_units(store, default_user, None)  # raises as ingest does on no data
    folder_users = {u.user for u in units if u.kind != "events" and u.user is not None}
    events = [u.prefix for u in units if u.kind == "events"]
    if users is not None:
        wanted = set(users) if events else set(users) & folder_users
    else:
        wanted = folder_users | event_users(store, events, period)
    # no user at all: one chunk with an empty filter, exactly what ingest(users=[]) does
    return split_users(sorted(wanted), chunk_users) or [[]]


def _row_keys(table: pa.Table) -> list[tuple]:
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return list(zip(*cols, strict=True)) if cols else []


def merge_quarantine(parts: Sequence[pa.Table]) -> tuple[pa.Table, int]:
    """The chunks' quarantine tables in chunk order, the rows every chunk found (lines
    that name no user) kept from the first only; (table, rows dropped)."""
    keys = [_row_keys(p) for p in parts]
    shared = set.intersection(*(set(k) for k in keys)) if len(parts) > 1 else set()
    quarantine = [parts[0]]
    dropped = 0
    for part, part_keys in zip(parts[1:], keys[1:], strict=True):
        keep = [k not in shared for k in part_keys]
        dropped += keep.count(False)
        quarantine.append(part.filter(pa.array(keep, pa.bool_())))
    return concat(quarantine, QUARANTINE_SCHEMA), dropped


def merge_counts(counts: Sequence[dict[str, int]], dropped: int) -> dict[str, int]:
    merged = {k: sum(int(c.get(k, 0)) for c in counts) for k in COUNT_KEYS}
    merged["quarantined"] -= dropped
    merged["records_in"] -= dropped
    return merged


def merge_spooled(parts: Sequence[SpooledChunk]) -> tuple[Spool, dict[str, int], pa.Table]:
    """The spooled chunks as the run's spool (in chunk order), their counts and their
    quarantine merged as merge_chunks does."""
    if not parts:
        raise ValueError("merge_spooled: no chunk results")
    spool = Spool(parts)
    quarantine, dropped = merge_quarantine(
        [pq.read_table(p) if (p := c.path("quarantine")) else QUARANTINE_SCHEMA.empty_table()
         for c in parts]
    )  # fmt: skip
    return spool, merge_counts([c.counts for c in parts], dropped), quarantine


def concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    tables = [t for t in tables if t.num_rows]
    return pa.concat_tables(tables) if tables else schema.empty_table()
