"""report.html's parts: the headline, the human summary, the charts' axes and numbers."""

import re
from datetime import UTC, datetime

from tasks.common.models import Finding, Period
from tasks.reports import Table, bar_chart, build_report, line_chart, render_html
from tasks.reports.charts import nice_ticks, series_color
from tasks.reports.headline import headline, sort_findings
from tasks.reports.summary import fmt, label, summary_blocks

PERIOD = Period(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 8, tzinfo=UTC))
RAW = re.compile(
    r">[^<]*(\bTrue\b|\bFalse\b|\bNone\b|\[\]|\['|entries \(see report\.json\)|\d\.\d{6,})"
)


def _report(job, findings, summary=None, status=None):
    from tasks.common.models import overall_status

    st = status or overall_status(findings).value
    return build_report(job, "r1", PERIOD, PERIOD.end, st, summary or {}, findings)


def test_values_are_formatted_for_people():
    assert fmt(True) == "yes" and fmt(None) == "—" and fmt([]) == "none"
    assert fmt(0.35150000000000003) == "0.3515" and fmt(34039) == "34,039"
    assert fmt(0.000176, "quarantine_rate") == "0.018%" and fmt(0.8851, "success_rate") == "88.5%"
    assert fmt(440.0643, "total_spend_usd") == "$440.06"
    assert fmt(9697336, "bytes_deleted") == "9.2 MB"
    assert label("median_cycle_s") == "Median cycle (s)" and label("cost_usd") == "Cost (USD)"


def test_summary_has_no_raw_python_values():
    summary = {
        "gate": {"status": "warn", "reasons": ["a" * 80, "b" * 80, "c" * 80]},
        "failed_expectations": [],
        "filters": {"team": None, "user": None},
        "expectations": {"tasks": {"evaluated": 67, "failed": 0, "success": True}},
        "days": ["2026-11-27", "2026-11-28"],
        "health": {"by_day": [{"day": "2026-11-27", "cost": 0.35150000000000003}] * 9},
        "ok": False,
        "counts": {"records_in": 34039, "quarantined": 6},
    }
    blocks = summary_blocks(summary)
    figures = dict(blocks[0].rows)
    assert figures == {"Records in": "34,039", "Quarantined": "6"}  # counts promoted to tiles
    reasons = next(b for b in blocks if b.title == "Gate · Reasons")
    assert reasons.kind == "list" and len(reasons.rows) == 3  # long sentences as bullets
    html = render_html(_report("telemetry-quality", [], summary)).decode()
    body = html[: html.index('id="verify"')]  # the footer's jq recipe has [] of its own
    assert not RAW.search(body), RAW.search(body)
    assert "$0.35" in html and "2026-11-27, 2026-11-28" in html


def test_nothing_to_check_is_not_evaluated_and_not_passed():
    findings = [
        Finding.make("iam_root_mfa_disabled", "critical", "pass", "iam:root",
                     "credential report has no <root_account> row; nothing to check"),
        Finding.make("roster_self_approval", "high", "pass", "all", "no failing resource"),
        Finding.make("iam_user_two_active_access_keys", "low", "error", "check:x", "check failed"),
    ]  # fmt: skip
    s = sort_findings("access-review", _report("access-review", findings)["findings"])
    assert [f["check"] for f in s.not_evaluated] == ["iam_root_mfa_disabled", "iam_user_two_active_access_keys"]  # fmt: skip
    assert [f["check"] for f in s.passed] == ["roster_self_approval"]
    html = render_html(_report("access-review", findings)).decode()
    ne = html[html.index('id="not-evaluated"') : html.index('id="passed"')]
    assert "iam_root_mfa_disabled" in ne and "Root account without MFA" in ne
    assert "iam_root_mfa_disabled" not in html[html.index('id="passed"') :]


def test_open_finding_shows_remediation_mapping_owner_and_first_seen():
    f = Finding.make("roo_god_mode_auto_approve", "critical", "fail", "roo:settings/alice",
                     "god mode", person="alice", first_seen="2026-11-02T10:00:00Z")  # fmt: skip
    html = render_html(_report("access-review", [f])).decode()
    card = html[html.index('id="findings"') : html.index('id="not-evaluated"')]
    assert "Remediation" in card and "SOC 2 CC6.1" in card and "person: alice" in card
    assert "2026-11-02 10:00:00Z" in card


