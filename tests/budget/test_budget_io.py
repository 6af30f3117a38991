"""Storage side over real HTTP (moto server): the quality gate. (Alert cooldown and webhook
delivery are common to every job: tests/ops/test_notify.py.)"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler

import pyarrow.parquet as pq
import pytest
from budget_data import request, requests_table, task, tasks_table

from tasks.budget.reader import gate_key, load_days
from tasks.common.errors import InputError
from tasks.common.layout import validated_key
from tasks.common.periods import resolve_period


def put_day(s3, bucket, day, gate=None, run_id="20261121T000000Z-aaaaaaaa", rows=1, cost=1.0):
    ts = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    reqs = requests_table([request(task_id=f"t-{day}-{i}", ts=ts, cost=cost) for i in range(rows)]
                          + [request(task_id="x", category="tool", ts=ts, cost=None)])  # fmt: skip
    tasks = tasks_table([task(task_id=f"t-{day}-{i}") for i in range(rows)])
    for name, table in (("events", reqs), ("tasks", tasks)):
        buf = io.BytesIO()
        pq.write_table(table, buf)
        s3.put_object(Bucket=bucket, Key=validated_key(name, day, run_id), Body=buf.getvalue())
    if gate:
        body = json.dumps({"status": gate, "run_id": run_id, "reasons": []})
        s3.put_object(Bucket=bucket, Key=gate_key(day), Body=body.encode())


D1, D2, D3 = date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)


def test_gate_refuses_failing_and_missing_days_unless_forced(s3, buckets):
    bucket = buckets.data_bucket
    put_day(s3, bucket, D1, "pass")
    put_day(s3, bucket, D2, "fail")
    put_day(s3, bucket, D3, None)  # data but no gate
    data = load_days(s3, bucket, [D2, D3], [D1])
    used = {s.day: (s.gate, s.used) for s in data.days}
    assert used == {D1: ("pass", True), D2: ("fail", False), D3: ("missing", False)}
    assert data.requests.num_rows == 1  # D1 only; the tool event is not a cost event
    assert len(data.inputs) == 2 and data.inputs[0]["uri"].startswith(f"s3://{bucket}/validated/")
    forced = load_days(s3, bucket, [D2, D3], [D1], force=True)
    assert forced.requests.num_rows == 3 and all(s.used for s in forced.days)
    assert forced.tasks.num_rows == 3


def test_gate_run_id_selects_the_validated_file(s3, buckets):
    bucket = buckets.data_bucket
    put_day(s3, bucket, D1, None, run_id="20261121T000000Z-aaaaaaaa", rows=1)
    put_day(
        s3, bucket, D1, "warn", run_id="20261120T000000Z-bbbbbbbb", rows=3
    )  # gate names the older run
    data = load_days(s3, bucket, [D1], [])
    assert data.requests.num_rows == 3


def test_bad_gate_file_is_one_line_error(s3, buckets):
    s3.put_object(Bucket=buckets.data_bucket, Key=gate_key(D1), Body=b"{not json")
    with pytest.raises(InputError, match=r"gate/2026-11-18.json: gate file is not JSON$"):
        load_days(s3, buckets.data_bucket, [D1], [])


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    code = 204

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(type(self).code)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_refused_day_makes_an_error_finding_and_fails_the_run(s3, buckets):
    from budget_data import config

    from tasks.budget import analysis, reader
    from tasks.common.models import overall_status

    put_day(s3, buckets.data_bucket, D2, "fail")
    cfg = config([])
    period = resolve_period("2026-11-19", "2026-11-20")
    data = reader.load_period(s3, buckets.data_bucket, period, cfg, force=False)
    a = analysis.analyze(data, period, cfg)
    gate = [f for f in a.findings if f.check == "input.quality_gate"]
    assert [(f.status, f.severity, f.resource) for f in gate] == [
        ("error", "high", "day=2026-11-19")
    ]
    assert overall_status(a.findings) == "fail" and a.summary["total_spend_usd"] == 0
    forced = analysis.analyze(
        reader.load_period(s3, buckets.data_bucket, period, cfg, force=True),
        period,
        cfg,
        force=True,
    )
    assert [f.check for f in forced.findings if f.check.startswith("input.")] == [
        "input.quality_gate_forced"
    ]
    assert forced.summary["total_spend_usd"] == 1.0 and forced.summary["forced"] is True


def test_a_forced_day_without_objects_is_unknown_not_zero(s3, buckets):
    """A gate without validated objects (or a forced missing day) has no data: the
    anomaly detectors must not read it as $0 (anomalies.with_data)."""
    bucket = buckets.data_bucket
    put_day(s3, bucket, D2, "pass")
    s3.put_object(Bucket=bucket, Key=gate_key(D1),
                  Body=json.dumps({"status": "pass", "run_id": "r", "reasons": []}).encode())  # fmt: skip
    data = load_days(s3, bucket, [D2], [D1, D3], force=True)
    known = {s.day: s.has_data for s in data.days}
    assert known == {D1: False, D2: True, D3: False}
