import csv
import io
import json
from datetime import UTC, datetime

from tasks.common.models import Finding, Period
from tasks.reports import (
    Table,
    bar_chart,
    build_report,
    findings_csv_bytes,
    line_chart,
    render_html,
    report_json_bytes,
)

PERIOD = Period(start=datetime(2026, 11, 14, tzinfo=UTC), end=datetime(2026, 11, 21, tzinfo=UTC))
FINDINGS = [
    Finding.make("low.check", "low", "fail", "b", "minor"),
    Finding.make("crit.check", "critical", "fail", "<img src=x onerror=alert(1)>", "bad"),
    Finding.make("ok.check", "high", "pass", "c", "fine"),
]


def _report():
    return build_report(
        "access-review",
        "r1",
        PERIOD,
        datetime(2026, 11, 21, 6, tzinfo=UTC),
        "fail",
        {"users": 3},
        FINDINGS,
    )


def test_report_has_common_shape_worst_first_and_is_deterministic():
    report = _report()
    assert set(report) == {
        "job",
        "run_id",
        "period",
        "generated_at",
        "status",
        "summary",
        "findings",
    }
    assert report["period"] == {"start": "2026-11-14T00:00:00Z", "end": "2026-11-21T00:00:00Z"}
    assert report["generated_at"] == "2026-11-21T06:00:00Z"
    assert [f["check"] for f in report["findings"]] == ["crit.check", "ok.check", "low.check"]
    assert set(report["findings"][0]) == {
        "id",
        "check",
        "severity",
        "status",
        "resource",
        "message",
        "details",
    }
    assert report_json_bytes(report) == report_json_bytes(_report())
    assert json.loads(report_json_bytes(report))["status"] == "fail"


def test_html_escapes_resources_and_embeds_charts():
    charts = [
        line_chart("spend", {"team-a": [("2026-11-01", 1.0), ("2026-11-02", 5.0)]}, threshold=3.0),
        bar_chart("top", [("task<1>", 2.0)], unit="$"),
    ]
    html = render_html(_report(), charts, [Table("t", ["a"], [["<b>x</b>"]])]).decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert html.count("<svg") == 2 and "stroke-dasharray" in html  # threshold line drawn
    assert "task&lt;1&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "Open findings (2)" in html and "Passed checks (1)" in html


def test_empty_chart_says_no_data():
    assert "no data" in line_chart("x", {}).svg
    assert "no data" in bar_chart("x", []).svg


def test_findings_csv_round_trips():
    rows = list(csv.DictReader(io.StringIO(findings_csv_bytes(FINDINGS).decode())))
    assert [r["check"] for r in rows] == ["crit.check", "ok.check", "low.check"]
    assert rows[0]["muted"] == "false" and json.loads(rows[0]["details"]) == {}
