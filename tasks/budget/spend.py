"""Spend aggregation with pyarrow group_by: requests -> daily spend per scope, per task.

Effective cost = the stored (provider-reported) cost when present, else our recomputation.
Subtasks roll up into their root task (root_task_id, else the parent chain).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget import task_table
from tasks.budget.models import GroupFit, resolve
from tasks.budget.prices import PriceTable
from tasks.budget.reader import key_column, plain

ORG = "org"


def one_source_per_task(requests: pa.Table) -> pa.Table:
    """A request can appear twice: as a ui message (api_req_started) and as a telemetry
    LLM Completion. Keep a task's ui_messages rows when it has any, else its telemetry."""
    if requests.num_rows == 0:
        return requests
    is_ui = pc.fill_null(pc.equal(requests["source"], "ui_messages"), False)
    if pc.all(is_ui).as_py() or not pc.any(is_ui).as_py():
        return requests  # one source only: nothing can be counted twice
    ui_tasks = pc.unique(requests.filter(is_ui)["task_id"])
    keep = pc.or_(
        is_ui, pc.invert(pc.fill_null(pc.is_in(requests["task_id"], value_set=ui_tasks), False))
    )
    return requests.filter(keep)


def prepare(requests: pa.Table, tasks: pa.Table, prices: PriceTable, tz: ZoneInfo) -> pa.Table:
    """prepare_fitted without the group fits."""
    return prepare_fitted(requests, tasks, prices, tz)[0]


def prepare_fitted(
    requests: pa.Table,
    tasks: pa.Table,
    prices: PriceTable,
    tz: ZoneInfo,
    profiles: dict | None = None,
    tolerance: float = 0.10,
    task_tolerance: float = 0.025,
) -> tuple[pa.Table, list[GroupFit]]:
    """Fill team/mode/model/api_config from the task row; name models (models.resolve:
    telemetry, settings `profiles`, else inferred from costs); recompute costs; fit
    prices per group; add the local `day`."""
    requests = one_source_per_task(requests)
    tasks = dedupe_tasks(tasks)
    if "api_config" not in requests.column_names:
        requests = requests.append_column("api_config", pa.nulls(requests.num_rows, pa.string()))
    if tasks.num_rows and requests.num_rows:
        idx = pc.index_in(requests["task_id"], value_set=tasks["task_id"].combine_chunks())
        for col in ("team", "mode", "model", "provider", "app_version", "user", "api_config"):
            if requests[col].null_count == 0 or col not in tasks.column_names:
                continue  # nothing to fill: keep the (possibly dictionary) column as is
            filled = pc.coalesce(plain(requests[col]), pc.take(plain(tasks[col]), idx))
            requests = requests.set_column(requests.schema.get_field_index(col), col, filled)
    out, fits = resolve(requests, prices, profiles, tolerance, task_tolerance)
    # Condense events carry only a cost: nothing to recompute, so they agree by definition.
    is_condense = pc.fill_null(pc.equal(out["category"], "condense"), False)
    rec = pc.if_else(is_condense, out["cost"], out["recomputed_cost"])
    out = out.set_column(out.schema.get_field_index("recomputed_cost"), "recomputed_cost", rec)
    if str(tz) == "UTC":  # the timestamps are UTC already: no per-row zone lookups
        day = out["ts"].cast(pa.date32())
    else:
        day = pc.local_timestamp(out["ts"].cast(pa.timestamp("ms", tz=str(tz)))).cast(pa.date32())
    out = out.append_column("day", day)
    # One dictionary value for the whole fleet: 4 bytes a row, not a string per row.
    org = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(out.num_rows, np.int32)), pa.array([ORG], pa.string())
    )
    out = out.append_column("org", org)
    return out, fits


def dedupe_tasks(tasks: pa.Table) -> pa.Table:
    """One row per task id (a task seen on several days keeps its last row)."""
    if tasks.num_rows == 0:
        return tasks
    n = tasks.num_rows
    t = tasks.append_column("_i", pa.array(range(n), pa.int64()))
    last = t.group_by("task_id", use_threads=False).aggregate([("_i", "max")])["_i_max"]
    return tasks.take(pc.sort_indices(last))


