"""Event tables built by hand (EVENTS_SCHEMA), for ledger, check and search tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from tasks.telemetry.schema import EVENTS_SCHEMA

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def row(**kw: Any) -> dict[str, Any]:
    base = {f.name: None for f in EVENTS_SCHEMA}
    base.update(schema_version=1, team="platform", workspace="/home/ann/proj")
    base.update(kw)
    if isinstance(base["ts"], (int, float)):
        base["ts"] = DAY + timedelta(seconds=base["ts"])
    return base


def ui(seq: int, t: float, **kw: Any) -> dict[str, Any]:
    kw.setdefault("type", "ask")
    return row(source="ui_messages", seq=seq, ts=t, **kw)


def tel(seq: int, t: float, **kw: Any) -> dict[str, Any]:
    kw.setdefault("type", "event")
    return row(source="telemetry", seq=seq, ts=t, **kw)


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)


def sample_rows() -> list[dict[str, Any]]:
    """Task t1 (ann, ui_messages + telemetry), task t2 (bob, telemetry only)."""
    a = {"user": "ann", "task_id": "t1"}
    b = {"user": "bob", "team": "data", "task_id": "t2", "workspace": None}
    return [
        ui(0, 0, kind="text", category="prompt", **a),
        ui(1, 10, kind="tool", category="tool", tool="readFile", path="src/a.py", **a),
        ui(
            2,
            20,
            kind="tool",
            category="tool",
            tool="editedExistingFile",
            path="src/a.py",
            mutates=True,
            auto_approved=True,
            **a,
        ),
        ui(
            3,
            30,
            kind="command",
            category="command",
            command="git push origin main",
            mutates=True,
            auto_approved=False,
            **a,
        ),
        ui(
            4,
            40,
            kind="use_mcp_server",
            category="mcp_call",
            tool="use_mcp_tool",
            mcp_server="github",
            mcp_tool="create_issue",
            mutates=True,
            **a,
        ),
        ui(5, 50, kind="tool", category="mode_switch", tool="switchMode", target_mode="code", **a),
        ui(6, 55, kind="tool", category="mode_switch", tool="switchMode", target_mode="ask", **a),
        ui(
            7,
            60,
            kind="tool",
            category="tool",
            tool="newFileCreated",
            path="../other/x.py",
            mutates=True,
            **a,
        ),
        # telemetry mirrors of t1's actions (dropped), and a telemetry-only rollback (kept)
        tel(100, 21, kind="Tool Used", category="tool", tool="write_to_file", mutates=True, **a),
        tel(101, 11, kind="Tool Used", category="tool", tool="read_file", **a),
        tel(
            102, 31, kind="Tool Used", category="command", tool="execute_command", mutates=True, **a
        ),
        tel(103, 51, kind="Mode Switched", category="mode_switch", target_mode="code", **a),
        tel(104, 70, kind="Checkpoint Restored", category="rollback", mutates=True, **a),
        # t2: telemetry only, so both kept
        tel(
            200, 80, kind="Tool Used", category="command", tool="execute_command", mutates=True, **b
        ),
        tel(201, 90, kind="Mode Switched", category="mode_switch", target_mode="debug", **b),
        tel(202, 95, kind="Mode Switched", category="mode_switch", target_mode="orchestrator", **b),
    ]


@pytest.fixture
def sample_table() -> pa.Table:
    return table(sample_rows())
