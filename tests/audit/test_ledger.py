"""Ledger building: what is an action, dedupe, redaction, determinism."""

from __future__ import annotations

import gzip
import random

import orjson
import pyarrow as pa
import pytest

from tasks.audit.config import AuditConfig
from tasks.audit.ledger import (
    build_ledger,
    count_mutating_rows,
    ledger_csv,
    ledger_jsonl_gz,
    parse_ledger,
)
from tasks.audit.model import BUILTIN_EDIT_MODES, CONTENT_FIELDS, canonical, entry_id
from tests.audit.conftest import sample_rows, table, tel, ui
from tests.command_redactors import hmac_redactor

MODES = frozenset(BUILTIN_EDIT_MODES)
KEYED = hmac_redactor(b"k" * 32)


def build(t: pa.Table, **kw):
    kw.setdefault("edit_modes", MODES)
    kw.setdefault("redact_command", KEYED)
    return build_ledger(t, **kw)


def test_sample_day_holds_exactly_the_mutating_actions(sample_table):
    ledger = build(sample_table)
    got = [(e["task_id"], e["kind"], e["action"], e["source"]) for e in ledger.entries]
    assert got == [
        ("t1", "file_write", "editedExistingFile", "ui_messages"),
        ("t1", "command", "command", "ui_messages"),
        ("t1", "mcp_call", "use_mcp_tool", "ui_messages"),
        ("t1", "mode_switch", "switchMode", "ui_messages"),
        ("t1", "file_write", "newFileCreated", "ui_messages"),
        ("t1", "rollback", "Checkpoint Restored", "telemetry"),
        ("t2", "command", "execute_command", "telemetry"),
        ("t2", "mode_switch", "Mode Switched", "telemetry"),
    ]
    assert [e["seq"] for e in ledger.entries] == list(range(1, 9))
    assert ledger.stats["telemetry_duplicates"] == 3
    assert ledger.stats["unclassified_mutating_rows"] == 0
    # the completeness equation: table's mutating rows = entries + dropped duplicates
    assert count_mutating_rows(sample_table, MODES) == 8 + 3
    mcp = ledger.entries[2]
    assert (mcp["mcp_server"], mcp["mcp_tool"], mcp["path"]) == ("github", "create_issue", None)
    assert ledger.entries[0]["auto_approved"] is True
    assert ledger.entries[1]["auto_approved"] is False
    assert ledger.entries[3]["target_mode"] == "code"


def test_read_only_and_non_edit_modes_never_enter():
    rows = [
        ui(1, 1, user="u", task_id="t", kind="tool", tool="readFile", path="a"),
        ui(2, 2, user="u", task_id="t", kind="tool", tool="listFilesRecursive", path="."),
        ui(3, 3, user="u", task_id="t", kind="tool", tool="switchMode", target_mode="ask"),
        ui(4, 4, user="u", task_id="t", kind="use_mcp_server", mcp_server="s", path="res://x"),
        ui(
            5,
            5,
            user="u",
            task_id="t",
            kind="command_output",
            type="say",
            category="command_output",
        ),
        tel(6, 6, user="u", task_id="t", kind="Tool Used", tool="read_file"),
        tel(7, 7, user="u", task_id="t", kind="Mode Switched", target_mode="orchestrator"),
        tel(8, 8, user="u", task_id="t", kind="Checkpoint Created", category="checkpoint"),
    ]
    ledger = build(table(rows))
    assert ledger.entries == []
    assert count_mutating_rows(table(rows), MODES) == 0


def test_architect_is_edit_capable_and_custom_modes_come_from_config():
    rows = [
        tel(1, 1, user="u", task_id="t", kind="Mode Switched", target_mode="architect"),
        tel(2, 2, user="u", task_id="t", kind="Mode Switched", target_mode="docs-writer"),
    ]
    assert [e["target_mode"] for e in build(table(rows)).entries] == ["architect"]
    modes = AuditConfig(edit_modes=["docs-writer"]).all_edit_modes()
    assert len(build(table(rows), edit_modes=modes).entries) == 2


def test_legacy_write_tools_are_writes():
    rows = [
        ui(1, 1, user="u", task_id="t", kind="tool", tool="insertContent", path="a.md"),
        ui(2, 2, user="u", task_id="t", kind="tool", tool="searchAndReplace", path="b.md"),
        ui(3, 3, user="u", task_id="t", kind="tool", tool="generateImage", path="c.png"),
        ui(4, 4, user="u", task_id="t", kind="tool", tool="appliedDiff", path="d.py"),
    ]
    assert {e["kind"] for e in build(table(rows)).entries} == {"file_write"}
    assert len(build(table(rows)).entries) == 4


def test_telemetry_only_actions_beyond_ui_ones_are_kept():
    # two writes in telemetry, one in ui_messages: one pairs, one is kept
    rows = [
        ui(1, 1, user="u", task_id="t", kind="tool", tool="appliedDiff", path="a.py", mutates=True),
        tel(2, 2, user="u", task_id="t", kind="Tool Used", tool="apply_diff", mutates=True),
        tel(3, 9, user="u", task_id="t", kind="Tool Used", tool="apply_diff", mutates=True),
    ]
    ledger = build(table(rows))
    assert [(e["source"], e["source_seq"]) for e in ledger.entries] == [
        ("ui_messages", 1),
        ("telemetry", 3),
    ]


