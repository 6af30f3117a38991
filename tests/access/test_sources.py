"""Settings, MCP, custom modes, org settings and roster collectors (local folder and S3)."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.access.sources import (
    collect_org,
    collect_roster,
    collect_settings,
    parse_roster,
)
from tasks.common.storage import LocalStore, S3Store

EXPORT = {
    "providerProfiles": {
        "currentApiConfigName": "default",
        "apiConfigs": {"default": {"id": "a", "apiProvider": "anthropic"}},
    },
    "globalSettings": {
        "autoApprovalEnabled": True,
        "alwaysAllowExecute": True,
        "allowedCommands": ["git log"],
    },
}
MCP = {
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "gh-mcp"],
            "alwaysAllow": ["get_issue"],
            "env": {"T": "${env:T}"},
        }
    }
}
PROJECT_MCP = {"mcpServers": {"github": {"command": "./gh.sh", "alwaysAllow": ["push_files"]}}}
MODES = "customModes:\n  - slug: reviewer\n    name: Reviewer\n    roleDefinition: reads\n    groups: [read, [edit, {fileRegex: '\\\\.md$'}]]\n"
ROSTER = "user,email,team,manager,status,aws_user\nana,ana@x.io,core,boss,active,ana\nben,ben@x.io,core,boss,terminated,ben\n,nobody@x.io,core,boss,active,\nana,dup@x.io,core,boss,active,ana2\n"


def write_tree(put) -> None:
    put("raw/roo/ana/settings/roo-code-settings.json", json.dumps(EXPORT).encode())
    put("raw/roo/ana/settings/mcp_settings.json", json.dumps(MCP).encode())
    put("raw/roo/ana/settings/projects/web/.roo/mcp.json", json.dumps(PROJECT_MCP).encode())
    put("raw/roo/ana/settings/custom_modes.yaml", MODES.encode())
    put("raw/roo/ana/tasks/t1/ui_messages.json", b"[]")  # not a settings file: ignored
    put("raw/roo/ben/settings/roo-code-settings.json", b"{not json")
    put("raw/roo/cy/settings/mcp_settings.json", b'{"mcpServers": []}')
    put("raw/roo/cy/settings/roo-code-settings.json", json.dumps(EXPORT).encode())
    put("raw/org/roster.csv", ROSTER.encode())
    put(
        "raw/org/organization-settings.json",
        json.dumps(
            {"allowList": {"allowAll": False}, "cloudSettings": {"allowPublicTaskSharing": False}}
        ).encode(),
    )


def check_collected(store) -> None:
    settings, errors, read = collect_settings(store)
    assert set(settings) == {"ana", "ben", "cy"}
    ana = settings["ana"]
    assert (
        ana.g("alwaysAllowExecute") is True
        and ana.provider_profiles["currentApiConfigName"] == "default"
    )
    assert ana.mcp_global["github"].always_allow == ["get_issue"]
    assert ana.mcp_projects["web"]["github"].command == "./gh.sh"
    assert [s.command for s in ana.effective_mcp()] == [
        "./gh.sh"
    ]  # the project replaces the global one
    assert ana.custom_modes[0].slug == "reviewer"
    by_file = {e.source.rsplit("raw/roo/", 1)[1]: e.problem for e in errors}
    assert by_file == {
        "ben/settings/roo-code-settings.json": "invalid JSON at line 1 column 2",
        "cy/settings/mcp_settings.json": "expected an object with an 'mcpServers' object",
    }
    assert settings["cy"].g("allowedCommands") == ["git log"]  # the good file still counts
    assert len(read) == 7
    org, err = collect_org(store)
    assert err is None and org.allow_list == {"allowAll": False}
    roster, roster_errors = collect_roster(store)
    assert set(roster) == {"ana", "ben"} and not roster["ben"].active
    assert [e.problem for e in roster_errors] == ["empty user", "duplicate user 'ana'"]
    assert [e.source.rsplit(":", 1)[1] for e in roster_errors] == ["4", "5"]


def test_local_store(tmp_path: Path):
    def put(key: str, data: bytes) -> None:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(data)

    write_tree(put)
    check_collected(LocalStore(tmp_path))


def test_s3_store_over_http(s3, buckets):
    bucket = buckets.data_bucket
    write_tree(lambda key, data: s3.put_object(Bucket=bucket, Key=key, Body=data))
    check_collected(S3Store(s3, bucket))


def test_missing_org_and_roster_are_reported(tmp_path: Path):
    store = LocalStore(tmp_path)
    org, err = collect_org(store)
    assert org is None and err.problem == "not found"
    roster, errs = collect_roster(store)
    assert roster is None and errs[0].scope == "roster"


def test_roster_missing_columns():
    roster, errs = parse_roster(b"user,email\nx,y\n", "roster.csv")
    assert roster == {} and "missing columns" in errs[0].problem and "aws_user" in errs[0].problem


def test_invalid_custom_modes_error_never_echoes_values(tmp_path: Path):
    secret = "sk-ant-api03-NEVERPRINTME0123456789"
    path = tmp_path / "raw/roo/zed/settings/custom_modes.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(f"customModes:\n  - name: x\n    roleDefinition: {secret}\n")
    _, errors, _ = collect_settings(LocalStore(tmp_path))
    [err] = errors
    assert err.source.endswith("zed/settings/custom_modes.yaml") and "slug" in err.problem
    assert secret not in err.problem


def test_review_period_parsing():
    from datetime import UTC, datetime

    import pytest

    from tasks.access.job import review_period
    from tasks.common.errors import ConfigError

    p = review_period(None, None, now=datetime(2026, 11, 21, 6, tzinfo=UTC))
    assert (p.start.isoformat(), p.end.isoformat()) == (
        "2026-11-15T00:00:00+00:00",
        "2026-11-22T00:00:00+00:00",
    )
    assert review_period("2026-11-01", "2026-11-08").end.day == 8
    with pytest.raises(ConfigError, match="--since"):
        review_period("yesterday", None)
    with pytest.raises(ConfigError, match="not after"):
        review_period("2026-11-08", "2026-11-01")
