"""Storage side over real HTTP (moto server): the quality gate, alert cooldown, webhook."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pyarrow.parquet as pq
import pytest
from budget_data import request, requests_table, task, tasks_table

from tasks.budget import alerts
from tasks.budget.reader import gate_key, load_days
from tasks.common.embedded import free_port
from tasks.common.errors import InputError, StorageError
from tasks.common.layout import validated_key
from tasks.common.models import Finding


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


def _finding(resource):
    return Finding.make("anomaly.robust_z", "medium", "fail", resource, "spike")


def test_cooldown_state_in_the_data_bucket(s3, buckets):
    bucket = buckets.data_bucket
    now = datetime(2026, 11, 21, 6, tzinfo=UTC)
    state = alerts.load_state(s3, bucket)
    f1, f2 = _finding("team=a"), _finding("team=b")
    info = Finding.make("budget.spend", "info", "pass", "x", "ok")
    send, quiet = alerts.select_alerts([f1, f2, info], state, now, 24)
    assert send == [f1, f2] and quiet == [] and "alert" not in info.details
    alerts.save_state(s3, bucket, alerts.record_sent(state, send, now))
    assert s3.head_object(Bucket=bucket, Key="state/cost-budget/alerts.json")
    # 2 hours later the same findings are suppressed; a new one goes out
    again = alerts.load_state(s3, bucket)
    g1, g3 = _finding("team=a"), _finding("team=c")
    send, quiet = alerts.select_alerts([g1, g3], again, now + timedelta(hours=2), 24)
    assert send == [g3] and quiet == [g1] and g1.details["alert"] == "suppressed"
    # after the cooldown it alerts again
    send, _ = alerts.select_alerts([_finding("team=a")], again, now + timedelta(hours=25), 24)
    assert len(send) == 1


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    code = 204

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(type(self).code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    _Hook.received = []
    _Hook.code = 204
    server = HTTPServer(("127.0.0.1", free_port()), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_posts_json_and_hides_the_url_on_error(hook):
    port = hook.server_address[1]
    url = f"http://127.0.0.1:{port}/hooks/SECRET-TOKEN-123"
    payload = alerts.webhook_payload(
        {"job": "cost-budget", "run_id": "r1", "status": "warn"}, [_finding("team=a")]
    )
    assert alerts.post_webhook(url, payload) == 204
    path, ctype, body = _Hook.received[0]
    assert path == "/hooks/SECRET-TOKEN-123" and ctype == "application/json"
    assert body["run_id"] == "r1" and body["alerts"][0]["resource"] == "team=a"
    _Hook.code = 500
    with pytest.raises(StorageError) as err:
        alerts.post_webhook(url, payload)
    assert str(err.value) == "webhook POST failed: HTTP 500" and "SECRET" not in str(err.value)
    with pytest.raises(ValueError):
        alerts.post_webhook("file:///etc/passwd", payload)


def test_refused_day_makes_an_error_finding_and_fails_the_run(s3, buckets):
    from budget_data import config

    from tasks.budget import job
    from tasks.common.models import overall_status

    put_day(s3, buckets.data_bucket, D2, "fail")
    cfg = config([])
    period = job.resolve_period("2026-11-19", "2026-11-20")
    data = job.load(s3, buckets.data_bucket, period, cfg, force=False)
    a = job.analyze(data, period, cfg)
    gate = [f for f in a.findings if f.check == "input.quality_gate"]
    assert [(f.status, f.severity, f.resource) for f in gate] == [
        ("error", "high", "day=2026-11-19")
    ]
    assert overall_status(a.findings) == "fail" and a.summary["total_spend_usd"] == 0
    forced = job.analyze(
        job.load(s3, buckets.data_bucket, period, cfg, force=True), period, cfg, force=True
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
