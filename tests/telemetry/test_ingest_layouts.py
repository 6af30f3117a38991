"""Every layout of the spec: data bucket, bare storage folder, single task, telemetry join,
doubly-encoded text, UUIDv4/v7 ids, missing history, and message categorisation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from ingest_helpers import (
    T0,
    ask,
    envelope,
    req,
    say,
    typical_task,
    uuid7,
    write_events,
    write_task,
)

from tasks.common.errors import InputError
from tasks.common.models import Period
from tasks.telemetry.ingest import ingest
from tasks.telemetry.schema import EVENTS_SCHEMA, QUARANTINE_SCHEMA, TASKS_SCHEMA

PROPS = {"appName": "roo-code", "appVersion": "3.52.1", "mode": "architect",
         "apiProvider": "openrouter", "modelId": "anthropic/claude-sonnet-4.5"}  # fmt: skip


def _data_bucket(root):
    t1 = write_task(root / "raw/roo/alice/tasks", typical_task(), history={"mode": "code"})
    t2 = write_task(root / "raw/roo/bob/tasks", typical_task(T0 + 5000), task_id=uuid7(T0 + 5000))
    write_events(root, "2025-10-09", [
        envelope("alice", "Task Created", {**PROPS, "taskId": t1}, "2025-10-09T08:53:20Z"),
        envelope("alice", "Tool Used", {**PROPS, "taskId": t1, "tool": "apply_diff"},
                 "2025-10-09T08:53:21Z"),
        envelope("alice", "Checkpoint Restored", {**PROPS, "taskId": t1}, "2025-10-09T08:53:22Z"),
        envelope("alice", "LLM Completion", {**PROPS, "taskId": t1, "inputTokens": 10,
                 "outputTokens": 2, "cacheReadTokens": 0, "cacheWriteTokens": 0, "cost": 0.1},
                 "2025-10-09T08:53:23Z"),
        envelope("bob", "Task Message", {**PROPS, "taskId": t2,
                 "message": ask(T0 + 7000, "command", "rm -rf build")}, "2025-10-09T08:53:30Z"),
    ])  # fmt: skip
    return t1, t2


def test_data_bucket_layout_users_and_telemetry_join(tmp_path):
    t1, t2 = _data_bucket(tmp_path)
    result = ingest(str(tmp_path))
    assert result.tasks.schema == TASKS_SCHEMA and result.events.schema == EVENTS_SCHEMA
    assert result.quarantine.schema == QUARANTINE_SCHEMA
    tasks = {r["task_id"]: r for r in result.tasks.to_pylist()}
    assert tasks[t1]["user"] == "alice" and tasks[t2]["user"] == "bob"
    # provider/model/version joined from telemetry by taskId; mode from Task Created
    assert tasks[t1]["provider"] == "openrouter"
    assert tasks[t1]["model"] == "anthropic/claude-sonnet-4.5"
    assert tasks[t1]["app_version"] == "3.52.1" and tasks[t1]["mode"] == "architect"
    assert tasks[t1]["checkpoint_restores"] == 1
    assert tasks[t1]["tokens_in_includes_cache"] is True  # v3.52 semantics
    # UUIDv7 task without history: totals derived from ui_messages
    assert tasks[t2]["tokens_in"] == 3000 and tasks[t2]["mode"] == "architect"
    tel = [r for r in result.events.to_pylist() if r["source"] == "telemetry"]
    by_kind = {r["kind"]: r for r in tel}
    assert by_kind["Checkpoint Restored"]["category"] == "rollback"
    assert by_kind["Checkpoint Restored"]["mutates"] is True
    assert by_kind["Tool Used"]["tool"] == "apply_diff" and by_kind["Tool Used"]["mutates"]
    assert by_kind["LLM Completion"]["cost"] == pytest.approx(0.1)
    cmd = by_kind["command"]  # a Task Message carries the ClineMessage
    assert cmd["type"] == "ask" and cmd["command"] == "rm -rf build" and cmd["mutates"]
    assert cmd["user"] == "bob" and int(cmd["ts"].timestamp() * 1000) == T0 + 7000
    assert result.counts == {"records_in": 27, "valid": 27, "quarantined": 0}


def test_root_may_be_raw_or_one_users_folder(tmp_path):
    t1, t2 = _data_bucket(tmp_path)
    assert ingest(str(tmp_path / "raw")).tasks.num_rows == 2
    only_bob = ingest(str(tmp_path / "raw/roo/bob"))
    assert only_bob.tasks.column("user").to_pylist() == ["bob"]
    assert ingest(str(tmp_path), users=["alice"]).tasks.column("task_id").to_pylist() == [t1]


def test_bare_storage_folder_and_single_task_folder(tmp_path):
    tid = write_task(tmp_path / "store/tasks", typical_task(), history={"workspace": "/repo"})
    bare = ingest(str(tmp_path / "store"), default_user="dev1")
    assert bare.tasks.column("user").to_pylist() == ["dev1"]
    assert bare.tasks.column("workspace").to_pylist() == ["/repo"]
    single = ingest(str(tmp_path / "store/tasks" / tid), default_user="dev2")
    row = single.tasks.to_pylist()[0]
    assert row["task_id"] == tid and row["user"] == "dev2" and row["tokens_out"] == 400
    assert single.events.column("workspace").to_pylist()[0] == "/repo"


def test_doubly_encoded_text_and_file(tmp_path):
    tool = json.dumps({"tool": "newFileCreated", "path": "b.py", "content": "x"})
    msgs = [say(T0, "text", "t"), ask(T0 + 1, "tool", json.dumps(tool)),
            req(T0 + 2, tokensIn=5, tokensOut=1, cost=0.001)]  # fmt: skip
    write_task(tmp_path / "tasks", json.dumps(json.dumps(msgs)))  # the whole file twice
    result = ingest(str(tmp_path))
    ev = result.events.to_pylist()
    assert ev[1]["tool"] == "newFileCreated" and ev[1]["path"] == "b.py" and ev[1]["mutates"]
    assert result.tasks.to_pylist()[0]["write_tool_uses"] == 1


def test_history_only_and_index_fallback(tmp_path):
    tasks = tmp_path / "tasks"
    hist = {"ts": T0, "tokensIn": 11, "tokensOut": 3, "totalCost": 0.2, "status": "delegated"}
    tid = write_task(tasks, None, history=hist)
    other = write_task(tasks, typical_task())
    (tasks / "_index.json").write_text(json.dumps({"version": 1, "updatedAt": T0, "entries": [
        {"id": other, "mode": "debug", "workspace": "/x", "parentTaskId": tid, "rootTaskId": tid}
    ]}))  # fmt: skip
    rows = {r["task_id"]: r for r in ingest(str(tmp_path)).tasks.to_pylist()}
    assert rows[tid]["tokens_in"] == 11 and rows[tid]["status"] == "delegated"
    assert rows[tid]["total_cost"] == pytest.approx(0.2)
    assert rows[other]["mode"] == "debug" and rows[other]["parent_task_id"] == tid


def test_uuid7_time_is_used_when_nothing_else_is_known(tmp_path):
    tid = uuid7(T0 + 123)
    write_task(tmp_path / "tasks", b"{broken", task_id=tid)
    row = ingest(str(tmp_path)).tasks.to_pylist()[0]
    assert int(row["started_at"].timestamp() * 1000) == T0 + 123
    assert row["tokens_in"] is None and row["status"] == "unknown"


@pytest.mark.parametrize(
    ("msg", "category", "error_class"),
    [
        (ask(T0, "api_req_failed", "401 Unauthorized: invalid x-api-key"), "error", "auth"),
        (ask(T0, "api_req_failed", '403 {"error":"forbidden"}'), "error", "auth"),
        (say(T0, "api_req_retry_delayed", "429\nRate limit exceeded\nRetrying in 5s"), "error",
         "rate_limit"),
        (say(T0, "error", "Command execution timed out after 60 seconds"), "error", "timeout"),
        (ask(T0, "api_req_failed", "500 Internal Server Error"), "error", "api_failed"),
        (say(T0, "diff_error", "no match"), "error", "diff_error"),
        (ask(T0, "mistake_limit_reached", "stuck"), "error", "mistake_limit"),
        (say(T0, "rooignore_error", ".env"), "error", "rooignore"),
        (ask(T0, "auto_approval_max_req_reached", {"count": 50, "type": "requests"}), "error",
         "auto_approval_limit"),
        (say(T0, "api_req_started", {"cancelReason": "streaming_failed",
             "streamingFailedMessage": "socket hang up"}), "api_request", "streaming_failed"),
        (ask(T0, "tool", {"tool": "switchMode", "mode": "debug"}), "mode_switch", None),
        (ask(T0, "tool", {"tool": "newTask", "mode": "code"}), "subtask", None),
        (ask(T0, "followup", "which file?"), "feedback", None),
        (say(T0, "some_future_kind", "x"), "other", None),
    ],
)  # fmt: skip
def test_categories_and_error_classes(tmp_path, msg, category, error_class):
    write_task(tmp_path / "tasks", [say(T0 - 1, "text", "prompt"), msg])
    result = ingest(str(tmp_path))
    first, row = result.events.to_pylist()
    assert first["category"] == "prompt"
    assert (row["category"], row["error_class"]) == (category, error_class)
    task = result.tasks.to_pylist()[0]
    assert task["errors"] == (1 if category == "error" else 0)
    if msg.get("ask") == "api_req_failed" or error_class == "streaming_failed":
        assert task["api_failures"] == 1


def test_mutating_kinds(tmp_path):
    msgs = [say(T0, "text", "p")]
    for i, tool in enumerate(
        [
            "editedExistingFile",
            "appliedDiff",
            "newFileCreated",
            "generateImage",
            "searchAndReplace",
            "insertContent",
            "readFile",
        ]
    ):
        msgs.append(ask(T0 + i + 1, "tool", {"tool": tool, "path": f"f{i}"}))  # fmt: skip
    msgs.append(
        ask(
            T0 + 20,
            "use_mcp_server",
            {"type": "access_mcp_resource", "serverName": "docs", "uri": "docs://a"},
        )
    )
    result = ingest(str(_write(tmp_path, msgs)))
    mut = [r["mutates"] for r in result.events.to_pylist()[1:]]
    assert mut == [True] * 6 + [False, False]
    assert result.tasks.to_pylist()[0]["write_tool_uses"] == 6


def _write(tmp_path, msgs):
    write_task(tmp_path / "tasks", msgs)
    return tmp_path


def test_period_filters_events_and_tasks(tmp_path):
    write_task(tmp_path / "tasks", typical_task())
    write_task(tmp_path / "tasks", typical_task(T0 + 10 * 86_400_000))
    start = datetime.fromtimestamp((T0 - 1000) / 1000, UTC)
    end = datetime.fromtimestamp((T0 + 86_400_000) / 1000, UTC)
    result = ingest(str(tmp_path), period=Period(start=start, end=end))
    assert result.tasks.num_rows == 1 and result.events.num_rows == 11
    assert result.counts["records_in"] == 11


def test_missing_source_is_one_line_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        ingest(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Roo Code data"):
        ingest(str(tmp_path / "empty"))


def _sorted(table, keys):
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


def test_columnar_and_row_parsers_agree(tmp_path):
    """The columnar fast path must give exactly the rows of the reference row parser."""
    _data_bucket(tmp_path)
    tasks = tmp_path / "raw/roo/carol/tasks"
    write_task(tasks, [say(T0, "text", "p"), ask(T0 + 1, "tool", {"tool": "switchMode",
               "mode": "debug"}), say(T0 + 2, "error", "429 too many requests"),
               req(T0 + 3, apiProtocol="openai", tokensIn=9, cancelReason="streaming_failed"),
               say(T0 + 4, "condense_context", contextCondense={"cost": 0.2,
               "newContextTokens": 5}), ask(T0 + 5, "resume_task"),
               {"ts": T0 + 6.0, "type": "say", "say": "text", "text": "float ts"}])  # fmt: skip
    write_task(tasks, [say(T0, "text", "p"), {"ts": "x", "type": "say", "say": "text"}])
    write_task(tasks, [say(T0, "text", "p"), say(T0 + 1, "api_req_started", {"request": "r"}),
                       say(T0 + 2, "api_req_finished", {"tokensIn": 3, "cost": 0.1})])  # fmt: skip
    # files the typed decoder refuses or accepts at its edges
    for odd in ({"ts": T0 + 1, "type": "say", "say": "text", "text": 5},
                {"ts": T0 + 1, "type": "say", "say": "text", "ask": 5},  # ignored key
                {"ts": T0 + 1, "type": "x", "say": "text"}, [1, 2],
                {"ts": T0 + 1, "type": "ask", "ask": None},
                {"ts": T0 + 1, "type": "say", "say": "text", "apiProtocol": 7},
                {"ts": 10**20, "type": "say", "say": "text"}):  # fmt: skip
        write_task(tasks, [say(T0, "text", "p"), odd])
    write_task(tasks, [say(T0, "text", "p"), say(T0 + 1, "api_req_started",
               {"tokensIn": 2.5, "cost": True, "apiProtocol": "openai"})])  # fmt: skip
    # no protocol, tokensIn below the cache (inferred), mixed with a named request
    write_task(tasks, [say(T0, "text", "p"), req(T0 + 1, tokensIn=1, cacheReads=50),
               req(T0 + 2, apiProtocol="openai", tokensIn=9), req(T0 + 3, tokensIn=3,
               tokensOut=2, cacheWrites=7)])  # fmt: skip
    infinity = tasks / "00000000-0000-4000-8000-00000000beef"
    infinity.mkdir()
    (infinity / "ui_messages.json").write_text(
        f'[{{"ts":{T0},"type":"say","say":"text","text":"p","x":1e400}}]'
    )
    fast, slow = ingest(str(tmp_path)), ingest(str(tmp_path), columnar=False)
    for name, keys in (("events", ["task_id", "source", "seq"]), ("tasks", ["task_id"])):
        rows_fast = _sorted(getattr(fast, name), keys)
        rows_slow = _sorted(getattr(slow, name), keys)
        assert len(rows_fast) == len(rows_slow)
        for a, b in zip(rows_fast, rows_slow, strict=True):
            # float sums may differ in the last bit (summation order), nothing else may
            assert a == {k: pytest.approx(v) if isinstance(v, float) else v for k, v in b.items()}
    assert fast.counts == slow.counts
    # the same rows; tasks the columnar parser hands over are read later, so sort
    assert _sorted(fast.quarantine, ["source", "position", "reason"]) == _sorted(
        slow.quarantine, ["source", "position", "reason"]
    )
    assert fast.counts["quarantined"] >= 6  # the odd messages above


def test_columnar_path_is_taken_for_regular_tasks(tmp_path, monkeypatch):
    import tasks.telemetry.batch as batch_mod

    calls = []
    real = batch_mod.parse_batch
    monkeypatch.setattr(batch_mod, "parse_batch", lambda b, p: calls.append(len(b)) or real(b, p))
    for i in range(3):
        write_task(tmp_path / "tasks", typical_task(T0 + i))
    assert ingest(str(tmp_path)).tasks.num_rows == 3 and calls == [3]


def test_a_task_is_described_by_its_telemetry_whoever_it_was_filed_under(tmp_path):
    """A user filter picks the records, not the attributes of the tasks it keeps."""
    t1 = write_task(tmp_path / "raw/roo/alice/tasks", typical_task())
    write_task(tmp_path / "raw/roo/bob/tasks", typical_task(T0 + 5000))
    write_events(tmp_path, "2025-10-09", [
        envelope("bob", "Task Created", {**PROPS, "taskId": t1, "apiProvider": "bedrock",
                 "mode": "architect"}, "2025-10-09T08:53:20Z"),
        envelope("bob", "Task Message", {**PROPS, "taskId": t1, "apiProvider": "vertex",
                 "message": {"text": "no ts"}}, "2025-10-09T08:53:21Z"),
    ])  # fmt: skip
    everyone = ingest(str(tmp_path))
    only_alice = ingest(str(tmp_path), users=["alice"])
    row = next(r for r in only_alice.tasks.to_pylist() if r["task_id"] == t1)
    assert (row["provider"], row["mode"]) == ("bedrock", "architect")  # not the bad line's
    assert row == next(r for r in everyone.tasks.to_pylist() if r["task_id"] == t1)
    # bob's lines are not alice's records: neither counted nor quarantined in her run
    assert only_alice.counts["quarantined"] == 0 and everyone.counts["quarantined"] == 1
