"""Damage Roo's webview skips quietly (a request text that is not JSON, a figure that is
not a number) is a quarantine row with its file, position and reason, while the task's
totals follow Roo's rules (tasks.telemetry.consolidate.api_metrics, the literal port)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from ingest_helpers import T0, req, say, write_task

from cli.telemetry import telemetry
from tasks.telemetry.consolidate import api_metrics
from tasks.telemetry.ingest import ingest


def _damaged():
    return [
        say(T0, "text", "t"),
        req(T0 + 1, apiProtocol="anthropic", tokensIn=100, tokensOut=10, cost=0.5),
        # cut short while being written: Roo's webview skips it
        say(T0 + 2, "api_req_started", '{"apiProtocol":"anthropic","tokensIn":4000,"tokensO'),
        req(T0 + 3, apiProtocol="anthropic", tokensIn="12", tokensOut=5, cost=True),
        req(T0 + 4, apiProtocol="anthropic", tokensIn=7, tokensOut=3, cost=0.25),
        say(T0 + 5, "api_req_started", "[1, 2]"),
    ]


@pytest.mark.parametrize("columnar", [True, False])
def test_damaged_requests_are_quarantined_and_totals_follow_roo(tmp_path, columnar):
    msgs = _damaged()
    folder = write_task(tmp_path / "tasks", msgs)
    result = ingest(str(tmp_path), columnar=columnar)
    row = result.tasks.to_pylist()[0]
    ref = api_metrics(msgs)
    assert row["tokens_in"] == 107 == ref["totalTokensIn"]
    assert row["tokens_out"] == 18 == ref["totalTokensOut"]
    assert row["total_cost"] == pytest.approx(0.75) == pytest.approx(ref["totalCost"])
    assert row["api_requests"] == 5
    q = sorted(result.quarantine.to_pylist(), key=lambda r: r["position"])
    assert [(r["position"], r["reason"], r["stage"]) for r in q] == [
        ("message 2", "bad_request", "validate"),
        ("message 3", "bad_figure", "validate"),
        ("message 5", "bad_request", "validate"),
    ]
    assert all(r["source"].endswith(f"{folder}/ui_messages.json") for r in q)
    assert "not JSON" in q[0]["detail"] and "list, not an object" in q[2]["detail"]
    assert "tokensIn is str" in q[1]["detail"] and "cost is bool" in q[1]["detail"]
    c = result.counts
    assert c["quarantined"] == 3 and c["records_in"] == c["valid"] + c["quarantined"]


def test_null_figure_is_absent_not_damage(tmp_path):
    write_task(tmp_path / "tasks", [say(T0, "text", "t"), req(T0 + 1, tokensIn=5, cost=None)])
    assert ingest(str(tmp_path)).quarantine.num_rows == 0


def test_summarize_names_every_quarantined_record(tmp_path):
    folder = write_task(tmp_path / "tasks", _damaged())
    write_task(tmp_path / "tasks", [say(T0, "text", "fine"), req(T0 + 1, tokensIn=1)])
    result = CliRunner().invoke(telemetry, ["summarize", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "quarantined records (file, position, reason):" in out
    for pos, reason in (("message 2", "bad_request"), ("message 3", "bad_figure")):
        line = next(x for x in out.splitlines() if f"  {pos}  {reason}:" in x)
        assert f"{folder}/ui_messages.json" in line
    damaged_line = next(x for x in out.splitlines() if x.startswith(folder))
    assert damaged_line.split()[-2] == "3"  # the quar column says which task is broken

    result = CliRunner().invoke(telemetry, ["summarize", str(tmp_path), "--format", "json"])
    tasks = json.loads(result.stdout)
    assert sorted(t["quarantined"] for t in tasks) == [0, 3]
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["quarantined"] == 3
    assert {(q["position"], q["reason"]) for q in report["quarantine"]} == {
        ("message 2", "bad_request"), ("message 3", "bad_figure"), ("message 5", "bad_request")
    }  # fmt: skip
    assert all(set(q) == {"source", "position", "reason", "detail"} for q in report["quarantine"])