def test_headline_says_why():
    high = Finding.make("quality.signal.write_burst", "high", "fail", "u/x", "burst")
    low = Finding.make("quality.quarantine_rate", "low", "fail", "records", "6 quarantined")
    summary = {"gate": {"status": "warn"}, "counts": {"quarantined": 6, "records_in": 34039}}
    r = _report("telemetry-quality", [high, low], summary)
    text = headline(r, sort_findings(r["job"], r["findings"]))
    assert text.startswith("FAIL because 1 finding of high severity or worse is open")
    assert "passed its quality gate with a warning (6 of 34,039 records quarantined)" in text
    assert "not about the quality of the data" in text
    r = _report("cost-budget", [low])
    assert headline(r, sort_findings(r["job"], r["findings"])).startswith(
        "WARN: nothing high or critical is open, but 1 lesser finding is open (1 low)"
    )
    r = _report("log-retention", [])
    assert headline(r, sort_findings(r["job"], r["findings"])) == "PASS: no finding is open; 3 checks passed."  # fmt: skip


def test_truncated_table_says_so_and_points_to_the_csv():
    rows = [[f"raw/k{i}", "r", 1] for i in range(944)]
    html = render_html(_report("log-retention", []), tables=[Table("Deleted", ["key", "rule", "versions"], rows, csv="manifest.csv")]).decode()  # fmt: skip
    assert "Showing the first 100 of 944 rows; every row is in manifest.csv." in html
    assert "raw/k99<" in html and "raw/k100<" not in html


def test_ticks_are_round_and_counts_are_integers():
    assert nice_ticks(1907, False) == [0, 500, 1000, 1500, 2000]
    assert nice_ticks(3, True) == [0, 1, 2, 3]
    svg = bar_chart("Quarantined records by reason", [("bad_type", 2.0), ("not_json", 1.0)]).svg
    assert "2.00" not in svg and ">2<" in svg and ">count<" in svg
    assert svg.count('stroke="#e5e7eb"') >= 3  # gridlines


def test_line_chart_axes_units_gridlines_and_clipped_forecast():
    cum = [(f"2026-11-{d:02d}", 40.0 * d) for d in range(1, 5)]
    fc = [("2026-11-04", 160.0), ("2026-11-30", 1907.0)]
    c = line_chart("Team a against $150", {"spend to date": cum, "forecast to period end": fc},
                   y_label="USD", threshold=150)  # fmt: skip
    assert ">USD<" in c.svg and ">day (2026)<" in c.svg and ">1 Nov<" in c.svg
    assert "forecast to period end reaches $1,907" in c.svg  # the budget line stays readable
    assert ">$2,000<" not in c.svg and "threshold $150" in c.svg
    again = line_chart("other", {"spend to date": cum}, y_label="USD")
    assert series_color("spend to date") in again.svg and series_color("spend to date") in c.svg


def test_long_labels_wrap_instead_of_being_cut():
    task = "01a2221f-4851-7c3e-9d2a-5be0c1f2a3b4"
    svg = bar_chart("Top tasks by cost", [(task, 9.1)], "$").svg
    assert "01a2221f-4851-7c3e-9d2a-5be0c1f2a3b4" in re.sub(r"</tspan><tspan[^>]*>", "", svg)
    assert "$9.10" in svg


def test_footer_is_self_contained():
    html = render_html(_report("access-review", []), key_fingerprint="ab" * 32).decode()
    footer = html[html.index('id="verify"') :]
    assert "ab" * 32 in footer and "openssl dgst -sha256 -verify public.pem" in footer
    assert "README" not in footer and "spec" not in footer.lower()
    assert "dry run" in render_html(_report("access-review", [])).decode()


def test_a_finding_with_a_runbook_shows_its_steps():
    from tasks.runbooks.catalog import attach_runbooks

    f = Finding.make("roo_god_mode_auto_approve", "critical", "fail", "roo:settings/alice", "x")
    attach_runbooks([f])
    assert f.details.get("runbook") and f.details.get("runbook_steps")
    html = render_html(_report("access-review", [f])).decode()
    card = html[html.index('id="findings"') : html.index('id="not-evaluated"')]
    assert f"runbooks/{f.details['runbook']}.md" in card
    assert card.count("<li>") >= len(f.details["runbook_steps"])
