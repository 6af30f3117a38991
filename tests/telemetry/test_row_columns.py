"""Rows are tuples in schema order, read and patched by column name (schema.py's
column_index), never by hard-coded position."""

from __future__ import annotations

import pytest

from tasks.telemetry.events import _row
from tasks.telemetry.parse_task import _refresh_request_row, mark_excluded
from tasks.telemetry.schema import (
    EVENT_COLUMNS,
    EVENTS_SCHEMA,
    TASK_COLUMNS,
    TASKS_SCHEMA,
    with_columns,
)


def _named(row: tuple) -> dict:
    assert len(row) == len(EVENTS_SCHEMA)
    return dict(zip(EVENTS_SCHEMA.names, row, strict=True))


def test_column_index_follows_the_schema():
    assert list(EVENT_COLUMNS) == EVENTS_SCHEMA.names
    assert list(TASK_COLUMNS) == TASKS_SCHEMA.names
    assert EVENT_COLUMNS["tokens_in_includes_cache"] == len(EVENTS_SCHEMA) - 1


def test_a_telemetry_row_lands_in_its_named_columns():
    props = {"inputTokens": 11, "outputTokens": 7, "cost": 0.5, "modelId": "m", "mode": "code"}
    row = _named(_row("ann", "t1", 1000, 3, "LLM Completion", props, None))
    assert (row["user"], row["task_id"], row["ts"], row["seq"]) == ("ann", "t1", 1000, 3)
    assert (row["tokens_in"], row["tokens_out"], row["cost"]) == (11, 7, 0.5)
    assert (row["model"], row["mode"], row["source"]) == ("m", "code", "telemetry")


def test_request_rows_are_patched_by_name():
    msg = {"type": "say", "say": "api_req_started", "text": "{}"}
    events = [_row("ann", "t1", 1000, 1, "x", {}, msg), _row("ann", "t1", 1001, 2, "x", {}, None)]
    before = [_named(r) for r in events]
    mark_excluded(events, 0)
    after = _named(events[0])
    assert after["tokens_in_includes_cache"] is False
    assert {k: v for k, v in after.items() if k != "tokens_in_includes_cache"} == {
        k: v for k, v in before[0].items() if k != "tokens_in_includes_cache"
    }
    assert _named(events[1]) == before[1]  # not a request row: untouched
    _refresh_request_row(
        events,
        0,
        {"apiProtocol": "anthropic", "tokensIn": 5, "tokensOut": 6, "cacheWrites": 1,
         "cacheReads": 2, "cost": 0.25},
    )  # fmt: skip
    patched = _named(events[0])
    figures = ("api_protocol", "tokens_in", "tokens_out", "cache_writes", "cache_reads", "cost")
    assert [patched[k] for k in figures] == ["anthropic", 5, 6, 1, 2, 0.25]
    assert {k: v for k, v in patched.items() if k not in figures} == {
        k: v for k, v in after.items() if k not in figures
    }


def test_an_unknown_column_is_an_error_not_a_shift():
    row = tuple(range(len(EVENTS_SCHEMA)))
    with pytest.raises(KeyError):
        with_columns(row, EVENT_COLUMNS, tokens_inn=1)
