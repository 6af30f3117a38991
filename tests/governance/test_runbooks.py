"""Runbooks as code: the catalogue parses, every alert signal and high finding names an
existing runbook (meta-tests), and hostile runbook files are refused in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tasks.common.errors import ConfigError
from tasks.common.models import Finding, Period
from tasks.quality.health import SIGNAL_SEVERITY
from tasks.runbooks.catalog import (
    attach_runbooks,
    load_runbooks,
    parse_runbook,
    runbook_for,
)

ROOT = Path(__file__).resolve().parents[2]
BOOKS = load_runbooks()
REQUIRED = {
    "provider-degradation", "unsafe-output-pattern", "integration-incident", "auth-failure-spike",
    "command-timeout-burst", "mutating-tool-anomaly", "spend-acceleration",
}  # fmt: skip


def test_the_required_runbooks_exist_with_owner_and_steps():
    assert set(BOOKS) >= REQUIRED
    for book in BOOKS.values():
        assert book.owner and len(book.steps) >= 3 and book.body, book.id


@pytest.mark.parametrize("kind", sorted(SIGNAL_SEVERITY))
def test_every_alert_signal_maps_to_an_existing_runbook(kind):
    book = runbook_for(f"quality.signal.{kind}", BOOKS)
    assert book is not None and (ROOT / "runbooks" / f"{book.id}.md").is_file()


def _access_checks():
    for meta in sorted(ROOT.glob("tasks/access/checks/*/*.metadata.json")):
        data = json.loads(meta.read_text())
        yield data.get("id") or data.get("CheckID") or meta.parent.name, data.get("severity")


@pytest.mark.parametrize("check, severity", list(_access_checks()))
def test_every_high_access_check_maps_to_a_runbook(check, severity):
    if severity in ("high", "critical"):
        assert runbook_for(check, BOOKS) is not None, check


# check ids the jobs write literally (Finding.make("x.y", ...)); the drill's own are exempt
_LITERAL = re.compile(r"Finding\.make\(\s*\"([a-z_]+(?:\.[a-z_0-9]+)+)\"")
EXEMPT = {"runbook.drill", "runbook.not_drilled"}


def _literal_checks():
    found = set()
    for path in ROOT.glob("tasks/**/*.py"):
        found |= set(_LITERAL.findall(path.read_text(encoding="utf-8")))
    return sorted(found - EXEMPT)


def test_the_source_scan_finds_the_jobs_checks():
    assert {"audit.denied_command", "cost.drift_task", "input.quality_gate"} <= set(
        _literal_checks()
    )


@pytest.mark.parametrize("check", _literal_checks())
def test_every_check_a_job_writes_has_a_runbook(check):
    assert runbook_for(check, BOOKS) is not None, check


def test_every_trigger_names_a_real_check_or_family():
    known = {f"quality.signal.{k}" for k in SIGNAL_SEVERITY} | {c for c, _ in _access_checks()}
    known |= set(_literal_checks()) | {"quality.expectation.x", "budget.spend"}
    for book in BOOKS.values():
        for trigger in book.triggers:
            if any(ch in trigger for ch in "*?["):
                assert any(runbook_for(k, {book.id: book}) for k in known), trigger
            else:
                assert trigger in known, f"{book.id}: {trigger} is not a check id"


def test_exact_trigger_beats_a_glob():
    assert runbook_for("roo_credentials_in_settings", BOOKS).id == "access-exposure"
    assert (
        runbook_for("quality.signal.write_outside_workspace", BOOKS).id == "mutating-tool-anomaly"
    )
    assert runbook_for("nothing.like.this", BOOKS) is None


def test_high_findings_and_signals_carry_their_runbook_and_steps():
    high = Finding.make("iam_root_mfa_disabled", "critical", "fail", "arn:aws:iam::1:root", "x")
    signal = Finding.make("quality.signal.rollback_burst", "medium", "fail", "user/a/d", "x")
    low = Finding.make("iam_user_two_active_access_keys", "low", "fail", "u", "x")
    passed = Finding.make("iam_root_mfa_disabled", "critical", "pass", "r", "ok")
    assert attach_runbooks([high, signal, low, passed], BOOKS) == 2
    assert high.details["runbook"] == "access-exposure" and high.details["runbook_steps"]
    assert signal.details["runbook"] == "mutating-tool-anomaly"
    assert signal.details["runbook_title"].startswith("Mutating tool anomaly")
    assert "runbook" not in low.details and "runbook" not in passed.details


def test_finish_job_puts_the_runbook_in_report_json(storage_settings, monkeypatch):
    from datetime import UTC, datetime

    from tasks.common.contract import JobResult
    from tasks.common.jobrun import finish_job

    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL", raising=False)
    f = Finding.make("quality.signal.provider_degradation", "high", "fail", "provider/x/y/t", "m")
    period = Period.last_days(1, datetime(2026, 12, 1, tzinfo=UTC))
    out = finish_job(
        "telemetry-quality", period, JobResult([f], {}), storage_settings, dry_run=True
    )
    assert out["bundle"] is None and f.details["runbook"] == "provider-degradation"


GOOD = """---
id: {id}
title: A title
owner: sec
triggers: [x.y]
steps: [one, two]
---
body
"""


@pytest.mark.parametrize(
    "text, name, error",
    [
        ("no front matter", "a.md", "a.md: no front matter"),
        ("---\nid: [\n---\n", "a.md", "a.md: front matter is not valid YAML"),
        ("---\n- a list\n---\n", "a.md", "a.md: front matter must be a mapping"),
        (GOOD.format(id="other"), "a-b.md", "a-b.md: id 'other' does not match the file name"),
        (GOOD.replace("steps: [one, two]", "steps: []").format(id="ab"), "ab.md", "ab.md: steps:"),
        (GOOD.replace("owner: sec\n", "").format(id="ab"), "ab.md", "ab.md: owner: Field required"),
        (GOOD.format(id="../etc"), "x.md", "x.md: id: String should match pattern"),
        (
            GOOD.replace("owner: sec", "owner: sec\nextra: 1").format(id="ab"),
            "ab.md",
            "ab.md: extra:",
        ),
    ],
)
def test_a_bad_runbook_file_is_one_line_naming_it(text, name, error):
    with pytest.raises(ConfigError) as err:
        parse_runbook(text, name)
    assert str(err.value).startswith(error) and "\n" not in str(err.value)


def test_a_symlinked_runbook_is_refused(tmp_path):
    (tmp_path / "real.md").write_text(GOOD.format(id="real"))
    (tmp_path / "ab.md").symlink_to(tmp_path / "real.md")
    with pytest.raises(ConfigError, match="ab.md: not a regular file"):
        load_runbooks(tmp_path)
