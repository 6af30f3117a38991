"""Findings over the ledger: outside the workspace, denied commands, write bursts."""

from __future__ import annotations

import pytest

from tasks.audit.checks import (
    denied_command_findings,
    outside_workspace_findings,
    summary_counts,
    write_burst_findings,
)
from tasks.audit.config import AuditConfig, audit_config
from tasks.audit.ledger import build_ledger
from tasks.common.bursts import WriteBurstConfig
from tasks.common.errors import ConfigError
from tests.audit.conftest import table, ui
from tests.command_redactors import hmac_redactor


def _entries(rows, **kw):
    return build_ledger(
        table(rows),
        edit_modes={"code"},
        redact_command=hmac_redactor(b"k"),
        deny_patterns=kw.get("deny", ()),
    )


def test_outside_workspace_findings_group_by_path():
    rows = [
        ui(i, i, user="ann", task_id="t", kind="tool", tool="appliedDiff", path=p)
        for i, p in enumerate(["../x.py", "../x.py", "src/ok.py", "/etc/hosts"])
    ]
    ledger = _entries(rows)
    findings, unknown = outside_workspace_findings(ledger.entries)
    assert unknown == 0
    assert sorted(f.details["path"] for f in findings) == ["../x.py", "/etc/hosts"]
    x = next(f for f in findings if f.details["path"] == "../x.py")
    assert len(x.details["entry_ids"]) == 2 and x.severity == "high"


def test_denied_command_finding_shows_only_the_redacted_command():
    secret = "AKIA" + "Z" * 16
    rows = [ui(1, 1, user="ann", task_id="t", kind="command", command=f"sudo env K={secret} make")]
    ledger = _entries(rows, deny=AuditConfig().deny_patterns())
    [finding] = denied_command_findings(ledger.entries, ledger.denied)
    assert finding.check == "audit.denied_command"
    assert secret not in finding.model_dump_json()
    assert finding.details["pattern"] == r"\bsudo\b"


def test_custom_deny_list_replaces_the_default():
    rows = [
        ui(1, 1, user="ann", task_id="t", kind="command", command="sudo ls"),
        ui(2, 2, user="ann", task_id="t", kind="command", command="npm publish"),
    ]
    cfg = audit_config({"deny_commands": [r"^npm\s+publish"]})
    ledger = _entries(rows, deny=cfg.deny_patterns())
    assert [e["seq"] for e in ledger.entries if e["entry_id"] in dict(ledger.denied)] == [2]


def test_bad_config_is_one_line_naming_the_key():
    with pytest.raises(
        ConfigError, match=r"c.yaml: audit.deny_commands: .*item 0 is not a valid RE2"
    ):
        audit_config({"deny_commands": ["(unclosed"]}, "c.yaml")
    with pytest.raises(ConfigError, match="audit.write_burst.writes: Input should be greater"):
        audit_config({"write_burst": {"writes": 0}})
    with pytest.raises(ConfigError, match="audit.nope"):
        audit_config({"nope": 1})


def test_write_burst_needs_threshold_writes_inside_the_window():
    def writes(times):
        return _entries(
            [
                ui(i, t, user="ann", task_id="t", kind="tool", tool="appliedDiff", path=f"f{i}")
                for i, t in enumerate(times)
            ]
        ).entries

    # 5 writes within 10 s (plus scattered ones): a burst at threshold 5
    burst = writes([0, 100, 200, 201, 203, 205, 209, 500])
    rule = WriteBurstConfig(writes=5, window_seconds=10)
    [f] = write_burst_findings(burst, rule)
    assert f.details["writes"] == 5 and f.details["window_start"] == "2026-11-20T00:03:20.000Z"
    # the same five spread over 11 s: no burst
    assert write_burst_findings(writes([0, 3, 6, 9, 11]), rule) == []


def test_summary_counts_per_user_and_kind(sample_table):
    ledger = build_ledger(
        sample_table, edit_modes={"code", "debug"}, redact_command=hmac_redactor(b"k")
    )
    s = summary_counts(ledger.entries)
    assert s["entries"] == 8
    assert s["by_kind"] == {
        "file_write": 2,
        "command": 2,
        "mcp_call": 1,
        "rollback": 1,
        "mode_switch": 2,
    }
    assert s["by_user"]["bob"] == {"command": 1, "mode_switch": 1}
    assert s["auto_approved"] == 1


def test_denied_commands_group_per_task_pattern_and_command():
    rows = [
        ui(i, i, user="ann", task_id="t", kind="command", command="sudo make install")
        for i in range(3)
    ]
    rows.append(ui(9, 9, user="ann", task_id="t2", kind="command", command="sudo make install"))
    ledger = _entries(rows, deny=AuditConfig().deny_patterns())
    findings = denied_command_findings(ledger.entries, ledger.denied)
    assert sorted((f.details["task_id"], f.details["count"]) for f in findings) == [
        ("t", 3),
        ("t2", 1),
    ]
    assert len({f.id for f in findings}) == 2
