"""`compliance telemetry summarize` through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from ingest_helpers import T0, say, typical_task, upload_tree, write_task

from cli.telemetry import SUMMARY_FIELDS, telemetry
from tasks.telemetry.consolidate import api_metrics


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    write_task(root / "tasks", typical_task(), task_id="11111111-1111-4111-8111-111111111111",
               history={"mode": "code", "status": "completed"})  # fmt: skip
    legacy = [
        say(T0 + 100, "text", "old"),
        say(T0 + 101, "api_req_started", {"request": "x"}),
        say(T0 + 102, "api_req_finished", {"tokensIn": 40, "tokensOut": 4, "cost": 0.25}),
        say(T0 + 103, "condense_context", contextCondense={"cost": 0.5, "newContextTokens": 77,
            "prevContextTokens": 900, "summary": "s"}),
    ]  # fmt: skip
    write_task(root / "tasks", legacy, task_id="22222222-2222-4222-8222-222222222222")
    write_task(root / "tasks", b"\x00not json", task_id="33333333-3333-4333-8333-333333333333")
    return root, legacy


def test_summarize_json_exact_fields_and_roo_totals(store):
    root, legacy = store
    result = CliRunner().invoke(telemetry, ["summarize", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [tuple(r) for r in rows] == [SUMMARY_FIELDS] * 3
    by_id = {r["task_id"][:1]: r for r in rows}
    first = by_id["1"]
    assert first["started_at"] == "2025-10-09T08:53:20.000Z"
    assert first["ended_at"] == "2025-10-09T08:53:20.061Z"
    assert (first["tokens_in"], first["tokens_out"], first["context_tokens"]) == (3000, 400, 2300)
    assert first["total_cost"] == pytest.approx(0.03) and first["status"] == "completed"
    assert (first["write_tool_uses"], first["commands"], first["mcp_calls"]) == (1, 1, 1)
    old = by_id["2"]
    ref = api_metrics(legacy)
    assert old["total_cost"] == pytest.approx(0.75) == pytest.approx(ref["totalCost"])
    assert old["context_tokens"] == 77 == ref["contextTokens"]
    assert old["tokens_in"] == 40 and old["api_requests"] == 1
    assert by_id["3"]["tokens_in"] is None
    assert "records in 16 = valid 15 + quarantined 1 (balanced)" in result.stderr
    assert "not_json 1" in result.stderr


def test_summarize_table(store):
    root, _ = store
    result = CliRunner().invoke(telemetry, ["summarize", str(root)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("task") and "cost $" in lines[0]
    assert any(line.startswith("11111111-") and "completed" in line for line in lines)
    assert "3 tasks, total cost $0.7800" in result.stdout
    assert "quarantined 1 (balanced)" in result.stdout


def test_summarize_s3(tmp_path, s3, buckets, monkeypatch):
    write_task(tmp_path / "raw/roo/dana/tasks", typical_task())
    upload_tree(s3, buckets.data_bucket, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", buckets.endpoint_url)
    (tmp_path / "compliance.yaml").write_text("storage: {}\n")
    monkeypatch.setenv("COMPLIANCE_CONFIG", str(tmp_path / "compliance.yaml"))
    uri = f"s3://{buckets.data_bucket}/"
    result = CliRunner().invoke(telemetry, ["summarize", uri, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["tokens_in"] == 3000


def test_summarize_missing_path_is_one_line_error(tmp_path):
    result = CliRunner().invoke(telemetry, ["summarize", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert result.stderr.strip().count("\n") == 0 and "no such file" in result.stderr


def test_help_mentions_formats():
    result = CliRunner().invoke(telemetry, ["summarize", "--help"])
    assert result.exit_code == 0 and "--format" in result.output
