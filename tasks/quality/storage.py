"""Data-bucket I/O of the job: roster and history in; validated, quarantine, gate out."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.common.errors import InputError
from tasks.common.layout import ROSTER_KEY, quarantine_key, state_key, validated_key
from tasks.common.models import Period
from tasks.common.periods import period_days
from tasks.common.storage import get_or_none, iter_objects, put_object
from tasks.quality.assess import Assessment
from tasks.quality.config import JOB
from tasks.quality.derived import derived_redactor, redact_table
from tasks.quality.frames import parse_roster
from tasks.quality.parameters import TABLES
from tasks.quality.spool import Spool, batch_rows_setting

RAW = "raw/"
HISTORY_KEY = state_key(JOB, "history.json")
DAY_COLUMN = {"tasks": "started_at", "events": "ts"}


def gate_key(day: date) -> str:
    return state_key(JOB, f"gate/{day.isoformat()}.json")


def read_roster(client, bucket: str) -> tuple[pd.DataFrame | None, list[dict[str, Any]]]:
    """The roster (or None when absent) and its input record for the attestation."""
    body = get_or_none(client, bucket, ROSTER_KEY)
    if body is None:
        return None, []
    uri = f"s3://{bucket}/{ROSTER_KEY}"
    return parse_roster(body, uri), [
        {"uri": uri, "digest": {"sha256": hashlib.sha256(body).hexdigest()}}
    ]


def read_history(client, bucket: str) -> dict[str, Any]:
    body = get_or_none(client, bucket, HISTORY_KEY)
    if body is None:
        return {"days": {}}
    try:
        data = json.loads(body)
    except ValueError:
        raise InputError(f"s3://{bucket}/{HISTORY_KEY}: history is not JSON") from None
    return data if isinstance(data, dict) and isinstance(data.get("days"), dict) else {"days": {}}


def _day_labels(table: pa.Table, name: str, days: list[date]) -> pa.Array:
    """The row's UTC date clamped into the period (a task may start before it)."""
    first, last = days[0].isoformat(), days[-1].isoformat()
    labels = pc.strftime(table.column(DAY_COLUMN[name]), format="%Y-%m-%d")
    labels = pc.fill_null(labels, first)
    labels = pc.if_else(pc.less(labels, first), first, labels)
    return pc.if_else(pc.greater(labels, last), last, labels)


def _valid_by_day(
    spool: Spool, name: str, days: list[date], redactor: Any, folder: str
) -> tuple[dict[str, str], dict[str, int]]:
    """The valid rows of `name`, redacted, in one local Parquet file per day (empty days
    too); (day -> file, day -> rows). One batch in memory at a time."""
    schema = spool.schemas[f"valid-{name}"]
    paths = {d.isoformat(): os.path.join(folder, f"{name}-{d.isoformat()}.parquet") for d in days}
    writers = {d: pq.ParquetWriter(p, schema, compression="zstd") for d, p in paths.items()}
    rows = dict.fromkeys(paths, 0)
    try:
        for batch in spool.batches(f"valid-{name}", batch_rows_setting()):
            batch, _ = redact_table(name, batch, redactor)
            labels = _day_labels(batch, name, days)
            for day, writer in writers.items():
                part = batch.filter(pc.equal(labels, day))
                if part.num_rows:
                    writer.write_table(part.cast(schema))
                    rows[day] += part.num_rows
    finally:
        for w in writers.values():
            w.close()
    return paths, rows