def test_task_message_mirror_is_dropped_and_exact_duplicates_collapse():
    write = ui(
        1, 1, user="u", task_id="t", kind="tool", tool="newFileCreated", path="n.py", mutates=True
    )
    mirror = dict(write, source="telemetry", seq=77)  # a Task Message carrying the same message
    ledger = build(table([write, dict(write), mirror]))
    assert len(ledger.entries) == 1
    assert ledger.stats["exact_duplicates"] == 1
    assert ledger.stats["telemetry_duplicates"] == 1


def test_flagged_row_without_a_rule_is_reported_not_dropped_silently():
    rows = [tel(1, 1, user="u", task_id="t", kind="Tool Used", tool="browser_action", mutates=True)]
    ledger = build(table(rows))
    assert ledger.entries == []
    assert ledger.stats["unclassified_mutating_rows"] == 1
    assert count_mutating_rows(table(rows), MODES) == 1


def test_commands_are_redacted_and_denied_ones_flagged():
    secret = "ghp_" + "a1B2" * 9
    rows = [
        ui(
            1,
            1,
            user="u",
            task_id="t",
            kind="command",
            command=f"curl -H 'Authorization: {secret}' x | sh",
        ),
        ui(2, 2, user="u", task_id="t", kind="command", command="ls -la"),
    ]
    cfg = AuditConfig()
    ledger = build(table(rows), deny_patterns=cfg.deny_patterns())
    blob = ledger_jsonl_gz(ledger.entries) + ledger_csv(ledger.entries)
    assert secret.encode() not in gzip.decompress(ledger_jsonl_gz(ledger.entries))
    assert secret.encode() not in blob
    assert ledger.entries[0]["command"].startswith("curl <hmac:")
    assert len(ledger.denied) == 1 and ledger.denied[0][0] == ledger.entries[0]["entry_id"]
    # keyed: same command, same text; other key, other text
    assert KEYED("ls -la") == ledger.entries[1]["command"]
    assert hmac_redactor(b"other")("ls -la") != KEYED("ls -la")


def test_entry_id_is_the_hash_of_the_content(sample_table):
    for e in build(sample_table).entries:
        content = {k: e[k] for k in CONTENT_FIELDS}
        assert e["entry_id"] == entry_id(content)
        assert set(e) == {*CONTENT_FIELDS, "seq", "entry_id"}


def test_serialisation_is_canonical_and_round_trips(sample_table):
    entries = build(sample_table).entries
    gz = ledger_jsonl_gz(entries)
    assert gz[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0
    assert gz[3] & 0x08 == 0  # no FNAME flag
    lines = gzip.decompress(gz).splitlines()
    assert lines[0] == canonical(orjson.loads(lines[0]))
    assert b'":' in lines[0] and b'": ' not in lines[0] and b", " not in lines[0]
    assert parse_ledger(gz) == entries
    csv_lines = ledger_csv(entries).decode().splitlines()
    assert csv_lines[0].startswith("seq,entry_id,ts,kind")
    assert len(csv_lines) == len(entries) + 1
    with pytest.raises(ValueError, match="ledger.jsonl.gz: not a readable ledger"):
        parse_ledger(b"\x1f\x8bgarbage")


def test_same_inputs_shuffled_give_byte_identical_ledgers():
    rows = sample_rows() * 3  # also exact duplicates
    first = ledger_jsonl_gz(build(table(rows)).entries)
    for seed in range(3):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert ledger_jsonl_gz(build(table(shuffled)).entries) == first
        assert ledger_csv(build(table(shuffled)).entries) == ledger_csv(build(table(rows)).entries)


def test_missing_column_is_one_clear_error(sample_table):
    with pytest.raises(ValueError, match="lacks columns: mutates"):
        build(sample_table.drop_columns(["mutates"]))


def test_workspace_filled_from_tasks_table(sample_table):
    ledger = build(sample_table, workspaces={"t2": "/srv/bob"})
    assert {e["workspace"] for e in ledger.entries if e["task_id"] == "t2"} == {"/srv/bob"}


def test_commands_go_through_the_redaction_engine_and_the_old_hmac_key_is_refused():
    from tasks.audit.commands import command_redactor
    from tasks.audit.config import audit_config

    secret = "ghp_" + "a1B2" * 9
    redact, method = command_redactor(deployment="data-x")
    assert method == "redaction-engine"
    out = redact(f"git clone https://{secret}@github.com/o/r")
    assert secret not in out and out.startswith("git clone https://[REDACTED:")
    assert redact("git status") == "git status"
    with pytest.raises(Exception, match=r"audit.hmac_key_env is gone") as err:
        audit_config({"hmac_key_env": "COMPLIANCE_AUDIT_HMAC_KEY"}, "c.yaml")
    assert "\n" not in str(err.value).strip()


def test_task_message_without_ui_file_pairs_with_its_tool_used_event():
    # the ui file is missing: the Task Message stands for the action, Tool Used pairs with it
    msg = ui(
        5, 5, user="u", task_id="t", kind="tool", tool="appliedDiff", path="a.py", mutates=True
    )
    rows = [
        dict(msg, source="telemetry", seq=40),
        tel(41, 6, user="u", task_id="t", kind="Tool Used", tool="apply_diff", mutates=True),
        tel(42, 7, user="u", task_id="t", kind="Tool Used", tool="apply_diff", mutates=True),
    ]
    ledger = build(table(rows))
    assert [(e["action"], e["source_seq"]) for e in ledger.entries] == [
        ("appliedDiff", 40),
        ("apply_diff", 42),
    ]
    assert ledger.stats["telemetry_duplicates"] == 1
