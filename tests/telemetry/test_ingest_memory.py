"""Ingestion streams: peak Python memory does not grow with the number of tasks."""

from __future__ import annotations

import json
import tracemalloc

from ingest_helpers import T0, ask, req, say

from tasks.telemetry.ingest import Ingestion


def _fleet(root, n_tasks):
    tasks = root / "raw/roo/u/tasks"
    for i in range(n_tasks):
        t0 = T0 + i * 10_000
        msgs = [say(t0, "text", "prompt " * 20)]
        for j in range(1, 60):
            msgs.append(req(t0 + j, tokensIn=100 + j, tokensOut=10, cost=0.001) if j % 3 else
                        ask(t0 + j, "tool", {"tool": "appliedDiff", "path": f"f{j}.py",
                                             "diff": "x" * 300}))  # fmt: skip
        folder = tasks / f"00000000-0000-4000-8000-{i:012d}"
        folder.mkdir(parents=True)
        (folder / "ui_messages.json").write_text(json.dumps(msgs))
        (folder / "history_item.json").write_text(json.dumps({"id": folder.name, "mode": "code"}))


def _peak(root, expect_tasks):
    tracemalloc.start()
    try:
        run = Ingestion(str(root), batch_rows=300, batch_bytes=64 * 1024)
        tasks = events = 0
        for name, table in run:  # consume and drop, like a writer would
            tasks += table.num_rows if name == "tasks" else 0
            events += table.num_rows if name == "events" else 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tasks == expect_tasks and events == expect_tasks * 60
    assert run.counts["records_in"] == events
    return peak


def test_peak_memory_is_flat_between_n_and_4n_tasks(tmp_path):
    n = 12
    _fleet(tmp_path / "small", n)
    _fleet(tmp_path / "large", 4 * n)
    list(Ingestion(str(tmp_path / "small")))  # warm-up, untraced: first-use imports
    small = _peak(tmp_path / "small", n)
    large = _peak(tmp_path / "large", 4 * n)
    # 4x the data, nearly the same peak (an unbounded reader would need ~4x)
    assert large < small * 1.5, (small, large)
