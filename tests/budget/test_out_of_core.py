"""cost-budget reads each validated Parquet object row group by row group, keeping only
the cost events of each as it goes (reader.read_parquet). On a generated fleet the loaded
tables and the whole analysis (findings, summary, team/day sums, task roll-up) must be
exactly what reading each object whole and filtering it afterwards gives."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.budget import analysis
from tasks.budget.config import parse_config
from tasks.budget.reader import (
    COST_CATEGORIES,
    DICT_COLUMNS,
    EVENT_COLUMNS,
    TASK_COLUMNS,
    LoadedData,
    conform,
    gate_key,
    load_days,
)
from tasks.common.layout import validated_key
from tasks.common.periods import resolve_period
from tasks.telemetry.schema import EVENTS_SCHEMA, TASKS_SCHEMA

RUN = "20261121T000000Z-aaaaaaaa"


def _whole(body: bytes, columns: list[str], schema: pa.Schema, cost_only: bool) -> pa.Table:
    """The in-memory way: the whole object decoded, then filtered."""
    t = pq.read_table(io.BytesIO(body), columns=columns, read_dictionary=DICT_COLUMNS)
    if cost_only:
        t = t.filter(pc.is_in(t["category"], pa.array(COST_CATEGORIES)))
    return conform(t, schema, columns)


def _dump(a: analysis.Analysis) -> str:
    return json.dumps(
        {
            "findings": [f.model_dump(mode="json") for f in a.findings],
            "summary": a.summary,
            "daily_team": {k: {str(d): v for d, v in s.items()} for k, s in a.daily_team.items()},
            "providers": a.provider_rows,
            "tasks": sorted(a.tasks.to_pylist(), key=lambda t: t["task_id"]),
            "curves": a.curves,
        },
        sort_keys=True,
        default=str,
    )


def _publish_fleet(s3, bucket: str) -> tuple[list[date], list, list, bytes]:
    """A generated fleet's validated objects and gates in the bucket; returns the days and
    the reference tables (each object decoded whole)."""
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    truth = generate_fleet(f"s3://{bucket}/", users=6, days=4, seed=3, s3_client=s3)
    result = ingest(f"s3://{bucket}/", s3_client=s3)
    start = date.fromisoformat(truth["start"])
    days = [start + timedelta(days=i) for i in range(truth["days"])]
    ev_day = pc.strftime(result.events["ts"], format="%Y-%m-%d")
    task_day = pc.strftime(result.tasks["started_at"], format="%Y-%m-%d")
    ref_req, ref_tasks = [], []
    for day in days:
        for name, t, col in (("events", result.events, ev_day), ("tasks", result.tasks, task_day)):
            buf = io.BytesIO()
            # small row groups: many per object, cost events on both sides of their edges
            pq.write_table(t.filter(pc.equal(col, day.isoformat())), buf, row_group_size=50)
            body = buf.getvalue()
            s3.put_object(Bucket=bucket, Key=validated_key(name, day, RUN), Body=body)
            if name == "events":
                ref_req.append(_whole(body, EVENT_COLUMNS, EVENTS_SCHEMA, True))
            else:
                ref_tasks.append(_whole(body, TASK_COLUMNS, TASKS_SCHEMA, False))
        gate = {"status": "pass", "run_id": RUN, "reasons": []}
        s3.put_object(Bucket=bucket, Key=gate_key(day), Body=json.dumps(gate).encode())
    return days, ref_req, ref_tasks, body


def _cfg():
    rules = [{"name": "team-month", "type": "spend", "scope": "team", "period": "month",
              "amount": 5.0, "threshold": {"warn": "80%", "fail": "100%"}},
             {"name": "caps", "type": "task_cap", "threshold": {"warn": "2x"}}]  # fmt: skip
    return parse_config(
        {"anomalies": {"min_history": 3, "floor_usd": 0.01, "scopes": ["org", "team", "user"]}},
        {"rules": rules}, "test",
    )  # fmt: skip


def test_streamed_load_gives_the_in_memory_analysis(s3, buckets):
    bucket = buckets.data_bucket
    days, ref_req, ref_tasks, body = _publish_fleet(s3, bucket)
    streamed = load_days(s3, bucket, days[-2:], days[:-2])
    assert pq.ParquetFile(io.BytesIO(body)).num_row_groups > 1
    reference = LoadedData(
        pa.concat_tables(ref_req), pa.concat_tables(ref_tasks), streamed.days, streamed.inputs
    )
    assert streamed.requests.num_rows > 100
    assert streamed.requests.to_pylist() == reference.requests.to_pylist()
    assert streamed.tasks.to_pylist() == reference.tasks.to_pylist()
    assert set(pc.unique(streamed.requests["category"]).to_pylist()) <= set(COST_CATEGORIES)

    cfg = _cfg()
    period = resolve_period(str(days[-2]), str(days[-1] + timedelta(days=1)))
    a, b = analysis.analyze(streamed, period, cfg), analysis.analyze(reference, period, cfg)
    assert a.findings and 0 < a.summary["api_requests"] < streamed.requests.num_rows
    assert _dump(a) == _dump(b) == _dump(analysis.analyze(reference, period, cfg))


class _Counting(io.BytesIO):
    """Counts reads that touch the footer (the file's last 8 bytes: length + PAR1)."""

    footer_reads = 0

    def read(self, n: int = -1) -> bytes:
        start = self.tell()
        out = super().read(n)
        if start + len(out) >= len(self.getbuffer()) - 8 and out:
            self.footer_reads += 1
        return out


def test_each_object_footer_is_parsed_once():
    from budget_data import request, requests_table

    from tasks.budget.reader import read_parquet

    buf = io.BytesIO()
    pq.write_table(requests_table([request(), request(task_id="t2")]), buf, row_group_size=1)
    src = _Counting(buf.getvalue())
    t = read_parquet(src, EVENT_COLUMNS, EVENTS_SCHEMA, cost_only=True)
    assert t.num_rows == 2 and t["task_id"].to_pylist() == ["t1", "t2"]
    assert src.footer_reads == 1


def _normal(a: analysis.Analysis) -> dict:
    """An analysis with findings in a fixed order and floats to 9 digits (shards sum in
    another order: the last bits may differ)."""

    def r(x):
        if isinstance(x, float):
            return round(x, 9)
        if isinstance(x, dict):
            return {k: r(v) for k, v in x.items()}
        if isinstance(x, list):
            return [r(v) for v in x]
        return x

    d = json.loads(_dump(a))
    d["findings"] = sorted(d["findings"], key=lambda f: f["id"])
    d["providers"] = sorted(d["providers"], key=lambda p: (p["provider"], p["model"]))
    d["summary"]["models"]["fitted_groups"].sort(key=lambda g: json.dumps(g, sort_keys=True))
    return r(d)


def test_spilled_load_analysed_by_shards_gives_the_in_memory_analysis(s3, buckets, monkeypatch):
    """Past spill_rows the events go to disk by user and are analysed a few users at a
    time: the same findings, tasks, sums and summary as the whole fleet in memory."""
    from tasks.budget import shards

    bucket = buckets.data_bucket
    days, *_ = _publish_fleet(s3, bucket)
    whole = load_days(s3, bucket, days[-2:], days[:-2])
    monkeypatch.setattr(shards, "SHARD_ROWS", whole.requests.num_rows // 4)
    spilled = load_days(s3, bucket, days[-2:], days[:-2], spill_rows=50)
    assert spilled.requests.num_rows == 0 and len(spilled.shards) >= 3
    assert sum(pq.read_metadata(p).num_rows for s in spilled.shards for p in s) == (
        whole.requests.num_rows
    )
    period = resolve_period(str(days[-2]), str(days[-1] + timedelta(days=1)))
    a, b = analysis.analyze(spilled, period, _cfg()), analysis.analyze(whole, period, _cfg())
    checks = {f.check for f in b.findings}
    assert {"cost.drift_provider", "budget.spend"} & checks and len(b.findings) > 5
    assert _normal(a) == _normal(b)
    folder = spilled.spill.dir
    del spilled, a
    import gc

    gc.collect()
    assert not __import__("os").path.exists(folder)  # the spill folder goes with the data


def test_spill_buckets_a_request_without_user_by_its_tasks_user():
    """prepare_fitted fills a request's missing user from its task row; the spill buckets
    by that same user, so the task's requests stay in one shard."""
    from budget_data import request, requests_table, task, tasks_table

    from tasks.budget import shards

    reqs = requests_table([request(user="zed", task_id="z1"), request(user=None, task_id="z1"),
                           request(user="amy", task_id="a1")])  # fmt: skip
    spill = shards.Spill(tasks_table([task(user="zed", task_id="z1")]))
    spill.add(reqs)
    files = [p for s in spill.close() for p in s]
    by_file = {p: pq.read_table(p)["task_id"].to_pylist() for p in files}
    assert sorted(map(sorted, by_file.values())) == [["a1"], ["z1", "z1"]]
    back = shards.read_shard(files)
    assert back.num_rows == 3 and back.schema.field("user").type == pa.dictionary(
        pa.int32(), pa.string()
    )
    import pickle

    copy = pickle.loads(pickle.dumps(spill))  # as a persisted task result
    del copy
    assert all(__import__("os").path.exists(p) for p in files)  # the copy owns nothing
    spill.remove()
    assert not any(__import__("os").path.exists(p) for p in files)
