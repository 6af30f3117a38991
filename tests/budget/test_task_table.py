"""The task list (every root task's figures, kept for the task caps' medians, the top
tasks and task_costs.csv) is held as columns, not as one Python object per task: at
100 M requests (2.5 M tasks) Python objects at 0.5-0.7 KB a task alone would be over
the 2 GB target."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
from budget_data import config, request, requests_table, task, tasks_table

from tasks.budget import analysis, shards
from tasks.budget.reader import DayStatus, LoadedData
from tasks.common.periods import resolve_period

DAY = date(2026, 11, 20)


def _fleet(n_tasks: int) -> tuple[pa.Table, pa.Table]:
    reqs, tasks = [], []
    for i in range(n_tasks):
        user, tid = f"user{i % 50:02d}", f"user{i % 50:02d}-task-{i:06d}"
        team = f"team{i % 4}"
        tasks.append(task(user=user, team=team, task_id=tid, mode=("code", "ask")[i % 2]))
        for k in range(2):
            ts = datetime(2026, 11, 20, 8, tzinfo=UTC) + timedelta(seconds=i + k)
            reqs.append(request(user=user, team=team, task_id=tid, ts=ts, tokens_in=1000 + i))
    return requests_table(reqs), tasks_table(tasks)


def test_the_sharded_analysis_holds_its_task_list_as_columns(monkeypatch, tmp_path):
    n = 10_000
    reqs, tasks = _fleet(n)
    monkeypatch.setattr(shards, "SHARD_ROWS", 5_000)
    spill = shards.Spill(tasks)
    spill.add(reqs)
    data = LoadedData(requests_table([]), tasks, [DayStatus(DAY, "pass", True)], [])
    data.shards, data.spill = spill.close(), spill
    assert len(data.shards) > 4
    del reqs
    rules = [{"name": "caps", "type": "task_cap", "threshold": {"warn": "3x"}}]
    cfg = config(rules)
    period = resolve_period(str(DAY), str(DAY + timedelta(days=1)))
    analysis.analyze(data, period, cfg)  # once first: imports and caches (the price table)
    gc.collect()
    tracemalloc.start()
    arrow_before = pa.total_allocated_bytes()
    try:
        a = analysis.analyze(data, period, cfg)
        gc.collect()
        python_held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    held = python_held + pa.total_allocated_bytes() - arrow_before
    assert a.summary["root_tasks"] == n
    # columns: ~40 bytes of task id, 4 per dictionary code, 8 per figure ≈ 100 B a task (401 as Python objects)
    assert held / n < 250, f"{held / n:.0f} bytes held per task"


def test_a_task_seen_in_two_shards_is_one_row_with_its_figures_added():
    """A task whose requests name two users spans shards: one row, sums added, the
    earliest first day, the first shard's attributes, in first-seen order."""
    from budget_data import task_rows

    from tasks.budget import task_table

    def row(tid, user, day, eff):
        return {"task_id": tid, "user": user, "first_day": date(2026, 11, day), "effective": eff,
                "reported": eff, "recomputed": eff, "compared_requests": 1, "requests": 2}  # fmt: skip

    one = task_rows([row("a", "amy", 3, 1.0), row("b", "amy", 1, 2.0)])
    two = task_rows([row("c", "bob", 2, 4.0), row("a", "bob", 2, 0.5)])
    merged = task_table.merge([one, two])
    assert merged["task_id"].to_pylist() == ["a", "b", "c"]
    a = merged.to_pylist()[0]
    assert (a["user"], a["first_day"], a["effective"], a["requests"]) == (
        "amy",
        date(2026, 11, 2),
        1.5,
        4,
    )
    assert task_table.merge([one]).equals(one.unify_dictionaries().combine_chunks())
