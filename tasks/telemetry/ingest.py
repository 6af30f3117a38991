"""Ingest Roo Code data (local folder or s3:// prefix) into the normalised tables.

    from tasks.telemetry.ingest import ingest, Ingestion
    result = ingest("s3://data/", s3_client=client)       # whole tables
    for name, table in Ingestion("s3://data/", s3_client=client):  # bounded memory
        ...                                                # name: tasks | events | quarantine

Memory does not grow with the number of tasks: task folders are listed as a stream and
read one at a time; their ui_messages.json files are parsed in batches (batch.py, up to
BATCH_BYTES at once): well-formed tasks (typed.py
decodes them strictly) by the columnar parser (fastpath.py), anything irregular by the row
parser (parse_task.py, the reference; both give identical rows); rows become Arrow tables
every `batch_rows` rows; no file above `max_file_bytes` (no JSON line above
`max_line_bytes`) is ever read whole — it is quarantined (`too_large`). The only state
kept across tasks is the small per-task attribute map from telemetry (provider, model,
version, mode, restores) used for the join.

Counting: a record is one ui message, one telemetry line, or one file that could not be
read as a whole (not JSON, too large, …). records_in = valid + quarantined always; valid
is the number of EVENTS rows and quarantined the number of QUARANTINE rows. Records
outside `period` or `users` are not read in and not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from tasks.common.models import Period
from tasks.common.storage import open_store
from tasks.telemetry import cline_sessions
from tasks.telemetry.batch import BATCH_BYTES, no_gc, parse_files
from tasks.telemetry.events import TaskAttrs, parse_event_line
from tasks.telemetry.history_index import load_index
from tasks.telemetry.parse_task import TaskContext, parse_messages
from tasks.telemetry.quarantine import qrow
from tasks.telemetry.schema import EVENTS_SCHEMA, QUARANTINE_SCHEMA, TASK_COLUMNS, TASKS_SCHEMA
from tasks.telemetry.sources import (
    EVENTS_DAY,
    TaskFolder,
    Unit,
    agent_of,
    detect_units,
    iter_lines,
    iter_task_folders,
)

DEFAULT_MAX_FILE_BYTES = 48 * 1024 * 1024
DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024
DEFAULT_BATCH_ROWS = 50_000
DEFAULT_USER = "local"
DAY_MS = 86_400_000


@dataclass
class IngestResult:
    tasks: pa.Table
    events: pa.Table
    quarantine: pa.Table
    counts: dict[str, int]


_STARTED, _ENDED = TASK_COLUMNS["started_at"], TASK_COLUMNS["ended_at"]


def rows_to_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Tuples in schema order -> a Table (columns transposed in C by zip)."""
    if not rows:
        return schema.empty_table()
    with no_gc():
        columns = list(zip(*rows, strict=True))
        arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
        del columns
    return pa.Table.from_arrays(arrays, schema=schema)


