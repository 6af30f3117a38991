"""The cost-budget job's whole output on generated fleets, as canonical bytes: findings,
summary, every file (task_costs.csv, inputs.json), charts and tables. Pinned by digest in
test_pinned_output.py: a change of representation (the task list as columns, vectorised
fits) must leave every byte as it was."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.budget import job
from tasks.budget.config import parse_config
from tasks.budget.reader import gate_key, load_days
from tasks.common.contract import JobResult, Scope
from tasks.common.layout import validated_key
from tasks.common.periods import resolve_period

RUN = "20261121T000000Z-aaaaaaaa"
START = date(2026, 11, 2)


def publish_fleet(
    s3, bucket: str, users: int, days: int, seed: int, unnamed: bool = False
) -> list[date]:
    """A generated fleet ingested and published as validated objects with passing gates
    (small row groups: many per object). `unnamed`: no row names its provider or model
    (every model is then inferred from the costs by the price fits, models.py)."""
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    truth = generate_fleet(f"s3://{bucket}/", users, days, seed, start=START, s3_client=s3)
    result = ingest(f"s3://{bucket}/", s3_client=s3)
    if unnamed:
        for name in ("events", "tasks"):
            t = getattr(result, name)
            for col in ("provider", "model"):
                i = t.schema.get_field_index(col)
                t = t.set_column(i, t.schema.field(i), pa.nulls(t.num_rows, t.schema.field(i).type))
            setattr(result, name, t)
    first = date.fromisoformat(truth["start"])
    all_days = [first + timedelta(days=i) for i in range(truth["days"])]
    ev_day = pc.strftime(result.events["ts"], format="%Y-%m-%d")
    task_day = pc.strftime(result.tasks["started_at"], format="%Y-%m-%d")
    for day in all_days:
        for name, t, col in (("events", result.events, ev_day), ("tasks", result.tasks, task_day)):
            buf = io.BytesIO()
            pq.write_table(t.filter(pc.equal(col, day.isoformat())), buf, row_group_size=200)
            s3.put_object(Bucket=bucket, Key=validated_key(name, day, RUN), Body=buf.getvalue())
        gate = {"status": "pass", "run_id": RUN, "reasons": []}
        s3.put_object(Bucket=bucket, Key=gate_key(day), Body=json.dumps(gate).encode())
    return all_days


def demo_config():
    """cli/demo.py's budgets."""
    rules = [{"name": "team-month", "type": "spend", "scope": "team", "period": "month",
              "amount": 150, "threshold": {"warn": "80%", "fail": "100%"}},
             {"name": "task-cap", "type": "task_cap", "threshold": {"warn": "10x", "fail": "$25"}}]  # fmt: skip
    return parse_config({}, {"timezone": "UTC", "rules": rules}, "demo")


def busy_config():
    """Every rule kind, anomalies on every scope, a time zone off UTC."""
    rules = [{"name": "team-week", "type": "spend", "scope": "team", "period": "week",
              "amount": 5.0, "threshold": {"warn": "80%", "fail": "100%"}},
             {"name": "user-month", "type": "spend", "scope": "user", "period": "month",
              "amount": 3.0, "threshold": {"warn": "$1", "fail": "$3"}},
             {"name": "caps", "type": "task_cap", "threshold": {"warn": "2x", "fail": "$2"}}]  # fmt: skip
    return parse_config(
        {"anomalies": {"min_history": 3, "floor_usd": 0.01, "scopes": ["org", "team", "user"]}},
        {"timezone": "Europe/Berlin", "rules": rules}, "busy",
    )  # fmt: skip


class _Cfg:
    def __init__(self, c):
        self.budget, self.budgets = c.budget, c.budgets


def run_job(s3, bucket: str, days: list[date], report: int, cfg, spill_rows: int | None = None):
    """reader.load_days + job.evaluate over the last `report` days (the rest is context)."""
    period = resolve_period(str(days[-report]), str(days[-1] + timedelta(days=1)))
    data = load_days(s3, bucket, days[-report:], days[:-report], spill_rows=spill_rows)
    if spill_rows is not None:
        assert data.shards, "expected the spilled path"
    return job.evaluate(job.Collected(data, period, Scope(), bucket), _Cfg(cfg))


def canonical(result: JobResult, bucket: str) -> bytes:
    """Every published byte of the run; the objects read are named, not digested (the
    generator's task rows carry the time they were written), the bucket's random name
    taken out."""
    files = dict(result.files)
    files["inputs.json"] = json.dumps([i["uri"] for i in json.loads(files["inputs.json"])]).encode()
    out = {
        "findings": [f.model_dump(mode="json") for f in result.findings],
        "summary": result.summary,
        "inputs": [{k: v for k, v in i.items() if k != "digest"} for i in result.inputs],
        "files": {k: bytes(v).decode() for k, v in sorted(files.items())},
        "charts": [dataclasses.asdict(c) for c in result.charts],
        "tables": [dataclasses.asdict(t) for t in result.tables],
    }
    return json.dumps(out, sort_keys=True, default=str, indent=1).replace(bucket, "BUCKET").encode()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