def daily_by(req: pa.Table, scope: str) -> dict[str, dict[date, float]]:
    """{scope value: {local day: spend}} (null scope values are reported as "(unknown)")."""
    if req.num_rows == 0:
        return {}
    keys = key_column(req[scope], "(unknown)")
    t = pa.table({"k": keys, "day": req["day"], "c": req["effective_cost"]})
    g = t.group_by(["k", "day"], use_threads=False).aggregate([("c", "sum")])
    out: dict[str, dict[date, float]] = defaultdict(dict)
    for k, d, c in zip(
        g["k"].to_pylist(), g["day"].to_pylist(), g["c_sum"].to_pylist(), strict=True
    ):
        out[k][d] = c
    return dict(out)


def task_costs(req: pa.Table, tasks: pa.Table) -> pa.Table:
    """Per root task (task_table.TASK_SCHEMA): effective, reported and recomputed cost
    with subtasks rolled up.

    Vectorised: only tasks that name a parent or root go through Python (the walk up the
    parent chain); the sums are two group_bys' worth of work whatever the row count."""
    if req.num_rows == 0:
        return task_table.empty()
    tasks = dedupe_tasks(tasks)
    linked = tasks.filter(
        pc.or_(pc.is_valid(tasks["parent_task_id"]), pc.is_valid(tasks["root_task_id"]))
    )
    info = {
        r["task_id"]: r
        for r in linked.select(["task_id", "parent_task_id", "root_task_id"]).to_pylist()
    }
    task_id = pc.fill_null(req["task_id"], "(no task)")
    if info:
        keys = list(info)
        idx = pc.index_in(task_id, value_set=pa.array(keys, pa.string()))
        root = pc.coalesce(
            pc.take(pa.array([root_of(k, info) for k in keys], pa.string()), idx), task_id
        )
    else:
        root = task_id
    both = pc.and_(pc.is_valid(req["cost"]), pc.is_valid(req["recomputed_cost"]))
    cols = {
        "root": root,
        "eff": req["effective_cost"],
        "rep": pc.if_else(both, req["cost"], 0.0),
        "rec": pc.if_else(both, req["recomputed_cost"], 0.0),
        "cmp": both.cast(pa.int64()),
        "day": req["day"],
        "_i": pa.array(np.arange(req.num_rows, dtype=np.int64)),
    }
    aggs = [("eff", "sum"), ("rep", "sum"), ("rec", "sum"), ("cmp", "sum"), ("eff", "count"),
            ("day", "min"), ("_i", "min")]  # fmt: skip
    if info:
        cols["tid"] = task_id
        cols["self"] = pc.equal(task_id, root).cast(pa.int64())
        aggs += [("tid", "count_distinct"), ("self", "max")]
    g = pa.table(cols).group_by("root", use_threads=False).aggregate(aggs)
    # Attributes: the root's task row when loaded, else the group's first request.
    keep = ["user", "team", "mode", "model", "provider"]
    keep += ["model_source"] if "model_source" in req.column_names else []
    first = req.select(keep).take(g["_i_min"])
    where = (
        pc.index_in(g["root"], value_set=tasks["task_id"].combine_chunks())
        if tasks.num_rows
        else None
    )

    def attr(col: str) -> pa.Array:
        if where is None:
            return first[col] if col in first.column_names else pa.nulls(g.num_rows, pa.string())
        from_task = pc.take(plain(tasks[col]), where)
        return pc.coalesce(from_task, plain(first[col])) if col in first.column_names else from_task

    attrs = {c: attr(c) for c in ("user", "team", "mode", "model", "status")}
    attrs["provider"] = first["provider"]
    attrs["model_source"] = (
        first["model_source"] if "model_source" in first.column_names
        else pa.nulls(g.num_rows, pa.string())
    )  # fmt: skip
    subtasks = (
        pc.subtract(g["tid_count_distinct"], g["self_max"])
        if info
        else pa.array(np.zeros(g.num_rows, np.int64))
    )
    return task_table.from_groups(g, attrs, subtasks)


def root_of(task_id: str, info: dict[str, dict]) -> str:
    meta = info.get(task_id)
    if not meta:
        return task_id
    if meta.get("root_task_id"):
        return meta["root_task_id"]
    seen = {task_id}
    cur = task_id
    while (parent := (info.get(cur) or {}).get("parent_task_id")) and parent not in seen:
        seen.add(parent)
        cur = parent
    return cur
