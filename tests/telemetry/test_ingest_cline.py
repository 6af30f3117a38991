"""Cline's task storage (saoudrizwan.claude-dev, or ~/.cline/data) ingests like Roo's,
with `agent` saying which. Formats as in Cline's source (cline/cline): task ids are
`Date.now().toString()` (v3; `<epoch-ms>_<5 chars>` in v4), tasks/<id>/ui_messages.json,
task_metadata.json {files_in_context, model_usage: [{ts, model_id, model_provider_id,
mode}]}, and state/taskHistory.json (a JSON array of HistoryItem) beside tasks/."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from ingest_helpers import T0, req, say, typical_task, write_task

from cli.telemetry import telemetry
from tasks.telemetry.ingest import ingest


def _cline_task(t0: int = T0) -> list[dict]:
    # Cline's api_req_started never names a protocol; tokensIn leaves cache out
    return [
        say(t0, "text", "Add a test"),
        req(t0 + 10, tokensIn=12, tokensOut=300, cacheWrites=9000, cacheReads=0, cost=0.04),
        say(
            t0 + 20,
            "api_req_started",
            json.dumps(
                {
                    "tokensIn": 3,
                    "tokensOut": 150,
                    "cacheWrites": 800,
                    "cacheReads": 9000,
                    "cost": 0.01,
                }
            ),
        ),  # fmt: skip
        say(t0 + 30, "completion_result", "done"),
    ]


@pytest.mark.parametrize("columnar", [True, False])
def test_cline_storage_ingests_with_agent_model_and_history(tmp_path, columnar):
    storage = tmp_path / "Code/User/globalStorage/saoudrizwan.claude-dev"
    v3 = write_task(storage / "tasks", _cline_task(), task_id=str(T0))
    v4 = write_task(storage / "tasks", _cline_task(T0 + 5000), task_id=f"{T0 + 5000}_a9Zq1")
    (storage / "tasks" / v3 / "task_metadata.json").write_text(json.dumps({
        "files_in_context": [],
        "model_usage": [{"ts": T0, "model_id": "claude-3-7-sonnet-20250219",
                         "model_provider_id": "anthropic", "mode": "act"},
                        {"ts": T0 + 9, "model_id": "claude-sonnet-4-20250514",
                         "model_provider_id": "anthropic", "mode": "act"}]}))  # fmt: skip
    (storage / "state").mkdir()
    (storage / "state/taskHistory.json").write_text(json.dumps(
        [{"id": v4, "ts": T0 + 5030, "task": "Add a test", "tokensIn": 15, "tokensOut": 450,
          "totalCost": 0.05}]))  # fmt: skip
    result = ingest(str(storage), columnar=columnar)
    rows = {r["task_id"]: r for r in result.tasks.to_pylist()}
    assert {r["agent"] for r in rows.values()} == {"cline"}
    assert rows[v3]["model"] == "claude-sonnet-4-20250514"  # the last model_usage entry
    assert rows[v3]["provider"] == "anthropic"
    for r in rows.values():
        assert r["tokens_in"] == 15 and r["total_cost"] == pytest.approx(0.05)
        # Cline's context: in + out + cache of the last request
        assert r["context_tokens"] == 3 + 150 + 800 + 9000
        assert r["token_rule"] == "inferred_excludes_cache"
    assert int(rows[v4]["started_at"].timestamp() * 1000) == T0 + 5000
    assert result.quarantine.num_rows == 0


def test_roo_and_cline_side_by_side(tmp_path):
    roo = write_task(tmp_path / "roo-home/tasks", typical_task())
    cline = write_task(tmp_path / "cline/.cline/data/tasks", _cline_task(), task_id=str(T0))
    agents = {}
    for root in (tmp_path / "roo-home", tmp_path / "cline/.cline/data"):
        for r in ingest(str(root)).tasks.to_pylist():
            agents[r["task_id"]] = r["agent"]
    assert agents == {roo: "roo", cline: "cline"}
    out = CliRunner().invoke(telemetry, ["summarize", str(tmp_path / "cline/.cline/data"),
                                         "--format", "json"])  # fmt: skip
    assert json.loads(out.stdout)[0]["agent"] == "cline"


def _v4_session(data, sid: str, messages: list[dict] | str, manifest: dict | str | None) -> None:
    """Cline v4 (cline/cline sdk, commit in the module docstring of cline_sessions.py):
    sessions/<id>/<id>.json (SessionManifest) and <id>.messages.json ({version, messages:
    [MessageWithMetadata: role, content, ts, modelInfo, metrics]})."""
    folder = data / "sessions" / sid
    folder.mkdir(parents=True)
    body = messages if isinstance(messages, str) else json.dumps(
        {"version": 1, "updated_at": "2026-11-20T12:00:00.000Z", "agent": "lead",
         "sessionId": sid, "origin": "cli", "messages": messages})  # fmt: skip
    (folder / f"{sid}.messages.json").write_text(body)
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        (folder / f"{sid}.json").write_text(text)


def _v4_messages(t0: int = T0) -> list[dict]:
    info = {"id": "claude-sonnet-4-5", "provider": "anthropic"}
    # v4's inputTokens include the cache (the sdk bills input - cacheRead - cacheWrite)
    return [
        {"role": "user", "content": "Add a test", "ts": t0},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}], "ts": t0 + 10,
         "modelInfo": info, "metrics": {"inputTokens": 9012, "outputTokens": 300,
                                        "cacheWriteTokens": 9000, "cacheReadTokens": 0,
                                        "cost": 0.04}},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x",
                                      "content": "done"}], "ts": t0 + 15},
        {"role": "assistant", "content": "done", "ts": t0 + 20, "modelInfo": info,
         "metrics": {"inputTokens": 9803, "outputTokens": 150, "cacheWriteTokens": 800,
                     "cacheReadTokens": 9000, "cost": 0.01}},
    ]  # fmt: skip


def test_cline_v4_sessions_as_cline_writes_them(tmp_path):
    data = tmp_path / ".cline/data"
    sid = f"{T0}_k3b9x"
    manifest = {"version": 1, "session_id": sid, "source": "cli", "pid": 1,
                "started_at": "2026-11-20T12:00:00.000Z", "status": "completed",
                "interactive": True, "provider": "anthropic", "model": "claude-sonnet-4-5",
                "cwd": "/w", "workspace_root": "/w", "enable_tools": True,
                "enable_spawn": False, "enable_teams": False}  # fmt: skip
    _v4_session(data, sid, _v4_messages(), manifest)
    result = ingest(str(data))
    (row,) = result.tasks.to_pylist()
    assert row["task_id"] == sid and row["agent"] == "cline"
    assert (row["model"], row["provider"]) == ("claude-sonnet-4-5", "anthropic")
    assert row["total_cost"] == pytest.approx(0.05)
    assert row["tokens_out"] == 450
    assert row["context_tokens"] == 9803 + 150  # input includes the cache
    assert row["token_rule"] != "inferred_excludes_cache"
    reqs = [e for e in result.events.to_pylist() if e["category"] == "api_request"]
    assert [e["cache_reads"] for e in reqs] == [0, 9000] and len(reqs) == 2
    assert result.quarantine.num_rows == 0


def test_cline_v4_damaged_session_files_are_quarantined(tmp_path):
    data = tmp_path / ".cline/data"
    _v4_session(data, f"{T0}_aaaaa", _v4_messages(), "{oops")  # manifest damaged
    _v4_session(data, f"{T0}_bbbbb", "[not json", None)  # messages damaged
    result = ingest(str(data))
    rows = {r["task_id"]: r for r in result.tasks.to_pylist()}
    assert rows[f"{T0}_aaaaa"]["model"] == "claude-sonnet-4-5"  # from the messages' modelInfo
    assert rows[f"{T0}_aaaaa"]["total_cost"] == pytest.approx(0.05)
    q = {(r["source"].rsplit("/", 1)[1], r["reason"]) for r in result.quarantine.to_pylist()}
    assert q == {(f"{T0}_aaaaa.json", "not_json"), (f"{T0}_bbbbb.messages.json", "not_json")}


def test_cline_task_metadata_damaged_is_quarantined(tmp_path):
    storage = tmp_path / "saoudrizwan.claude-dev"
    tid = write_task(storage / "tasks", _cline_task(), task_id=str(T0))
    (storage / "tasks" / tid / "task_metadata.json").write_text("{oops")
    result = ingest(str(storage))
    (row,) = result.tasks.to_pylist()
    assert row["task_id"] == tid and row["agent"] == "cline" and row["model"] is None
    (q,) = result.quarantine.to_pylist()
    assert q["source"].endswith("task_metadata.json") and q["reason"] == "not_json"


def test_damaged_cline_history_index_is_quarantined(tmp_path):
    storage = tmp_path / "saoudrizwan.claude-dev"
    tid = write_task(storage / "tasks", _cline_task(), task_id=str(T0))
    (storage / "state").mkdir()
    (storage / "state/taskHistory.json").write_text('{"not": "a list"}')
    result = ingest(str(storage))
    assert [r["task_id"] for r in result.tasks.to_pylist()] == [tid]
    (q,) = result.quarantine.to_pylist()
    assert q["source"].endswith("state/taskHistory.json") and q["reason"] == "bad_type"
    (storage / "state/taskHistory.json").write_text("[{oops")
    (q,) = ingest(str(storage)).quarantine.to_pylist()
    assert q["reason"] == "not_json"
