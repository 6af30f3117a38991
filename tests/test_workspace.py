"""Workspace escape: one rule (tasks/common/workspace.py), and audit-trail and
telemetry-quality give the same answer on the same writes."""

from __future__ import annotations

import pytest

from tasks.audit.checks import outside_workspace_findings
from tasks.audit.ledger import build_ledger
from tasks.common.workspace import write_escapes
from tasks.quality.config import SignalThresholds
from tasks.quality.frames import to_frame
from tasks.quality.health import alert_signals
from tests.command_redactors import hmac_redactor
from tests.quality.factory import DAY, event_row, events_table

CASES = [
    ("src/a.py", "/w", False),
    ("./src/../b.py", "/w", False),
    ("src/../lib/x", "/w", False),
    ("../other/x.py", "/w", True),
    ("src/../../x", "/w", True),
    ("/w/src/a.py", "/w", False),
    ("/w", "/w", False),
    ("/wx/a.py", "/w", True),  # a prefix of the name is not inside
    ("/etc/passwd", "/w", True),
    ("/w/../etc/passwd", "/w", True),
    ("~/.ssh/config", "/w", True),
    ("C:\\Users\\ann\\proj\\a.ts", "c:\\users\\ann\\proj", False),
    ("C:\\Users\\a\\src\\app\\x.ts", "c:/Users/a/src/app", False),
    ("c:/Users/a/.aws/config", "c:/Users/a/src/app", True),
    ("C:\\Windows\\x.dll", "C:\\Users\\ann\\proj", True),
    ("\\\\server\\share\\x", "/w", True),  # a UNC path
    ("/etc/hosts", ["/home/a/proj", "/srv/b"], True),  # the user's known workspaces
    ("/srv/b/x", ["/home/a/proj", "/srv/b"], False),
    # Roo Code shows an absolute path only for a target outside the workspace
    # (getReadablePath): with no workspace known it cannot be vouched for.
    ("/etc/passwd", None, True),
    ("/etc/passwd", [], True),
    ("src/a.py", None, False),
    (None, "/w", None),
    ("", "/w", None),
]


@pytest.mark.parametrize(("path", "workspace", "expected"), CASES)
def test_write_escapes(path, workspace, expected):
    assert write_escapes(path, workspace) is expected


def test_audit_and_quality_flag_the_same_writes():
    """The same write events through both jobs' checks: the same users flagged."""
    cases = [(p, w, e) for p, w, e in CASES if p and not isinstance(w, list)]
    rows = [
        event_row(
            i + 1,
            task=i + 1,
            user=f"u{i:02d}",
            type="ask",
            kind="tool",
            category="tool",
            tool="newFileCreated",
            mutates=True,
            path=path,
            workspace=workspace,
            cost=None,
        )
        for i, (path, workspace, _) in enumerate(cases)
    ]
    expected = {f"u{i:02d}" for i, (_, _, e) in enumerate(cases) if e}
    table = events_table(rows)
    ledger = build_ledger(
        table, edit_modes={"code"}, redact_command=hmac_redactor(b"k"), deny_patterns=()
    )
    findings, unknown = outside_workspace_findings(ledger.entries)
    signals = alert_signals(to_frame(table), [DAY.date()], SignalThresholds())
    audit = {f.details["user"] for f in findings}
    quality = {s.user for s in signals if s.kind == "write_outside_workspace"}
    assert unknown == 0
    assert audit == quality == expected
