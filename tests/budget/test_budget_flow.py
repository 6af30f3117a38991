"""One smoke test of the cost_budget flow: real Prefect, moto over HTTP, signed bundle."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from http.server import HTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from test_budget_io import _Hook, put_day

from tasks.common.embedded import free_port

pytestmark = pytest.mark.prefect

UNTIL = date(2026, 11, 21)


def _key(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "signing.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip
    return path


@pytest.mark.parametrize("spill", [False, True], ids=["in-memory", "spilled-by-user"])
def test_cost_budget_flow_end_to_end(prefect_harness, s3, buckets, tmp_path, monkeypatch, spill):
    from flows.jobs import cost_budget
    from tasks.budget import shards

    if spill:  # every cost event to disk, each user bucket its own shard, through Prefect
        monkeypatch.setattr(shards, "SPILL_ROWS", 1)
        monkeypatch.setattr(shards, "SHARD_ROWS", 1)
        calls = []
        real = shards.analyze_sharded
        monkeypatch.setattr(shards, "analyze_sharded", lambda d, *a: calls.append(d) or real(d, *a))

    bucket = buckets.data_bucket
    for i in range(1, 9):  # 7 ordinary days, then a spike on the last one
        put_day(s3, bucket, UNTIL - timedelta(days=i), "pass", rows=2, cost=1.0 if i > 1 else 40.0)
    put_day(s3, bucket, UNTIL - timedelta(days=9), "fail", rows=2)  # refused as context: skipped
    _Hook.received, _Hook.code = [], 204
    server = HTTPServer(("127.0.0.1", free_port()), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(
        "budget:\n"
        f"  webhook_url: http://127.0.0.1:{server.server_address[1]}/hook\n"
        "  anomalies: {floor_usd: 5, history_days: 7, min_history: 5}\n"
        "budgets:\n  timezone: UTC\n  rules:\n"
        "    - {name: team-month, type: spend, scope: team, period: week, amount: 50,"
        " threshold: {warn: 80%, fail: 100%}}\n"
        "    - {name: cap, type: task_cap, threshold: {fail: $30}}\n"
    )
    for k, v in {"AWS_ENDPOINT_URL": buckets.endpoint_url, "COMPLIANCE_DATA_BUCKET": bucket,
                 "COMPLIANCE_REPORTS_BUCKET": buckets.reports_bucket,
                 "COMPLIANCE_SIGNING_KEY": str(_key(tmp_path)), "COMPLIANCE_RETENTION_DAYS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    try:
        out = cost_budget(since="2026-11-20", until="2026-11-21", config_path=str(cfg))
        assert out["job"] == "cost-budget" and out["status"] == "fail"  # team over budget (high)
        assert not spill or len(calls) == 1 and calls[0].shards  # one user: one shard
        assert out["bundle"].endswith("attestation.dsse.json")
        prefix = out["bundle"].split("/", 3)[3].rsplit("/", 1)[0]
        rb = buckets.reports_bucket
        report = json.loads(s3.get_object(Bucket=rb, Key=f"{prefix}/report.json")["Body"].read())
        assert report["summary"]["price_table_version"].startswith("genai-prices 0.2.3")
        assert report["summary"]["total_spend_usd"] == 80.0
        checks = {f["check"] for f in report["findings"]}
        assert {"budget.spend", "budget.task_cap", "anomaly.robust_z"} <= checks
        html = s3.get_object(Bucket=rb, Key=f"{prefix}/report.html")["Body"].read().decode()
        assert "<svg" in html and "Top tasks by cost" in html
        assert s3.get_object(Bucket=rb, Key=f"{prefix}/findings.csv")["Body"].read()
        per_task = (
            s3.get_object(Bucket=rb, Key=f"{prefix}/task_costs.csv")["Body"]
            .read()
            .decode()
            .splitlines()
        )
        assert (
            per_task[0].startswith("task_id,user,team") and len(per_task) == 1 + 2
        )  # 2 tasks on the day
        listing = json.loads(s3.get_object(Bucket=rb, Key=f"{prefix}/inputs.json")["Body"].read())
        assert len(listing) == 16 and all(
            i["uri"].startswith(f"s3://{bucket}/validated/") for i in listing
        )
        assert len(_Hook.received) == 1 and _Hook.received[0][2]["run_id"] == out["run_id"]
        sent = out["alerts"]["sent"]
        assert sent >= 3
        state = json.loads(
            s3.get_object(Bucket=bucket, Key="state/cost-budget/alerts.json")["Body"].read()
        )
        assert len(state["sent"]["budget.webhook_url#0"]) == sent  # the common alert state
        # each new alert also went to the Prefect server as a compliance.alert.<check> event
        assert out["alerts"]["events"] >= sent and len(state["sent"]["prefect-events"]) >= sent
        assert len(_Hook.received[0][2]["alerts"]) == sent
        # A rerun within the cooldown: same findings, nothing re-sent.
        again = cost_budget(since="2026-11-20", until="2026-11-21", config_path=str(cfg))
        assert again["alerts"]["sent"] == 0 and again["alerts"]["suppressed"] == sent
        assert len(_Hook.received) == 1
    finally:
        server.shutdown()
        server.server_close()
