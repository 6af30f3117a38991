"""Read the validated tables for a range of days, honouring telemetry-quality's gate.

validated/<table>/date=YYYY-MM-DD/<run_id>.parquet, and per day
state/telemetry-quality/gate/<YYYY-MM-DD>.json = {"status", "run_id", "reasons"}.
A day whose gate is `fail` or missing is refused unless `force`.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.common.errors import InputError
from tasks.common.layout import VALIDATED, state_key
from tasks.common.storage import get_bytes, get_or_none, iter_objects
from tasks.telemetry.schema import EVENTS_SCHEMA, TASKS_SCHEMA

GATE_JOB = "telemetry-quality"
# Events that carry spend: API requests, and context condensing (its cost counts too).
COST_CATEGORIES = ("api_request", "condense")
EVENT_COLUMNS = [
    "user", "team", "task_id", "ts", "source", "category", "api_protocol", "tokens_in", "tokens_out",
    "cache_writes", "cache_reads", "cost", "mode", "provider", "model", "app_version",
    "tokens_in_includes_cache",
]  # fmt: skip
TASK_COLUMNS = [
    "user", "team", "task_id", "parent_task_id", "root_task_id", "status", "started_at",
    "mode", "provider", "model", "app_version", "api_protocol", "total_cost", "api_config",
]  # fmt: skip


@dataclass
class DayStatus:
    day: date
    gate: str  # pass | warn | fail | missing
    used: bool
    reason: str = ""
    has_data: bool = True  # validated objects were found for the day (else: unknown)


@dataclass
class LoadedData:
    requests: pa.Table
    tasks: pa.Table
    days: list[DayStatus] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    # {(user, profile name): (provider, model)} from collected settings (models.py)
    profiles: dict[tuple[str, str], tuple] = field(default_factory=dict)
    # out of core (shards.py): the cost events spilled to local disk by user, in shards
    # of whole users; `requests` is then empty. `spill` owns (and removes) the folder.
    shards: list[list[str]] = field(default_factory=list)
    spill: Any = None


def gate_key(day: date) -> str:
    return state_key(GATE_JOB, f"gate/{day.isoformat()}.json")


def read_gate(client, bucket: str, day: date) -> dict[str, Any] | None:
    body = get_or_none(client, bucket, gate_key(day))
    if body is None:
        return None
    try:
        gate = json.loads(body)
    except ValueError:
        raise InputError(f"s3://{bucket}/{gate_key(day)}: gate file is not JSON") from None
    if not isinstance(gate, dict) or gate.get("status") not in ("pass", "warn", "fail"):
        raise InputError(f"s3://{bucket}/{gate_key(day)}: gate status must be pass|warn|fail")
    return gate


# Low-cardinality strings stay dictionary-encoded (memory, and hashing codes not strings).
DICT_COLUMNS = ["user", "team", "source", "category", "api_protocol", "mode", "provider", "model",
                "app_version", "status"]  # fmt: skip


def plain(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Decode a dictionary column to its value type (chunks may carry different dictionaries)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.unify_dictionaries() if pa.types.is_dictionary(col.type) else col
        col = col.combine_chunks()
    return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col


def key_column(
    col: pa.ChunkedArray | pa.Array, fill: str | None = None, decode: bool = False
) -> pa.ChunkedArray | pa.Array:
    """A column usable as a group_by key: nulls filled, dictionaries unified across chunks
    (`decode`: one plain array instead, for string kernels such as joining keys)."""
    if decode:
        col = plain(col)
    if fill is not None:
        col = pc.fill_null(col, fill)
    if isinstance(col, pa.ChunkedArray) and pa.types.is_dictionary(col.type):
        col = col.unify_dictionaries()
    return col


def conform(table: pa.Table, schema: pa.Schema, columns: list[str]) -> pa.Table:
    """Select `columns` in the contract's types (a dictionary of the contract's string type
    is kept as is); a missing column becomes nulls."""
    arrays, fields = [], []
    for name in columns:
        field = schema.field(name)
        if name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, field.type))
        elif pa.types.is_dictionary(table[name].type) and table[name].type.value_type == field.type:
            arrays.append(table[name].unify_dictionaries())
            field = field.with_type(table[name].type)
        else:
            arrays.append(table[name].cast(field.type))
        fields.append(field)
    return pa.table(arrays, schema=pa.schema(fields))


def _day_objects(client, bucket: str, table: str, day: date, run_id: str | None) -> list[str]:
    prefix = f"{VALIDATED}{table}/date={day.isoformat()}/"
    keys = sorted(
        o["Key"] for o in iter_objects(client, bucket, prefix) if o["Key"].endswith(".parquet")
    )
    if not keys:
        return []
    if run_id:
        chosen = [k for k in keys if k.rsplit("/", 1)[1] == f"{run_id}.parquet"]
        if chosen:
            return chosen
    return keys[-1:]  # reruns write one file per run; run ids sort by time: take the newest


def read_parquet(
    source: Any, columns: list[str], schema: pa.Schema, cost_only: bool = False
) -> pa.Table:
    """The file's `columns` that it has, in the contract's types (the rest — commands,
    paths — is never decoded), read row group by row group; `cost_only` keeps only the
    cost events of each row group as it is read, so the other events are never held."""
    meta = pq.read_metadata(source)  # the footer, parsed once and handed to the reader
    present = set(meta.schema.to_arrow_schema().names)
    wanted = [c for c in columns if c in present]
    dicts = [c for c in DICT_COLUMNS if c in present]
    f = pq.ParquetFile(source, metadata=meta, read_dictionary=dicts)
    parts = []
    for i in range(f.num_row_groups):
        t = f.read_row_group(i, columns=wanted)
        if cost_only and "category" in t.column_names:
            t = t.filter(pc.is_in(t["category"], pa.array(COST_CATEGORIES)))
        parts.append(t)
    table = pa.concat_tables(parts) if parts else f.schema_arrow.empty_table().select(wanted)
    return conform(table, schema, columns)


def _read_parquet(
    client, bucket: str, key: str, inputs: list[dict[str, Any]], columns: list[str],
    schema: pa.Schema, cost_only: bool = False,
) -> pa.Table:  # fmt: skip
    body = get_bytes(client, bucket, key)
    inputs.append(
        {"uri": f"s3://{bucket}/{key}", "digest": {"sha256": hashlib.sha256(body).hexdigest()}}
    )
    try:
        return read_parquet(io.BytesIO(body), columns, schema, cost_only)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            f"s3://{bucket}/{key}: not a readable Parquet file ({type(exc).__name__})"
        ) from None


def load_days(
    client, bucket: str, report_days: list[date], context_days: list[date], force: bool = False,
    spill_rows: int | None = None,
) -> LoadedData:  # fmt: skip
    """Read cost events and tasks for context days (history) and report days.

    Report days with a failing/missing gate are refused (listed, not read) unless `force`;
    context days without a passing gate are skipped quietly (they only feed baselines).
    Past `spill_rows` cost events (default shards.SPILL_ROWS) the events go to local disk,
    bucketed by user (shards.py), and are analysed shard by shard: memory stays bounded.
    """
    from tasks.budget import shards

    spill_rows = shards.SPILL_ROWS if spill_rows is None else spill_rows
    task_parts: list[pa.Table] = []
    statuses: list[DayStatus] = []
    inputs: list[dict[str, Any]] = []
    event_keys: list[str] = []
    report_set = set(report_days)
    for day in sorted(set(context_days) | report_set):
        gate = read_gate(client, bucket, day)
        status = gate["status"] if gate else "missing"
        ok = status in ("pass", "warn") or force
        reason = "" if status in ("pass", "warn") else f"gate {status}"
        if not ok:
            statuses.append(DayStatus(day, status, False, reason))
            continue
        run_id = gate.get("run_id") if gate else None
        found = _day_objects(client, bucket, "events", day, run_id)
        event_keys += found
        for key in _day_objects(client, bucket, "tasks", day, run_id):
            found.append(key)
            task_parts.append(
                _read_parquet(client, bucket, key, inputs, TASK_COLUMNS, TASKS_SCHEMA)
            )
        note = reason + (" (forced)" if reason else "")
        statuses.append(DayStatus(day, status, True, note, has_data=bool(found)))
    tasks = pa.concat_tables(task_parts) if task_parts else empty_tasks()
    # the tasks first: a spilled event without a user is bucketed by its task's user
    req_parts: list[pa.Table] = []
    held, spill = 0, None
    for key in event_keys:
        part = _read_parquet(client, bucket, key, inputs, EVENT_COLUMNS, EVENTS_SCHEMA, True)
        held += part.num_rows
        if spill is None and held > spill_rows:
            spill = shards.Spill(tasks)
            for p in req_parts:
                spill.add(p)
            req_parts = []
        if spill is None:
            req_parts.append(part)
        else:
            spill.add(part)
    requests = pa.concat_tables(req_parts) if req_parts else empty_requests()
    data = LoadedData(requests, tasks, statuses, inputs)
    if spill is not None:
        data.shards, data.spill = spill.close(), spill
    return data


def empty_requests() -> pa.Table:
    return conform(pa.table({}), EVENTS_SCHEMA, EVENT_COLUMNS)


def empty_tasks() -> pa.Table:
    return conform(pa.table({}), TASKS_SCHEMA, TASK_COLUMNS)


def load_period(client, bucket: str, period: Any, cfg: Any, force: bool) -> LoadedData:
    """The period's cost events and tasks (load_days) with the context its rules need
    (anomaly history, budget windows: analysis.context_start), and the users' settings
    profiles when a task names no model."""
    from tasks.budget.analysis import context_start, report_days
    from tasks.budget.models import profile_models
    from tasks.common.periods import days_between

    days = report_days(period)
    # Local days straddle UTC partitions: read one extra partition on each side as context.
    ctx = days_between(context_start(days, cfg) - timedelta(days=1), min(days))
    ctx += [max(days) + timedelta(days=1)]
    data = load_days(client, bucket, days, ctx, force=force)
    if data.tasks.num_rows and pc.any(pc.is_null(data.tasks["model"])).as_py():
        # tasks whose telemetry names no model: the profile in the user's settings may
        users = pc.unique(pc.drop_null(data.tasks["user"])).to_pylist()
        data.profiles = profile_models(client, bucket, sorted(str(u) for u in users))
    return data


def inputs_manifest(inputs: list[dict[str, Any]], bucket: str) -> tuple[list[dict], bytes]:
    """One input entry (a digest of the listing of what was read) for the signed statement,
    which must stay small (KMS signs at most 4096 bytes), and the full list as a file."""
    import hashlib
    import json

    body = json.dumps(sorted(inputs, key=lambda i: i["uri"]), indent=1).encode()
    if not inputs:
        return [], body
    entry = {"uri": f"s3://{bucket}/validated/", "digest": {"sha256": hashlib.sha256(body).hexdigest()},
             "objects": len(inputs), "listing": "inputs.json"}  # fmt: skip
    return [entry], body
