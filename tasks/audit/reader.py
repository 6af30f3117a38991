"""Reading a day's validated Parquet through the storage layer: the tasks table whole
(one row per task) and the events row group by row group, each part's digest recorded as
an input of the bundle's statement."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.audit.ledger import READ_COLUMNS
from tasks.common.errors import InputError
from tasks.common.layout import VALIDATED
from tasks.common.storage import S3Store
from tasks.telemetry.schema import EVENTS_SCHEMA

# The event columns the ledger reads; the others (message text, figures) are never decoded.
_LEDGER_SCHEMA = pa.schema([EVENTS_SCHEMA.field(c) for c in READ_COLUMNS])


def _day_keys(store: S3Store, table: str, day: date) -> list[str]:
    prefix = f"{VALIDATED}{table}/date={day.isoformat()}/"
    return sorted(k for k in store.keys(prefix) if k.endswith(".parquet"))


def _get(store: S3Store, key: str, inputs: list[dict[str, Any]]) -> bytes:
    """One Parquet part whole (a part is one object of a chunked write, not the day)."""
    data = store.read(key)
    if data is None:  # listed a moment ago: deleted under us, and the day is then partial
        raise InputError(f"{store.uri(key)}: listed but gone before it was read")
    inputs.append({"uri": store.uri(key), "digest": {"sha256": hashlib.sha256(data).hexdigest()}})
    return data


def _unreadable(uri: str, exc: Exception) -> InputError:
    return InputError(f"{uri}: not a readable parquet file ({type(exc).__name__})")


def read_table(
    client: Any, bucket: str, table: str, day: date, schema: pa.Schema | None = None
) -> tuple[pa.Table | None, list[dict[str, Any]]]:
    """All parquet parts of validated/<table>/date=<day>/, and their digests as inputs
    (the tasks table: one row per task, small beside the events); with `schema`, each part
    in the contract's columns and types (a part lacking one is an InputError naming it)."""
    store = S3Store(client, bucket)
    parts, inputs = [], []
    for key in _day_keys(store, table, day):
        data = _get(store, key, inputs)
        uri = store.uri(key)
        try:
            part = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(uri, exc) from None
        if schema is not None:
            missing = [f.name for f in schema if f.name not in part.column_names]
            if missing:
                raise InputError(f"{uri}: lacks columns {', '.join(missing)}")
            try:
                part = part.select(schema.names).cast(schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise _unreadable(uri, exc) from None
        parts.append(part)
    if not parts:
        return None, inputs
    return pa.concat_tables(parts), inputs


def event_batches(
    parts: Iterable[tuple[str, bytes]], team: str | None = None, user: str | None = None
) -> Iterator[pa.Table]:
    """The ledger's columns of each Parquet part (uri, bytes), row group by row group, in
    the contract's types and scoped: the events are never held whole."""
    for uri, data in parts:
        try:
            f = pq.ParquetFile(io.BytesIO(data))
            missing = [n for n in EVENTS_SCHEMA.names if n not in f.schema_arrow.names]
            if missing:
                raise InputError(f"{uri}: lacks columns {', '.join(missing)}")
            for i in range(f.num_row_groups):
                t = f.read_row_group(i, columns=list(READ_COLUMNS))
                yield scope(t.cast(_LEDGER_SCHEMA), team, user)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise _unreadable(uri, exc) from None


def read_events(
    client: Any, bucket: str, day: date, team: str | None = None, user: str | None = None
) -> tuple[Iterator[pa.Table], list[dict[str, Any]]]:
    """The day's event batches, one Parquet part (object) in memory at a time; `inputs`
    receives each part's digest as it is read."""
    store = S3Store(client, bucket)
    inputs: list[dict[str, Any]] = []
    parts = ((store.uri(key), _get(store, key, inputs)) for key in _day_keys(store, "events", day))
    return event_batches(parts, team, user), inputs


def scope(table: pa.Table, team: str | None, user: str | None) -> pa.Table:
    if team:
        table = table.filter(pc.fill_null(pc.equal(table["team"], team), False))
    if user:
        table = table.filter(pc.fill_null(pc.equal(table["user"], user), False))
    return table
