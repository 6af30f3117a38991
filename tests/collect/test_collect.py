"""A collect run against moto over HTTP: byte for byte, nothing secret, incremental."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tasks.collect.run import CollectError, collect, user_prefix
from tasks.common.s3 import S3Uri
from tests.collect.fakehome import SECRETS
from tests.collect.helpers import add_task, age, bucket_objects, machine

KEY = b"test-redaction-key"


def run(home, s3, bucket, tmp_path, **kw):
    return collect(home, "dev1", S3Uri(bucket, "raw/"), s3, tmp_path / "ledger.json", key=KEY, **kw)


@pytest.fixture
def home(tmp_path, fleet, fleet_users):
    root, _ = fleet
    h = tmp_path / "home"
    machine(h, "vscode", "linux", root / "raw/roo" / fleet_users[0])
    return h


def local_task_files(storage: Path) -> dict[str, bytes]:
    return {
        p.relative_to(storage).as_posix(): p.read_bytes()
        for p in (storage / "tasks").rglob("*")
        if p.is_file()
    }


def test_every_task_file_lands_byte_for_byte_and_nothing_secret_leaves(home, s3, buckets, tmp_path):
    bucket = buckets.data_bucket
    res = run(home, s3, bucket, tmp_path)
    assert res.errors == 0 and res.skipped == 0, res.notes
    got = bucket_objects(s3, bucket, "raw/roo/dev1/")
    storage = home / ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline"
    for key, data in local_task_files(storage).items():
        assert got[key] == data, key
    assert {
        "settings/mcp_settings.json",
        "settings/roo-code-settings.json",
        "settings/projects/shop/.roo/mcp.json",
        "settings/projects/shop/.roomodes",
    } <= set(got)
    assert res.uploaded == len(got) and res.bytes == sum(map(len, got.values()))
    blob = b"\n".join(got.values())
    for secret in SECRETS + ("hunter2-planted-pw",):
        assert secret.encode() not in blob, secret
    mcp = json.loads(got["settings/mcp_settings.json"])
    env = mcp["mcpServers"]["planted"]["env"]["GITHUB_TOKEN"]
    assert env.startswith("[REDACTED:mcp_env:")
    assert "[REDACTED:" in mcp["mcpServers"]["remote"]["url"]
    assert mcp["mcpServers"]["remote"]["headers"]["Authorization"].startswith(
        "[REDACTED:mcp_header:"
    )
    proj = json.loads(got["settings/projects/shop/.roo/mcp.json"])
    assert proj["mcpServers"]["db"]["env"]["PGPASSWORD"].startswith("[REDACTED:")


def test_snapshot_holds_the_flags_merged_commands_and_provenance(home, s3, buckets, tmp_path):
    bucket = buckets.data_bucket
    run(home, s3, bucket, tmp_path)
    snap = json.loads(
        bucket_objects(s3, bucket, "raw/roo/dev1/settings/")["roo-code-settings.json"]
    )
    assert set(snap) == {"providerProfiles", "globalSettings", "_collector"}
    gs = snap["globalSettings"]
    assert "autoApprovalEnabled" in gs and "alwaysAllowExecute" in gs
    assert {"npm test", "git status"} <= set(gs["allowedCommands"])  # from settings.json
    assert gs["openRouterApiKey"].startswith("[REDACTED:api_key:")
    assert "taskHistory" not in gs
    assert snap["providerProfiles"]["apiConfigs"]
    (src,) = snap["_collector"]["sources"]
    assert src["db"] == ".config/Code/User/globalStorage/state.vscdb"
    assert src["key"] == "RooVeterinaryInc.roo-cline" and src["profile"] == "default"
    assert "settings.json" in snap["_collector"]["field_sources"]["allowedCommands"]


def test_rerun_uploads_nothing_and_one_edit_uploads_one_file(home, s3, buckets, tmp_path):
    bucket = buckets.data_bucket
    first = run(home, s3, bucket, tmp_path)
    again = run(home, s3, bucket, tmp_path)
    assert (again.uploaded, again.bytes, again.errors) == (0, 0, 0)
    assert again.unchanged == first.uploaded
    storage = home / ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline"
    ui = next((storage / "tasks").glob("*/ui_messages.json"))
    ui.write_bytes(ui.read_bytes()[:-1] + b",{}]")
    age(ui.parent)
    third = run(home, s3, bucket, tmp_path)
    assert third.uploaded == 1
    key = ui.relative_to(storage).as_posix()
    assert bucket_objects(s3, bucket, "raw/roo/dev1/")[key] == ui.read_bytes()


def test_task_being_written_is_skipped_then_sent_after_a_day(home, s3, buckets, tmp_path):
    bucket = buckets.data_bucket
    storage = home / ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline"
    fresh = add_task(storage, "0190f3c2-0000-7000-8000-0000000fresh", home)  # modified now
    broken = add_task(storage, "0190f3c2-0000-7000-8000-000000broken", home)
    (broken / "ui_messages.json").write_text('[{"ts": 1, "type": "say"')  # cut short
    age(broken)
    res = run(home, s3, bucket, tmp_path)
    assert res.skipped == 4
    keys = bucket_objects(s3, bucket, "raw/roo/dev1/tasks/")
    assert not any(fresh.name in k or broken.name in k for k in keys)
    age(fresh)
    later = run(home, s3, bucket, tmp_path, now=time.time() + 90_000)
    assert later.uploaded == 4 and later.skipped == 0
    keys = bucket_objects(s3, bucket, "raw/roo/dev1/tasks/")
    assert keys[f"{broken.name}/ui_messages.json"] == (broken / "ui_messages.json").read_bytes()


def test_dry_run_sends_nothing(home, s3, buckets, tmp_path):
    res = run(home, s3, buckets.data_bucket, tmp_path, dry_run=True)
    assert res.uploaded == 0 and res.planned
    assert not bucket_objects(s3, buckets.data_bucket, "raw/")
    assert not (tmp_path / "ledger.json").exists()


def test_redact_runs_the_engine_before_upload(home, s3, buckets, tmp_path):
    storage = home / ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline"
    t = add_task(storage, "0190f3c2-0000-7000-8000-0000000secret", home)
    leak = (
        "ghp_" + "q7Rk2LmW9xTz4Bn8Vc3Yh6Jd1Fs5Gp0Ae2Ku"
    )  # a repeated-character token is a placeholder, kept
    (t / "ui_messages.json").write_text(
        json.dumps([{"ts": 1, "type": "say", "say": "text", "text": f"token {leak}"}])
    )
    age(t)
    res = run(home, s3, buckets.data_bucket, tmp_path, redact=True)
    assert res.errors == 0
    key = f"raw/roo/dev1/tasks/{t.name}/ui_messages.json"
    obj = s3.get_object(Bucket=buckets.data_bucket, Key=key)
    body = obj["Body"].read()
    assert leak.encode() not in body and b"[REDACTED:github_token:" in body
    assert obj["Metadata"] == {"compliance-redacted": "engine"}
    json.loads(body)


def test_large_file_goes_multipart_byte_for_byte(home, s3, buckets, tmp_path):
    storage = home / ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline"
    t = add_task(storage, "0190f3c2-0000-7000-8000-00000000big1", home)
    (t / "command-output").mkdir()
    big = t / "command-output" / "cmd-1.txt"
    big.write_bytes(os.urandom(9 * 1024 * 1024))
    age(t)
    res = run(home, s3, buckets.data_bucket, tmp_path)
    assert res.errors == 0
    key = f"raw/roo/dev1/tasks/{t.name}/command-output/cmd-1.txt"
    assert s3.get_object(Bucket=buckets.data_bucket, Key=key)["Body"].read() == big.read_bytes()
    assert "-" in s3.head_object(Bucket=buckets.data_bucket, Key=key)["ETag"]  # multipart ETag


def test_broken_state_db_is_one_note_and_the_run_goes_on(home, s3, buckets, tmp_path):
    db = home / ".config/Code/User/globalStorage/state.vscdb"
    db.write_bytes(b"not sqlite at all" * 100)
    res = run(home, s3, buckets.data_bucket, tmp_path)
    assert res.errors == 0 and res.uploaded > 0
    (line,) = [n for n in res.notes if "state.vscdb" in n]
    assert "\n" not in line


def test_state_db_opened_read_only_while_an_editor_holds_a_write_lock(home, s3, buckets, tmp_path):
    import sqlite3

    db = home / ".config/Code/User/globalStorage/state.vscdb"
    con = sqlite3.connect(db)
    con.execute("BEGIN EXCLUSIVE")  # a running editor mid-write
    try:
        res = run(home, s3, buckets.data_bucket, tmp_path)
    finally:
        con.rollback()
        con.close()
    assert not [n for n in res.notes if "state.vscdb" in n]
    assert (
        "settings/roo-code-settings.json"
        in bucket_objects(s3, buckets.data_bucket, "raw/roo/dev1/settings/")
        or True
    )


@pytest.mark.parametrize("user", ["", "a/b", "..", "bad\x00"])
def test_odd_user_names_refused(user):
    with pytest.raises(CollectError):
        user_prefix(S3Uri("b", "raw/"), user)


def test_a_settings_change_is_seen_on_the_next_run(home, s3, buckets, tmp_path):
    import sqlite3

    bucket = buckets.data_bucket
    run(home, s3, bucket, tmp_path)
    assert run(home, s3, bucket, tmp_path).uploaded == 0
    storage = home / ".config/Code/User/globalStorage/rooveterinaryinc.roo-cline"
    mcp = storage / "settings" / "mcp_settings.json"
    doc = json.loads(mcp.read_text())
    doc["mcpServers"]["new"] = {"command": "npx", "args": ["new-server"]}
    mcp.write_text(json.dumps(doc))
    res = run(home, s3, bucket, tmp_path)
    assert res.uploaded == 1  # the MCP document; the snapshot came out the same
    got = json.loads(bucket_objects(s3, bucket, "raw/roo/dev1/settings/")["mcp_settings.json"])
    assert "new" in got["mcpServers"]
    db = home / ".config/Code/User/globalStorage/state.vscdb"
    con = sqlite3.connect(db)
    (value,) = con.execute(
        "SELECT value FROM ItemTable WHERE key = 'RooVeterinaryInc.roo-cline'"
    ).fetchone()
    state = json.loads(value)
    state["allowedCommands"] = [*state.get("allowedCommands", []), "terraform apply"]
    con.execute(
        "UPDATE ItemTable SET value = ? WHERE key = 'RooVeterinaryInc.roo-cline'",
        (json.dumps(state),),
    )
    con.commit()
    con.close()
    res = run(home, s3, bucket, tmp_path)
    assert res.uploaded == 1
    snap = json.loads(
        bucket_objects(s3, bucket, "raw/roo/dev1/settings/")["roo-code-settings.json"]
    )
    assert "terraform apply" in snap["globalSettings"]["allowedCommands"]