class Ingestion:
    """Iterate (table name, pa.Table) batches; `counts` is complete once exhausted."""

    def __init__(
        self,
        source: str,
        *,
        s3_client: Any = None,
        period: Period | None = None,
        users: Iterable[str] | None = None,
        default_user: str = DEFAULT_USER,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        columnar: bool = True,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.store = open_store(str(source), s3_client, must_exist=True)
        self.users = set(users) if users is not None else None
        self.default_user = default_user
        self.max_file = max_file_bytes
        self.max_line = max_line_bytes
        self.batch_rows = batch_rows
        self.period_ms = (
            (int(period.start.timestamp() * 1000), int(period.end.timestamp() * 1000))
            if period is not None
            else None
        )
        self.counts = {"records_in": 0, "valid": 0, "quarantined": 0}
        self.attrs = TaskAttrs()
        self.batch_bytes = batch_bytes
        self.columnar = columnar
        self._events: list[tuple] = []  # rows from the row parser and telemetry
        self._tables: list[pa.Table] = []  # EVENTS tables from the columnar parser
        self._pending: list[tuple[TaskContext, bytes]] = []  # ui_messages.json to parse
        self._pending_bytes = 0
        self._tasks: list[tuple] = []
        self._quarantine: list[tuple] = []

    def __iter__(self) -> Iterator[tuple[str, pa.Table]]:
        # the cyclic GC is paused while we parse and runs while the consumer holds a batch
        inner = self._batches()
        while True:
            with no_gc():
                item = next(inner, None)
            if item is None:
                return
            yield item

    def _batches(self) -> Iterator[tuple[str, pa.Table]]:
        units = detect_units(self.store, self.default_user, self.users)
        for unit in units:
            if unit.kind == "events":
                yield from self._events_unit(unit)
            else:
                yield from self._tasks_unit(unit)
        yield from self._flush(final=True)

    # -- batching -------------------------------------------------------------------
    def _flush(self, final: bool = False) -> Iterator[tuple[str, pa.Table]]:
        with no_gc():
            self._run_pending()
            if self._events:
                self._tables.append(rows_to_table(self._events, EVENTS_SCHEMA))
                self._events.clear()
        for table in self._tables:
            self.counts["valid"] += table.num_rows
            yield "events", table
        self._tables.clear()
        self.counts["quarantined"] += len(self._quarantine)
        self.counts["records_in"] = self.counts["valid"] + self.counts["quarantined"]
        if self._quarantine:
            yield "quarantine", rows_to_table(self._quarantine, QUARANTINE_SCHEMA)
            self._quarantine.clear()
        # task rows are small: they wait for a full batch
        if self._tasks and (final or len(self._tasks) >= self.batch_rows):
            yield "tasks", rows_to_table(self._tasks, TASKS_SCHEMA)
            self._tasks.clear()

    def _maybe_flush(self) -> Iterator[tuple[str, pa.Table]]:
        buffered = len(self._events) + len(self._quarantine) + len(self._tables)
        if buffered >= self.batch_rows or self._tables:
            yield from self._flush()
        elif len(self._tasks) >= self.batch_rows:
            yield "tasks", rows_to_table(self._tasks, TASKS_SCHEMA)
            self._tasks.clear()

    # -- telemetry ------------------------------------------------------------------
    def _events_unit(self, unit: Unit) -> Iterator[tuple[str, pa.Table]]:
        for key, _size in self.store.list(unit.prefix):
            if not key.endswith(".jsonl") or not self._day_in_period(key):
                continue
            uri = self.store.uri(key)
            with self.store.open(key) as stream:
                for lineno, line, length in iter_lines(stream, self.max_line):
                    if line is None:
                        detail = f"line of {length} bytes is over the {self.max_line} byte limit"
                        self._quarantine.append(qrow(uri, f"line {lineno}", "too_large", detail))
                    else:
                        parse_event_line(
                            line,
                            lineno,
                            uri,
                            self.attrs,
                            self._events,
                            self._quarantine,
                            self.users,
                            self.period_ms,
                        )
                    if len(self._events) >= self.batch_rows:
                        yield from self._flush()

    def _day_in_period(self, key: str) -> bool:
        if self.period_ms is None:
            return True
        match = EVENTS_DAY.search(key)
        if not match:
            return True
        y, m, d = (int(x) for x in match.groups())
        day_ms = int(datetime(y, m, d, tzinfo=UTC).timestamp() * 1000)
        # a day's file may hold events received just before/after midnight
        return self.period_ms[0] - DAY_MS <= day_ms < self.period_ms[1] + DAY_MS

    # -- task folders ---------------------------------------------------------------
    def _tasks_unit(self, unit: Unit) -> Iterator[tuple[str, pa.Table]]:
        index: dict[str, dict[str, Any]] | None = None
        for folder in iter_task_folders(self.store, unit):
            known = (
                "ui_messages.json",
                "history_item.json",
                cline_sessions.messages_name(folder.task_id),
            )
            if not any(name in folder.files for name in known):
                continue
            hist = self._history(folder)
            if hist is None and unit.kind == "tasks":
                if index is None:
                    index = load_index(self.store, unit.prefix, self.max_file, self._quarantine)
                hist = index.get(folder.task_id)
            self._task(folder, hist)
            yield from self._maybe_flush()

    def _read_json_file(self, folder: TaskFolder, name: str) -> bytes | None:
        """Bytes of a file of the folder, or None (quarantined) when over the size cap."""
        size = folder.files[name]
        if size > self.max_file:
            detail = f"{size} bytes is over the {self.max_file} byte limit"
            self._quarantine.append(
                qrow(self.store.uri(folder.prefix + name), "file", "too_large", detail)
            )
            return None
        return self.store.read(folder.prefix + name)

    def _history(self, folder: TaskFolder) -> dict[str, Any] | None:
        if "history_item.json" not in folder.files:
            return None
        raw = self._read_json_file(folder, "history_item.json")
        if raw is None:
            return None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            uri = self.store.uri(folder.prefix + "history_item.json")
            self._quarantine.append(qrow(uri, "file", "not_json", f"not JSON: {exc.msg}", raw))
            return None
        if type(data) is not dict:
            uri = self.store.uri(folder.prefix + "history_item.json")
            self._quarantine.append(qrow(uri, "file", "bad_type", "not a JSON object", raw))
            return None
        return data

    def _task(self, folder: TaskFolder, hist: dict[str, Any] | None) -> None:
        uri = self.store.uri(folder.prefix.rstrip("/"))
        tel = self.attrs.get(folder.task_id)
        agent = agent_of(folder.task_id, uri)
        if agent == "cline" and not tel.get("model") and "task_metadata.json" in folder.files:
            tel = {**self._metadata_model(folder), **tel}
        v4 = cline_sessions.messages_name(folder.task_id)
        raw = None
        if "ui_messages.json" not in folder.files and v4 in folder.files:
            raw, tel = self._v4_session(folder, tel)
        ctx = TaskContext(folder.user, folder.task_id, uri, hist, tel, self.period_ms, agent)
        if "ui_messages.json" in folder.files:
            raw = self._read_json_file(folder, "ui_messages.json")
        if raw is not None:
            self._pending.append((ctx, raw))
            self._pending_bytes += len(raw)
            if self._pending_bytes >= self.batch_bytes:
                self._run_pending()
            return
        # no readable messages: Roo Code's history (or nothing) tells what is known
        self._add_task(parse_messages(None, ctx, self._events, self._quarantine))

    def _v4_session(self, folder: TaskFolder, tel: dict) -> tuple[bytes | None, dict]:
        """A Cline v4 session folder (cline_sessions.py): its messages as ui_messages
        bytes, and the model its manifest (else its replies) names unless telemetry does.
        A damaged file is quarantined; a damaged manifest still leaves the messages."""
        name = cline_sessions.messages_name(folder.task_id)
        data = self._json_file(folder, name)
        messages = cline_sessions.messages_of(data)
        if messages is None:
            if data is not None:
                uri = self.store.uri(folder.prefix + name)
                self._quarantine.append(qrow(uri, "file", "bad_type", "no list of messages"))
            return None, tel
        manifest = None
        if cline_sessions.manifest_name(folder.task_id) in folder.files:
            manifest = self._json_file(folder, cline_sessions.manifest_name(folder.task_id))
        if not tel.get("model"):
            tel = {**cline_sessions.model_of(messages, manifest), **tel}
        status = manifest.get("status") if isinstance(manifest, dict) else None
        return cline_sessions.as_ui_messages(messages, status), tel

    def _json_file(self, folder: TaskFolder, name: str) -> Any:
        """A file of the folder parsed, or None (quarantined: too large, or not JSON)."""
        raw = self._read_json_file(folder, name)
        if raw is None:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            uri = self.store.uri(folder.prefix + name)
            self._quarantine.append(qrow(uri, "file", "not_json", f"not JSON: {exc.msg}", raw))
            return None

    def _metadata_model(self, folder: TaskFolder) -> dict[str, str]:
        """Cline's task_metadata.json `model_usage` (its last entry names the model and
        provider); {} when absent or unreadable (the file is optional: never quarantined
        for lacking it, but a damaged one is)."""
        data = self._json_file(folder, "task_metadata.json")
        usage = data.get("model_usage") if isinstance(data, dict) else None
        last = usage[-1] if isinstance(usage, list) and usage else None
        if not isinstance(last, dict) or not isinstance(last.get("model_id"), str):
            return {}
        out = {"model": last["model_id"]}
        if isinstance(last.get("model_provider_id"), str):
            out["provider"] = last["model_provider_id"]
        return out

    def _add_task(self, row: tuple) -> None:
        if self.period_ms is None or _overlaps(row[_STARTED], row[_ENDED], self.period_ms):
            self._tasks.append(row)

    def _run_pending(self) -> None:
        """Parse the pending files together (batch.py) and keep their rows."""
        if not self._pending:
            return
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        result = parse_files(pending, self.period_ms, self.columnar)
        self._tables.extend(result.events)
        self._events.extend(result.event_rows)
        self._quarantine.extend(result.quarantine)
        for row in result.task_rows:
            self._add_task(row)


def _overlaps(start: int | None, end: int | None, period: tuple[int, int]) -> bool:
    if start is None:
        return False
    end = start if end is None else end
    return start < period[1] and end >= period[0]


def ingest(
    source: str,
    *,
    s3_client: Any = None,
    period: Period | None = None,
    users: Iterable[str] | None = None,
    default_user: str = DEFAULT_USER,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    columnar: bool = True,
) -> IngestResult:
    """Read a Roo Code storage folder / data bucket prefix into the three tables."""
    run = Ingestion(
        source,
        s3_client=s3_client,
        period=period,
        users=users,
        default_user=default_user,
        max_file_bytes=max_file_bytes,
        max_line_bytes=max_line_bytes,
        columnar=columnar,
    )
    parts: dict[str, list[pa.Table]] = {"tasks": [], "events": [], "quarantine": []}
    for name, table in run:
        parts[name].append(table)
    schemas = {"tasks": TASKS_SCHEMA, "events": EVENTS_SCHEMA, "quarantine": QUARANTINE_SCHEMA}
    tables = {
        name: pa.concat_tables(parts[name]) if parts[name] else schemas[name].empty_table()
        for name in parts
    }
    return IngestResult(tables["tasks"], tables["events"], tables["quarantine"], run.counts)
