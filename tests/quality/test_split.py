"""Validate -> split -> gate on small frames with planted bad rows (one GX run per scenario)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from tasks.common.periods import resolve_period
from tasks.quality import bundle
from tasks.quality.assess import summary
from tasks.quality.config import QualityConfig
from tasks.quality.frames import parse_roster
from tasks.quality.parameters import expectation_parameters, row_bounds
from tasks.reports import render_html
from tasks.telemetry.schema import QUARANTINE_SCHEMA
from tests.quality.factory import DAY, event_row, events_table, task_row, tasks_table, tid
from tests.quality.spooled import assess_tables, valid

ROSTER = b"user,email,team,manager,status,aws_user\nalice,alice@example.com,web,bob@example.com,active,alice\n"
PERIOD = resolve_period("2026-11-20", "2026-11-21")
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
CFG = QualityConfig()


def _history(per_day: int) -> dict:
    return {"days": {f"2026-11-{d:02d}": {"tasks": 40, "events": per_day} for d in range(13, 20)}}


def _good():
    tasks = [task_row(i) for i in range(1, 41)]
    events = [event_row(i, task=1 + i % 40) for i in range(60)]
    return tasks, events


# planted bad rows: key -> expected quarantine reasons
BAD_TASKS = {
    "not-a-uuid": ["tasks.task_id_format"],
    tid(42): ["tasks.status_known"],
    tid(43): ["tasks.non_negative.tokens_in"],
    tid(44): ["tasks.started_not_future", "tasks.ended_not_future"],
    tid(45): ["tasks.ended_after_started"],
}
BAD_EVENTS = {  # by seq
    1000: ["events.category_known"],
    1001: ["events.non_negative.cost"],
    1002: ["events.cost_per_request_sane"],
    1003: ["events.task_id_format"],
    1004: ["events.category_known", "events.non_negative.cost"],
    **{1010 + i: ["events.ts_in_period"] for i in range(5)},  # 5 of 71: above mostly's 5%
}


def _dirty():
    tasks, events = _good()
    future = DAY + timedelta(days=2)
    tasks += [
        task_row(41, task_id="not-a-uuid"),
        task_row(42, status="exploded"),
        task_row(43, tokens_in=-5),
        task_row(44, started_at=future, ended_at=future + timedelta(minutes=1)),
        task_row(45, ended_at=DAY),  # before it started
        task_row(1),  # a duplicate of task 1
        task_row(46, provider="mystery"),  # unknown provider: reported, row kept
    ]
    events += [
        event_row(1000, category="bogus"),
        event_row(1001, cost=-1.0),
        event_row(1002, cost=500.0),
        event_row(1003, task_id="xyz"),
        event_row(1004, category="bogus", cost=-2.0),
        *[event_row(1010 + i, ts=DAY - timedelta(hours=1)) for i in range(5)],
        event_row(5, task=6),  # a duplicate of seq 5
        event_row(1020, tool="teleport", kind="tool", category="tool"),  # unknown tool: kept
    ]
    return tasks, events


def _parse_quarantine() -> pa.Table:
    rows = [
        {"source": "s3://d/raw/events/2026/11/20/a.jsonl", "position": "line 3", "reason": "not_json",
         "detail": "not JSON", "stage": "parse", "record_excerpt": None},
        {"source": "s3://d/raw/roo/a/tasks/x/ui_messages.json", "position": "message 2",
         "reason": "missing_ts", "detail": "no ts", "stage": "parse", "record_excerpt": None},
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)


def _run(validator, suites, tasks, events, history, quarantine=None):
    quarantine = quarantine if quarantine is not None else QUARANTINE_SCHEMA.empty_table()
    counts = {"records_in": len(events) + quarantine.num_rows, "valid": len(events),
              "quarantined": quarantine.num_rows}  # fmt: skip
    params = expectation_parameters(PERIOD, CFG, history, now=NOW)
    tables = {"tasks": tasks_table(tasks), "events": events_table(events)}
    roster = parse_roster(ROSTER, "roster.csv")
    return assess_tables(tables, counts, quarantine, suites, PERIOD, CFG, params, roster, validator)


@pytest.fixture(scope="module")
def dirty(validator, suites):
    tasks, events = _dirty()
    return _run(validator, suites, tasks, events, _history(10_000), _parse_quarantine())


@pytest.fixture(scope="module")
def clean(validator, suites):
    tasks, events = _good()
    return _run(validator, suites, tasks, events, _history(60))


def test_every_bad_row_is_quarantined_with_its_reasons(dirty):
    tq = {
        json.loads(r["record_excerpt"])["task_id"]: r["reasons"]
        for r in dirty.splits["tasks"].quarantine
    }
    dup = tq.pop(tid(1))
    assert dup == ["tasks.task_id_unique"]
    assert {k: sorted(v) for k, v in tq.items()} == {k: sorted(v) for k, v in BAD_TASKS.items()}
    eq = {}
    for r in dirty.splits["events"].quarantine:
        eq.setdefault(json.loads(r["record_excerpt"])["seq"], []).append(sorted(r["reasons"]))
    assert eq.pop(5) == [["events.unique_message"]]  # only the repeat; the first stays
    assert {k: v[0] for k, v in eq.items()} == {k: sorted(v) for k, v in BAD_EVENTS.items()}
    assert all(
        r["stage"] == "validate" and r["reason"] == r["reasons"][0]
        for r in dirty.splits["events"].quarantine
    )


def test_counts_balance_and_valid_tables_hold_the_rest(dirty):
    c = dirty.counts
    for t in ("tasks", "events"):
        assert c[f"{t}_in"] == c[f"{t}_valid"] + c[f"{t}_quarantined"]
    assert (c["tasks_in"], c["tasks_quarantined"]) == (47, 6)
    assert (c["events_in"], c["events_quarantined"]) == (72, 11)
    assert c["records_in"] == c["valid"] + c["quarantined"] == 72 + 2 + 47
    assert set(valid_teams := valid(dirty, "events").column("team").to_pylist()) == {"web"}
    assert len(valid_teams) == 61  # the roster filled the team column
    assert c["parse_quarantined"] == 2
    valid_tasks = valid(dirty, "tasks")
    assert valid_tasks.schema.names == tasks_table([]).schema.names
    assert valid_tasks.column("task_id").to_pylist().count(tid(1)) == 1
    assert tid(46) in valid_tasks.column("task_id").to_pylist()  # warning-only: kept
    assert 1020 in valid(dirty, "events").column("seq").to_pylist()
    assert dirty.quarantine_by_reason["not_json"] == 1
    assert dirty.quarantine_by_reason["events.category_known"] == 2


def test_gate_fails_and_says_exactly_why(dirty):
    assert dirty.gate.status == "fail" and dirty.status.value == "fail"
    reasons = dirty.gate.reasons
    assert len(reasons) == 2
    assert "critical expectation events.ts_in_period" in reasons[0] and "5 of 72 rows" in reasons[0]
    assert reasons[1].startswith("quarantine rate 15.70% (19 of 121 records)")
    by_check = {f.check: f for f in dirty.findings}
    assert by_check["quality.expectation.events.ts_in_period"].severity.value == "critical"
    rows = by_check["quality.expectation.events.row_count_vs_recent_days"]
    assert rows.severity.value == "medium" and rows.details["observed_value"] == 72
    assert by_check["quality.expectation.tasks.provider_known"].severity.value == "medium"
    assert by_check["quality.quarantine_rate"].severity.value == "critical"
    # mostly: 1 bad status of 47 quarantines the row but the expectation itself passes
    assert "quality.expectation.tasks.status_known" not in by_check


def test_clean_frames_pass_with_no_findings(clean):
    assert clean.findings == [] and clean.gate.status == "pass" and clean.status.value == "pass"
    assert clean.counts["quarantined"] == 0 and valid(clean, "events").num_rows == 60


def test_bundle_parts(dirty):
    files = bundle.extra_files(dirty)
    assert set(files) == {"quarantine.csv", "gx-validation-tasks.json", "gx-validation-events.json",
                          "gx-validation-roster.json"}  # fmt: skip
    raw = json.loads(files["gx-validation-events.json"])
    assert raw["success"] is False and len(raw["results"]) == 62
    assert not any("unexpected_list" in r["result"] for r in raw["results"])
    ts = next(
        r
        for r in raw["results"]
        if r["expectation_config"]["meta"]["name"] == "events.ts_in_period"
    )
    assert len(ts["result"]["unexpected_index_list"]) == 5
    rows = list(csv.DictReader(io.StringIO(files["quarantine.csv"].decode())))
    assert len(rows) == dirty.counts["quarantined"]
    assert {r["stage"] for r in rows} == {"parse", "validate"}
    charts, tables = bundle.charts_and_tables(dirty, _history(10_000))
    titles = [t.title for t in tables]
    assert titles[:3] == ["Failed expectations", "Quarantine counts by reason", "Alert signals"]
    failed = {r[1] for r in tables[0].rows}
    assert {"events.ts_in_period", "events.row_count_vs_recent_days"} <= failed
    report = {"job": "telemetry-quality", "run_id": "r", "period": PERIOD.as_json(), "generated_at": "x",
              "status": "fail", "summary": summary(dirty, PERIOD, {}), "findings": []}  # fmt: skip
    html = render_html(report, charts, tables).decode()
    assert "<svg" in html and "events.ts_in_period" in html


def test_row_bounds_follow_recent_days():
    assert row_bounds(_history(100), "events", PERIOD, CFG) == (20, 501)
    assert row_bounds({"days": {}}, "events", PERIOD, CFG)[0] == 0
    week = resolve_period("2026-11-20", "2026-11-27")  # bounds scale with the period's days
    assert row_bounds(_history(100), "events", week, CFG) == (140, 3501)
