"""Bad records are quarantined with a reason, never dropped; counts always balance."""

from __future__ import annotations

import json

from ingest_helpers import T0, envelope, say, typical_task, write_events, write_task

from tasks.telemetry.ingest import ingest

SECRET = "sk-ant-api03-" + "A" * 60


def _balanced(result):
    c = result.counts
    assert c["records_in"] == c["valid"] + c["quarantined"]
    assert c["valid"] == result.events.num_rows
    assert c["quarantined"] == result.quarantine.num_rows
    return c


def _reasons(result):
    return [r["reason"] for r in result.quarantine.to_pylist()]


def test_bad_messages_are_quarantined_and_the_rest_goes_on(tmp_path):
    msgs = typical_task()
    bad = [
        {"type": "say", "say": "text", "text": "no ts"},
        {"ts": T0 + 5, "say": "text", "text": "no type"},
        {"ts": str(T0 + 6), "type": "say", "say": "text", "text": f"key {SECRET}"},
        {"ts": T0 + 7, "type": "say", "say": "text", "text": {"not": "a string"}},
        {"ts": T0 + 8, "type": "ask"},
        "not an object",
    ]
    write_task(tmp_path / "tasks", msgs[:3] + bad + msgs[3:])
    result = ingest(str(tmp_path))
    assert _reasons(result) == [
        "missing_ts", "missing_type", "bad_type", "bad_type", "missing_kind", "bad_type"
    ]  # fmt: skip
    assert _balanced(result) == {"records_in": 17, "valid": 11, "quarantined": 6}
    q = result.quarantine.to_pylist()
    assert q[0]["position"] == "message 3" and q[0]["stage"] == "parse"
    assert q[2]["detail"] == "ts is str, not a number"
    assert all(SECRET not in (r["record_excerpt"] or "") for r in q)
    assert all(len(r["record_excerpt"] or "") <= 200 for r in q)
    # totals unaffected by the quarantined messages
    assert result.tasks.to_pylist()[0]["tokens_in"] == 3000


def test_not_json_file_and_bad_history(tmp_path):
    write_task(tmp_path / "tasks", f'[{{"ts": 1, "text": "{SECRET}"'.encode())
    tid = write_task(tmp_path / "tasks", typical_task())
    (tmp_path / "tasks" / tid / "history_item.json").write_text("{nope")
    write_task(tmp_path / "tasks", json.dumps({"not": "an array"}))
    result = ingest(str(tmp_path))
    assert sorted(_reasons(result)) == ["not_array", "not_json", "not_json"]
    assert _balanced(result) == {"records_in": 14, "valid": 11, "quarantined": 3}
    assert result.tasks.num_rows == 3  # every task folder still has a row
    assert all(SECRET not in (r["record_excerpt"] or "") for r in result.quarantine.to_pylist())


def test_non_utf8_byte_quarantines_only_its_message(tmp_path):
    good = json.dumps(typical_task())
    bad_msg = b'{"ts": 1760000000005, "type": "say", "say": "text", "text": "caf\xe9"}'
    raw = good[:-1].encode() + b"," + bad_msg + b"]"
    write_task(tmp_path / "tasks", raw)
    result = ingest(str(tmp_path))
    assert _reasons(result) == ["not_utf8"]
    assert result.quarantine.to_pylist()[0]["position"] == "message 11"
    assert _balanced(result) == {"records_in": 12, "valid": 11, "quarantined": 1}


def test_oversize_file_is_quarantined_without_reading(tmp_path):
    write_task(tmp_path / "tasks", typical_task() * 50)
    write_task(tmp_path / "tasks", typical_task())
    result = ingest(str(tmp_path), max_file_bytes=20_000)
    assert _reasons(result) == ["too_large"]
    assert "over the 20000 byte limit" in result.quarantine.to_pylist()[0]["detail"]
    assert _balanced(result)["valid"] == 11


def test_event_lines_quarantine_cases(tmp_path):
    write_task(tmp_path / "tasks", typical_task())
    huge = (
        b'{"v": 1, "user": "u", "event": {"type": "x", "properties": {"p": "'
        + (b"A" * (50 * 1024 * 1024))
        + b'"}}, "received_at": "2025-10-09T00:00:00Z"}'
    )
    path = write_events(tmp_path, "2025-10-09", [
        envelope("u", "Task Created", {"taskId": "t"}, "2025-10-09T00:00:00Z"),
        b"not json at all",
        b'{"v": 1, "user": "u", "received_at": "2025-10-09T00:00:00Z", "event": {"type": "caf\xe9"}}',
        huge,
        {"v": 1, "user": "u", "event": {"type": "Task Created"}},
        {"v": 1, "user": "u", "received_at": "yesterday", "event": {"type": "Task Created"}},
        {"v": 2, "user": "u", "received_at": "2025-10-09T00:00:00Z", "event": {"type": "x"}},
        envelope("u", "Task Message", {"message": {"type": "say", "say": "text"}},
                 "2025-10-09T00:00:00Z"),
        envelope("u", "Task Message", {"message": {"ts": "1", "type": "say", "say": "text"}},
                 "2025-10-09T00:00:00Z"),
        b"",
        envelope("u", "Mode Switched", {"taskId": "t", "newMode": "debug"},
                 "2025-10-09T00:00:01Z"),
    ])  # fmt: skip
    assert path.stat().st_size > 50 * 1024 * 1024
    result = ingest(str(tmp_path))
    assert _reasons(result) == [
        "not_json", "not_utf8", "too_large", "missing_ts", "bad_type", "bad_version",
        "missing_ts", "bad_type",
    ]  # fmt: skip
    positions = [r["position"] for r in result.quarantine.to_pylist()]
    assert positions[2] == "line 4"
    assert _balanced(result) == {"records_in": 21, "valid": 13, "quarantined": 8}
    switch = [r for r in result.events.to_pylist() if r["kind"] == "Mode Switched"][0]
    assert switch["target_mode"] == "debug" and switch["category"] == "mode_switch"


def test_excerpt_is_short_and_redacted(tmp_path):
    text = f'password="{SECRET}" ' + "x" * 500
    write_task(tmp_path / "tasks", [say(T0, "text", "p"), {"ts": "bad", "text": text}])
    q = ingest(str(tmp_path)).quarantine.to_pylist()[0]
    assert len(q["record_excerpt"]) <= 200 and SECRET not in q["record_excerpt"]
    assert "[redacted]" in q["record_excerpt"] and "\n" not in q["detail"]
