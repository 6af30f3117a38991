"""cost-budget out of core: cost events bucketed by user on local disk, analysed a shard
of whole users at a time, the partial results merged.

Everything per request in the analysis is per user or finer: price fits group by (user,
profile, protocol, model), tasks and their subtasks belong to one user, drift is per
task or per (user, provider, model). So a shard of whole users is analysed exactly as
the whole fleet would be (analysis.analyze, without budget rules and anomalies), and only
aggregates cross shards: per-(scope, day) spend, per-(provider, model) totals, the
period's sums and the task tables (task_table.merge). Budgets, task caps (their medians span every task) and
anomalies then run once on the merged figures. Memory: one shard's rows (SHARD_ROWS),
plus the per-task results, whatever the period's size. Findings are the same; their
order is by shard, and sums may differ from the in-memory run in the last bits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.budget import task_table
from tasks.budget.reader import EVENT_COLUMNS, LoadedData, conform, plain, read_parquet
from tasks.telemetry.schema import EVENTS_SCHEMA

SPILL_ROWS = 1_000_000  # cost events held in memory before the load spills (~1.2 GB analysed)
SHARD_ROWS = 500_000  # rows analysed together (whole users: a user is never split)
BUCKETS = 256  # user buckets on disk, grouped into shards of about SHARD_ROWS rows
PER_USER_CHECKS = ("cost.drift_provider", "cost.drift_task", "cost.drift_fit")
_SCHEMA = pa.schema([EVENTS_SCHEMA.field(c) for c in EVENT_COLUMNS])


class Spill:
    """Cost events appended to one Parquet file per user bucket in a private folder
    (removed when this object is closed or collected)."""

    def __init__(self, tasks: pa.Table) -> None:
        self.dir = tempfile.mkdtemp(prefix="cost-budget-")
        self.rows = [0] * BUCKETS
        self._writers: dict[int, pq.ParquetWriter] = {}
        from tasks.budget.spend import dedupe_tasks

        t = dedupe_tasks(tasks)
        self._task_ids = t["task_id"].combine_chunks()
        self._task_users = plain(t["user"])

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        table = conform(table, EVENTS_SCHEMA, EVENT_COLUMNS)
        table = pa.table([plain(table[c]) for c in EVENT_COLUMNS], schema=_SCHEMA)
        user = table["user"]
        if user.null_count and len(self._task_ids):  # as spend.prepare_fitted fills it
            idx = pc.index_in(table["task_id"], value_set=self._task_ids)
            user = pc.coalesce(user, pc.take(self._task_users, idx))
        if isinstance(user, pa.ChunkedArray):
            user = user.combine_chunks()
        codes = pc.dictionary_encode(pc.fill_null(user, ""))
        names = codes.dictionary.to_pylist()
        per_user = pa.array([zlib.crc32(n.encode()) % BUCKETS for n in names], pa.int32())
        bucket = pc.take(per_user, codes.indices).to_numpy(zero_copy_only=False)
        order = np.argsort(bucket, kind="stable")  # one gather, then a slice per bucket
        table = table.take(pa.array(order))
        present, starts = np.unique(bucket[order], return_index=True)
        ends = [*starts[1:], table.num_rows]
        for b, lo, hi in zip(present.tolist(), starts.tolist(), ends, strict=True):
            part = table.slice(lo, hi - lo)
            if b not in self._writers:
                path = os.path.join(self.dir, f"{b:03d}.parquet")
                self._writers[b] = pq.ParquetWriter(path, _SCHEMA)
            self._writers[b].write_table(part)
            self.rows[b] += part.num_rows

    def close(self) -> list[list[str]]:
        """The bucket files grouped into shards of about SHARD_ROWS rows."""
        for w in self._writers.values():
            w.close()
        shards: list[list[str]] = []
        size = 0
        for b in sorted(self._writers):
            if not shards or size + self.rows[b] > SHARD_ROWS:
                shards.append([])
                size = 0
            shards[-1].append(os.path.join(self.dir, f"{b:03d}.parquet"))
            size += self.rows[b]
        return shards

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __getstate__(self) -> dict:
        """A copy (a task result Prefect persists) names the folder but does not own it:
        only the original removes it."""
        return {"dir": self.dir, "rows": self.rows, "_copy": True}

    def __del__(self) -> None:
        if not getattr(self, "_copy", False):
            self.remove()


def read_shard(paths: list[str]) -> pa.Table:
    parts = [read_parquet(p, EVENT_COLUMNS, EVENTS_SCHEMA) for p in paths]
    return pa.concat_tables(parts) if parts else conform(pa.table({}), EVENTS_SCHEMA, EVENT_COLUMNS)


def analyze_sharded(data: LoadedData, period, cfg, prices, team, user, force: bool):
    """analysis.analyze's Analysis for data spilled by load_days (LoadedData.shards)."""
    from tasks.budget import analysis, anomalies, drift
    from tasks.budget.config import SpendRule
    from tasks.budget.spend import daily_by

    days = analysis.report_days(period)
    day_set = set(days)
    part_cfg = cfg.model_copy(deep=True)  # spend rules kept: they set the context window
    part_cfg.budgets.rules = [r for r in cfg.budgets.rules if isinstance(r, SpendRule)]
    part_cfg.budget.anomalies.scopes = []
    scopes = {r.scope for r in part_cfg.budgets.rules} | set(cfg.budget.anomalies.scopes)
    scopes.add("team")
    findings: list = []
    task_parts: list[pa.Table] = []
    daily: dict[str, dict[str, dict[date, float]]] = {s: defaultdict(dict) for s in scopes}
    providers: dict[tuple[str, str], dict] = {}
    sums = dict.fromkeys(("eff", "cost", "rec", "requests", "unpriced"), 0)
    sources: dict[str, int] = {}
    fitted: list = []
    first_days: list[str] = []
    for paths in data.shards:
        part = LoadedData(read_shard(paths), data.tasks, data.days, data.inputs, data.profiles)
        a = analysis.analyze(part, period, part_cfg, prices, team, user, force)
        del part
        findings += [f for f in a.findings if f.check in PER_USER_CHECKS]
        task_parts.append(a.tasks)
        for r in a.provider_rows:
            m = providers.setdefault((r["provider"], r["model"]), {})
            for k, v in r.items():
                m[k] = v if isinstance(v, str) else m.get(k, 0) + v
        for s in scopes:
            for value, series in daily_by(a.requests, s).items():
                for d, v in series.items():
                    daily[s][value][d] = daily[s][value].get(d, 0.0) + v
        _add_sums(sums, a.requests, day_set)
        for k, n in a.summary["models"]["requests_by_source"].items():
            sources[k] = sources.get(k, 0) + n
        fitted += a.summary["models"]["fitted_groups"]
        if a.summary["anomaly_history"]["first_day_with_data"]:
            first_days.append(a.summary["anomaly_history"]["first_day_with_data"])
    tasks = task_table.merge(task_parts)  # a task is one user's: seen in one shard only
    del task_parts
    provider_rows = list(providers.values())
    findings = analysis.gate_findings(data, days, force) + findings
    findings += drift.unpriced_findings(provider_rows)
    covered = {s.day for s in data.days if s.used}
    first_day = date.fromisoformat(min(first_days)) if first_days else None
    known = anomalies.with_data({s.day for s in data.days if s.used and s.has_data}, first_day)
    rule_findings, curves = analysis.evaluate_rules(
        cfg, lambda scope: dict(daily[scope]), tasks, days, covered, known
    )
    findings += rule_findings
    summary = _summary(sums, daily["team"], tasks, day_set, data, prices, cfg, force)
    summary["models"] = {"requests_by_source": sources, "fitted_groups": fitted}
    summary["anomaly_history"] = analysis.anomaly_history(first_day, known, days, cfg)
    return analysis.Analysis(findings, summary, pa.table({}), tasks, curves, dict(daily["team"]),
                        provider_rows)  # fmt: skip


