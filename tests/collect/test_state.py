"""state.vscdb reading: profiles, key case, secret rows never selected, combining."""

from __future__ import annotations

import json
import sqlite3

from tasks.collect.discover import discover
from tasks.collect.scrub import Scrubber
from tasks.collect.settings import snapshot
from tasks.collect.state import combine, read_roo_state, ro_uri
from tests.collect.fakehome import KEYCHAIN_SECRET, make_state_db


def test_key_matched_case_insensitively_and_secret_rows_never_selected(tmp_path):
    db = tmp_path / "state.vscdb"
    make_state_db(db, {"alwaysAllowWrite": True}, ext_key="rooveterinaryinc.ROO-CLINE")
    rows = read_roo_state(db)
    assert [k for k, _ in rows] == ["rooveterinaryinc.ROO-CLINE"]
    assert KEYCHAIN_SECRET not in json.dumps(rows)


def test_uri_is_read_only_and_immutable(tmp_path):
    db = tmp_path / "a b#c.vscdb"
    make_state_db(db, {})
    uri = ro_uri(db)
    assert uri.endswith("?mode=ro&immutable=1") and "%20" in uri and "%23" in uri
    read_roo_state(db)  # the quoted path opens
    con = sqlite3.connect(uri, uri=True)
    try:
        con.execute("CREATE TABLE x (y)")
        raise AssertionError("a read-only connection wrote")
    except sqlite3.OperationalError:
        pass
    finally:
        con.close()


def test_profiles_combine_to_the_most_permissive():
    base = {
        "alwaysAllowExecute": False,
        "allowedCommands": ["git log"],
        "deniedCommands": ["rm"],
        "allowedMaxRequests": 20,
        "taskHistory": [1],
    }
    other = {
        "alwaysAllowExecute": True,
        "allowedCommands": ["*"],
        "deniedCommands": [],
        "allowedMaxRequests": None,
    }
    merged, src = combine([("default", base), ("work", other)])
    assert merged["alwaysAllowExecute"] is True and src["alwaysAllowExecute"] == "work"
    assert merged["allowedCommands"] == ["git log", "*"]
    assert merged["deniedCommands"] == []
    assert "allowedMaxRequests" not in merged and "taskHistory" not in merged


def test_non_default_profile_database_is_read(tmp_path):
    ud = tmp_path / ".config" / "Code" / "User"
    make_state_db(ud / "globalStorage" / "state.vscdb", {"alwaysAllowExecute": False})
    make_state_db(
        ud / "profiles" / "-5a1b2c" / "globalStorage" / "state.vscdb",
        {"alwaysAllowExecute": True, "allowedCommands": ["*"]},
    )
    (ud / "globalStorage" / "rooveterinaryinc.roo-cline").mkdir()
    disc = discover(tmp_path)
    notes: list[str] = []
    snap = json.loads(snapshot(disc, Scrubber(b"k"), notes, []).data)
    assert snap["globalSettings"]["alwaysAllowExecute"] is True
    profiles = {s["profile"] for s in snap["_collector"]["sources"]}
    assert profiles == {"default", "-5a1b2c"}
    assert snap["_collector"]["field_sources"]["alwaysAllowExecute"].startswith("vscode:-5a1b2c:")


def test_scrubber_markers_are_the_engines_hmac():
    from tasks.retention.engine import Redactor

    s = Scrubber(b"key-1")
    out = s.walk(
        {
            "apiKey": "sk-live-abcdefghijklmnop",
            "nested": {"awsSecretKey": "x" * 40},
            "ref": "${env:TOKEN}",
            "note": "plain",
        }
    )
    assert (
        out["apiKey"]
        == Redactor(key=b"key-1").marker("api_key", b"sk-live-abcdefghijklmnop").decode()
    )
    assert out["nested"]["awsSecretKey"].startswith("[REDACTED:aws_secret_key:")
    assert out["note"] == "plain"
    mcp = s.mcp(
        {
            "mcpServers": {
                "a": {
                    "env": {"X": "${env:X}", "T": "secret-value-123"},
                    "url": "https://u:p4ssw0rd@h/x?token=abc123456&q=1",
                }
            }
        }
    )
    a = mcp["mcpServers"]["a"]
    assert a["env"]["X"] == "${env:X}" and a["env"]["T"].startswith("[REDACTED:mcp_env:")
    assert "p4ssw0rd" not in a["url"] and "abc123456" not in a["url"] and a["url"].endswith("&q=1")
