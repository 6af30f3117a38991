"""Builders of validated-table rows for the cost-budget tests (synthetic, deterministic)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pyarrow as pa

from tasks.budget.config import parse_config
from tasks.budget.reader import EVENT_COLUMNS, TASK_COLUMNS, conform
from tasks.telemetry.schema import EVENTS_SCHEMA, TASKS_SCHEMA

SONNET = "claude-sonnet-4-20250514"  # genai-prices: $3 in, $15 out, $3.75 cw, $0.30 cr


def request(**kw: Any) -> dict[str, Any]:
    row = {
        "user": "alice", "team": "platform", "task_id": "t1", "category": "api_request",
        "source": "ui_messages",
        "ts": datetime(2026, 11, 20, 12, tzinfo=UTC), "api_protocol": "anthropic",
        "tokens_in": 1000, "tokens_out": 100, "cache_writes": 0, "cache_reads": 0,
        "cost": None, "mode": "code", "provider": "anthropic", "model": SONNET,
        "app_version": "3.40.0",
    }  # fmt: skip
    row.update(kw)
    return row


def task(**kw: Any) -> dict[str, Any]:
    row = {c: None for c in TASK_COLUMNS}
    row.update({"user": "alice", "team": "platform", "task_id": "t1", "status": "completed",
                "mode": "code", "provider": "anthropic", "model": SONNET, "app_version": "3.40.0"})  # fmt: skip
    row.update(kw)
    return row


def requests_table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([EVENTS_SCHEMA.field(c) for c in EVENT_COLUMNS])
    return conform(pa.Table.from_pylist(rows, schema=schema), EVENTS_SCHEMA, EVENT_COLUMNS)


def tasks_table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([TASKS_SCHEMA.field(c) for c in TASK_COLUMNS])
    return conform(pa.Table.from_pylist(rows, schema=schema), TASKS_SCHEMA, TASK_COLUMNS)


TEAMS = {"platform": ["alice", "bob", "carol", "dan"], "web": ["erin", "frank", "gina"],
         "data": ["hal", "ivy", "jon", "kim"]}  # fmt: skip


def fleet(
    start: date,
    days: int,
    seed: int = 7,
    spikes: list[tuple[str, date, float]] = (),
    team_boost: dict[str, float] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """A fleet of 11 users; each works weekdays (less on weekends) with ordinary noise.

    spikes: (user, day, extra USD) planted as one huge task that day.
    team_boost: {team: factor} multiplies that team's every request (over budget).
    """
    rng = random.Random(seed)
    reqs, tasks = [], []
    for d in range(days):
        day = start + timedelta(days=d)
        for team, users in TEAMS.items():
            for user in users:
                n_tasks = rng.randint(2, 4) if day.weekday() < 5 else rng.randint(0, 1)
                for k in range(n_tasks):
                    tid = f"{user}-{day:%m%d}-{k}"
                    tasks.append(
                        task(user=user, team=team, task_id=tid, started_at=_ts(day, 9 + k))
                    )
                    for r in range(rng.randint(4, 8)):
                        tin = int(rng.uniform(20_000, 40_000) * (team_boost or {}).get(team, 1.0))
                        reqs.append(request(
                            user=user, team=team, task_id=tid, ts=_ts(day, 9 + k, r),
                            tokens_in=tin, tokens_out=rng.randint(300, 900),
                            cache_writes=0, cache_reads=0,
                        ))  # fmt: skip
        for user, sday, usd in spikes:
            if sday == day:
                team = next(t for t, us in TEAMS.items() if user in us)
                tid = f"{user}-{day:%m%d}-spike"
                tasks.append(task(user=user, team=team, task_id=tid, started_at=_ts(day, 15)))
                # $3 per million input tokens: usd dollars of uncached input.
                reqs.append(request(user=user, team=team, task_id=tid, ts=_ts(day, 15),
                                    tokens_in=int(usd / 3 * 1_000_000), tokens_out=0))  # fmt: skip
    return requests_table(reqs), tasks_table(tasks)


def _ts(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def config(rules: list[dict] | None = None, **budget: Any):
    return parse_config(budget, {"timezone": "UTC", "rules": rules or []}, "test.yaml")


def by_task(tasks: pa.Table) -> dict[str, SimpleNamespace]:
    """The analysis' task table (task_table.TASK_SCHEMA) as {task id: row}, row.effective…"""
    return {r["task_id"]: SimpleNamespace(**r) for r in tasks.to_pylist()}


def task_rows(rows: list[dict[str, Any]]) -> pa.Table:
    """A task table (task_table.TASK_SCHEMA) from rows naming some of its columns."""
    from tasks.budget.task_table import TASK_SCHEMA

    full = [{f.name: r.get(f.name) for f in TASK_SCHEMA} for r in rows]
    return pa.Table.from_pylist(full, schema=TASK_SCHEMA)