def _add_sums(sums: dict, req: pa.Table, day_set: set) -> None:
    """The period's request sums of one shard (analysis' summary figures, unrounded)."""
    if req.num_rows == 0:
        return
    t = req.filter(pc.is_in(req["day"], pa.array(sorted(day_set), pa.date32())))
    for key, col in (("eff", "effective_cost"), ("cost", "cost"), ("rec", "recomputed_cost")):
        sums[key] += float(pc.sum(t[col]).as_py() or 0.0) if t.num_rows else 0.0
    sums["requests"] += t.num_rows
    if t.num_rows:
        sums["unpriced"] += int(pc.sum(pc.invert(t["priced"]).cast(pa.int64())).as_py() or 0)


def _summary(sums: dict, daily_team: dict, tasks: pa.Table, day_set: set, data: LoadedData,
             prices: Any, cfg: Any, force: bool) -> dict[str, Any]:  # fmt: skip
    """analysis' summary from merged figures (the same dictionary, analysis.summary_of)."""
    from tasks.budget.analysis import summary_of

    by_team = {
        v: round(sum(x for d, x in series.items() if d in day_set), 2)
        for v, series in daily_team.items()
        if any(d in day_set for d in series)
    }
    return summary_of(sums, by_team, tasks, day_set, data, prices, cfg, force)