def write_outputs(
    client,
    bucket: str,
    run_id: str,
    period: Period,
    a: Assessment,
    update_history: bool,
    redaction: dict[str, Any] | None = None,
) -> list[str]:
    """Validated Parquet per table and day (empty days too, so readers never fall back to an
    older run), quarantine JSON lines per day, the gate record per day, the history.

    Commands, paths and workspaces pass through the redaction engine first (`redaction` is
    the config section; the key is required), and so do the quarantine lines: no clear-text
    secret reaches derived data, which outlives the raw logs.
    Tables are written even when the gate fails: the gate record (written after them) is
    what readers such as cost-budget consult before using a day.
    The valid rows are read from the run's spool batch by batch; each day's file is
    built on local disk and uploaded from there.
    """
    redactor = derived_redactor(redaction)
    days = period_days(period)
    written: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    for name in TABLES:
        paths, counts[name] = _valid_by_day(a.valid, name, days, redactor, a.valid.folder)
        for day in days:
            key = validated_key(name, day, run_id)
            with open(paths[day.isoformat()], "rb") as body:
                put_object(client, bucket, key, body, "application/vnd.apache.parquet")
            os.remove(paths[day.isoformat()])
            written.append(key)
    by_day: dict[str, list[bytes]] = {}
    for row in a.parse_quarantine + [r for n in TABLES for r in a.splits[n].quarantine]:
        by_day.setdefault(row.get("day") or days[0].isoformat(), []).append(
            redactor.redact_json(orjson.dumps(row, default=str))
        )
    for label, lines in sorted(by_day.items()):
        key = quarantine_key(date.fromisoformat(label), run_id)
        put_object(client, bucket, key, b"\n".join(lines) + b"\n", "application/x-ndjson")
        written.append(key)
    record = orjson.dumps(a.gate.record(run_id))
    for day in days:
        put_object(client, bucket, gate_key(day), record, "application/json")
        written.append(gate_key(day))
    if update_history:
        history = read_history(client, bucket)
        history["days"].update(history_entries(a, days, run_id, counts))
        put_object(client, bucket, HISTORY_KEY, orjson.dumps(history), "application/json")
        written.append(HISTORY_KEY)
    return written


def history_entries(
    a: Assessment, days: list[date], run_id: str, counts: dict[str, dict[str, int]]
) -> dict[str, dict[str, Any]]:
    """Per day: validated row counts (the row-count bounds) and fleet metrics (the charts)."""
    out: dict[str, dict[str, Any]] = {d.isoformat(): {"run_id": run_id} for d in days}
    for name in TABLES:
        for d in out:
            out[d][name] = counts[name].get(d, 0)
    for m in a.metrics.get("by_day", []):
        if m["day"] in out:
            out[m["day"]].update(
                {k: m[k] for k in ("success_rate", "rollback_rate", "error_rate",
                                   "median_cycle_s", "cost_per_completed")}
            )  # fmt: skip
    return out


@dataclass
class RawInputs:
    spool: Spool  # the period's tasks and events, on local disk
    counts: dict[str, int]
    quarantine: pa.Table
    roster: pd.DataFrame | None
    history: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)


def filter_users(
    roster: pd.DataFrame | None, team: str | None, user: str | None
) -> list[str] | None:
    """Users to ingest for a --team/--user run (None: everyone)."""
    if not team:
        return [user] if user else None
    if roster is None or "team" not in roster.columns:
        raise InputError(f"{ROSTER_KEY}: a team filter needs the roster and its team column")
    members = roster.loc[roster["team"].eq(team).fillna(False), "user"].dropna().tolist()
    return [u for u in members if not user or u == user]


def listing_digest(client, bucket: str, prefix: str) -> dict[str, Any]:
    """A digest of the listing (key, ETag, size) of what ingestion could read."""
    h = hashlib.sha256()
    n = 0
    for obj in iter_objects(client, bucket, prefix):
        h.update(f"{obj['Key']}\t{obj.get('ETag', '')}\t{obj.get('Size', 0)}\n".encode())
        n += 1
    return {"uri": f"s3://{bucket}/{prefix}", "digest": {"sha256": h.hexdigest()}, "objects": n}


@dataclass
class InputPlan:
    """What the run reads besides the telemetry, and the user chunks ingestion maps over."""

    source: str
    chunks: list[list[str] | None]
    roster: pd.DataFrame | None
    history: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)


def plan_inputs(
    client,
    bucket: str,
    period: Period,
    team: str | None,
    user: str | None,
    chunk_users: int | None = None,
    spread: bool = True,
) -> InputPlan:
    """Roster, history, the raw/ listing digest, and the chunks of users to ingest."""
    from tasks.quality.chunks import plan_chunks

    roster, inputs = read_roster(client, bucket)
    source = f"s3://{bucket}/{RAW}"
    users = filter_users(roster, team, user)
    chunks = plan_chunks(
        source, s3_client=client, period=period, users=users, chunk_users=chunk_users,
        spread=spread,
    )  # fmt: skip
    inputs.append(listing_digest(client, bucket, RAW))
    return InputPlan(source, chunks, roster, read_history(client, bucket), inputs)


def raw_inputs(
    plan: InputPlan, spool: Spool, counts: dict[str, int], quarantine: pa.Table
) -> RawInputs:
    """The plan plus the merged ingestion (the spooled chunks)."""
    return RawInputs(spool, counts, quarantine, plan.roster, plan.history, plan.inputs)
