"""The task list as columns: one row per root task (subtasks rolled up), its figures and
attributes in an Arrow table (TASK_SCHEMA), never one Python object per task.

The analysis keeps every root task of the loaded days (the task caps' medians span them
all; the top tasks and task_costs.csv read the period's): ≈ 100 bytes a task as columns
(strings that repeat, such as user, team and model, as dictionary codes) where a Python
object per task took 0.5-0.7 KB. Only the rows a finding or a report line is made of
become Python values. Row order is the order the tasks were first seen (the group_by's,
shard after shard), which breaks ties in every sort the same way each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget.reader import plain

ATTRIBUTES = ["user", "team", "mode", "model", "provider", "status", "model_source"]
TASK_SCHEMA = pa.schema([
    ("task_id", pa.string()),
    *[(c, pa.dictionary(pa.int32(), pa.string())) for c in ATTRIBUTES[:6]],
    ("first_day", pa.date32()),
    ("effective", pa.float64()),  # own + subtasks
    ("reported", pa.float64()),  # stored costs of requests that have one
    ("recomputed", pa.float64()),  # our recomputation of those same requests
    ("compared_requests", pa.int64()),
    ("requests", pa.int64()),
    ("subtasks", pa.int64()),
    ("model_source", pa.dictionary(pa.int32(), pa.string())),  # models.resolve's
])  # fmt: skip
FIGURES = ["effective", "reported", "recomputed", "compared_requests", "requests"]
BATCH = 65_536  # rows turned into Python values at a time (report lines)
UNKNOWN = "(unknown)"


def empty() -> pa.Table:
    return TASK_SCHEMA.empty_table()


def _codes(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A string column as dictionary codes (one copy of each distinct value)."""
    values = plain(values)
    if values.type != pa.string():
        values = values.cast(pa.string())
    return pc.dictionary_encode(values).cast(pa.dictionary(pa.int32(), pa.string()))


def from_groups(g: pa.Table, attrs: dict[str, pa.Array], subtasks: pa.Array) -> pa.Table:
    """TASK_SCHEMA rows from task_costs' grouped sums and the tasks' attributes."""
    cols = {
        "task_id": plain(g["root"]),
        **{c: _codes(attrs[c]) for c in ATTRIBUTES[:6]},
        "first_day": g["day_min"],
        "effective": g["eff_sum"],
        "reported": g["rep_sum"],
        "recomputed": g["rec_sum"],
        "compared_requests": g["cmp_sum"],
        "requests": g["eff_count"],
        "subtasks": subtasks.cast(pa.int64()),
        "model_source": _codes(attrs["model_source"]),
    }
    return pa.table(list(cols.values()), schema=TASK_SCHEMA)


def merge(parts: list[pa.Table]) -> pa.Table:
    """The shards' task tables as one, in shard order. A task whose requests name two
    users (never so in Roo Code's or Cline's storage) spans shards: its figures add up,
    its first day is the earliest, its attributes are its first shard's."""
    t = pa.concat_tables([p for p in parts if p.num_rows] or [empty()])
    if t.num_rows == 0:
        return empty()
    t = t.unify_dictionaries().combine_chunks()
    if pc.count_distinct(t["task_id"]).as_py() == t.num_rows:
        return t
    t = t.append_column("_i", pa.array(np.arange(t.num_rows, dtype=np.int64)))
    aggs = [("_i", "min"), ("first_day", "min")] + [(c, "sum") for c in FIGURES]
    g = t.group_by("task_id", use_threads=False).aggregate(aggs)
    g = g.take(pc.sort_indices(g["_i_min"]))
    out = t.take(g["_i_min"]).drop_columns(["_i"])
    for name, col in [("first_day", "first_day_min")] + [(c, f"{c}_sum") for c in FIGURES]:
        out = out.set_column(out.schema.get_field_index(name), name, g[col])
    return out


def in_days(tasks: pa.Table, days: set[date]) -> pa.Table:
    """The tasks that started on one of `days` (a task without a first day: none)."""
    if tasks.num_rows == 0:
        return tasks
    return tasks.filter(
        pc.fill_null(pc.is_in(tasks["first_day"], pa.array(sorted(days), pa.date32())), False)
    )


def count(tasks: pa.Table, status: str | None = None) -> int:
    if status is None or tasks.num_rows == 0:
        return tasks.num_rows
    return int(pc.sum(pc.fill_null(pc.equal(plain(tasks["status"]), status), False)).as_py() or 0)


def rows(tasks: pa.Table, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """The rows as dictionaries, a batch at a time."""
    t = tasks.select(columns) if columns else tasks
    for batch in t.to_batches(max_chunksize=BATCH):
        yield from batch.to_pylist()


def figure(tasks: pa.Table, name: str) -> np.ndarray:
    return tasks[name].to_numpy()


def group_keys(tasks: pa.Table) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Each task's (mode, model) group as a code, and the groups: a missing or empty
    mode or model is "(unknown)" (as `t.mode or "(unknown)"`)."""

    def key(col: str) -> pa.Array:
        v = plain(tasks[col])
        return pc.if_else(pc.fill_null(pc.equal(v, ""), True), UNKNOWN, v)

    joined = pc.binary_join_element_wise(key("mode"), key("model"), "\x1f")
    enc = pc.dictionary_encode(joined)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    names = [tuple(k.split("\x1f", 1)) for k in enc.dictionary.to_pylist()]
    return enc.indices.to_numpy(zero_copy_only=False), names


def _by_group(codes: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(group code, row positions in table order) for each group present."""
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for part in np.split(order, bounds) if len(order) else []:
        yield int(codes[part[0]]), part


def medians_by_mode_model(tasks: pa.Table) -> dict[tuple[str, str], tuple[float, int]]:
    """(mode, model) -> (median cost, tasks): statistics.median's value (the middle one,
    or the mean of the two middle ones)."""
    if tasks.num_rows == 0:
        return {}
    codes, names = group_keys(tasks)
    eff = figure(tasks, "effective")
    out = {}
    for code, part in _by_group(codes):
        v = np.sort(eff[part])
        n, mid = len(v), len(v) // 2
        med = float(v[mid]) if n % 2 else float((v[mid - 1] + v[mid]) / 2)
        out[names[code]] = (med, n)
    return out


def cost_per_completed(tasks: pa.Table) -> dict[tuple[str, str], tuple[float, int]]:
    """Mean cost per completed root task by (mode, model) -> (cost, n), summed in table
    order (as a Python sum over the tasks)."""
    done = tasks.filter(pc.fill_null(pc.equal(plain(tasks["status"]), "completed"), False))
    if done.num_rows == 0:
        return {}
    codes, names = group_keys(done)
    eff = figure(done, "effective")
    out = {}
    for code, part in sorted(_by_group(codes), key=lambda cp: cp[1][0]):  # first-seen order
        out[names[code]] = (sum(eff[part].tolist()) / len(part), len(part))
    return out


def top(tasks: pa.Table, n: int | None = None, by_id: bool = False) -> pa.Table:
    """The tasks by cost, biggest first; ties keep table order, or (`by_id`) go by id."""
    keys = [("effective", "descending")] + ([("task_id", "ascending")] if by_id else [])
    idx = pc.sort_indices(tasks, sort_keys=keys)
    return tasks.take(idx if n is None else idx[:n])
