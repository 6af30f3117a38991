"""Small TASKS/EVENTS tables built row by row (valid by default; tests break them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from tasks.telemetry.schema import EVENTS_SCHEMA, SCHEMA_VERSION, TASKS_SCHEMA

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def tid(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def task_row(n: int, user: str = "alice", **over: Any) -> dict[str, Any]:
    start = DAY + timedelta(hours=1, minutes=n)
    row = {f.name: None for f in TASKS_SCHEMA}
    row.update(
        schema_version=SCHEMA_VERSION, user=user, task_id=tid(n), status="completed",
        started_at=start, ended_at=start + timedelta(minutes=5), mode="code",
        workspace="/home/alice/proj", provider="anthropic", model="claude-sonnet-4-5-20250929",
        app_version="3.52.0", api_protocol="anthropic", tokens_in=1000, tokens_out=100,
        cache_writes=0, cache_reads=0, total_cost=0.05, context_tokens=1100, api_requests=2,
        api_failures=0, tool_uses=3, write_tool_uses=1, commands=1, mcp_calls=0, checkpoints=1,
        checkpoint_restores=0, errors=0, source=f"s3://data/raw/roo/{user}/tasks/{tid(n)}",
    )  # fmt: skip
    row.update(over)
    return row


def event_row(n: int, task: int = 1, user: str = "alice", **over: Any) -> dict[str, Any]:
    row = {f.name: None for f in EVENTS_SCHEMA}
    row.update(
        schema_version=SCHEMA_VERSION, user=user, task_id=tid(task),
        ts=DAY + timedelta(hours=2, seconds=n), seq=n, source="ui_messages", type="say",
        kind="api_req_started", category="api_request", api_protocol="anthropic",
        tokens_in=100, tokens_out=10, cache_writes=0, cache_reads=0, cost=0.01, bytes=120,
        mode="code", provider="anthropic", model="claude-sonnet-4-5-20250929",
        workspace="/home/alice/proj", app_version="3.52.0", mutates=False,
    )  # fmt: skip
    row.update(over)
    return row


def table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def tasks_table(rows: list[dict[str, Any]]) -> pa.Table:
    return table(rows, TASKS_SCHEMA)


def events_table(rows: list[dict[str, Any]]) -> pa.Table:
    return table(rows, EVENTS_SCHEMA)
