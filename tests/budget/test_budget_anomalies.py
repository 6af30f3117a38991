"""Spend anomalies: robust z (with the MAD = 0 fallbacks), 7-day ratio, week over week;
and on a synthetic fleet: every planted spike and over-budget team is found, a clean
fleet raises nothing above the dollar floor."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from budget_data import by_task, config, fleet

from tasks.budget import analysis, anomalies
from tasks.budget.config import AnomalySettings
from tasks.budget.reader import DICT_COLUMNS, DayStatus, LoadedData, conform
from tasks.common.periods import resolve_period
from tasks.telemetry.schema import EVENTS_SCHEMA

DAY = date(2026, 11, 20)
HIST = [DAY - timedelta(days=i) for i in range(28, 0, -1)]
CFG = AnomalySettings(floor_usd=5.0)


def _checks(findings):
    return {f.check: f for f in findings}


def test_robust_z_with_mad():
    hist = [10, 12, 8, 10, 11, 9, 10]  # median 10, |dev| = 0,2,2,0,1,1,0 -> MAD 1
    z, expected, method = anomalies.robust_z(20, hist, 100)
    assert (expected, method) == (10, "mad") and z == pytest.approx(0.6745 * 10)


def test_robust_z_falls_back_when_mad_is_zero():
    hist = [10, 10, 10, 10, 10, 10, 40]  # MAD 0; mean abs dev = 30/7
    z, expected, method = anomalies.robust_z(20, hist, 100)
    assert method == "mean_ad" and z == pytest.approx(10 / (1.2533 * 30 / 7))
    z, expected, method = anomalies.robust_z(25, [10] * 7, 100)  # all equal: percent rule
    assert method == "pct" and z == pytest.approx(1.5)  # +150% against a 100% rule
    assert anomalies.robust_z(0, [0] * 7, 100)[0] == 0.0


def test_each_detector_reports_expected_actual_and_impact():
    series = {d: 10.0 + (i % 3) for i, d in enumerate(HIST)}
    series[DAY] = 60.0
    found = _checks(anomalies.detect("team", "web", series, [DAY], set(HIST) | {DAY}, CFG))
    assert set(found) == {"anomaly.robust_z", "anomaly.ratio_7d", "anomaly.week_over_week"}
    wow = found["anomaly.week_over_week"].details
    prev = series[DAY - timedelta(days=7)]
    assert wow["expected_usd"] == prev and wow["actual_usd"] == 60.0
    assert wow["impact_usd"] == 60.0 - prev and wow["impact_pct"] == round(
        (60 - prev) / prev * 100, 1
    )
    rz = found["anomaly.robust_z"].details
    assert rz["expected_usd"] == 11.0 and rz["method"] == "mad"
    assert found["anomaly.ratio_7d"].resource == "team=web:2026-11-20"


def test_dollar_floor_gates_every_detector():
    series = {d: 0.10 for d in HIST}
    series[DAY] = 2.0  # 20x, but only $1.90 over
    assert anomalies.detect("user", "u", series, [DAY], set(HIST) | {DAY}, CFG) == []
    series[DAY] = 6.0  # $5.90 over the floor
    assert len(anomalies.detect("user", "u", series, [DAY], set(HIST) | {DAY}, CFG)) == 3


def test_too_little_history_or_uncovered_day_is_skipped():
    series = {DAY: 100.0}
    assert anomalies.detect("org", "org", series, [DAY], {DAY}, CFG) == []
    assert anomalies.detect("org", "org", series, [DAY], set(HIST), CFG) == []


START = date(2026, 10, 10)
DAYS = 42
ALL_DAYS = [START + timedelta(days=i) for i in range(DAYS)]
RULES = [{"name": "team-month", "type": "spend", "scope": "team", "period": "month", "amount": 260,
          "threshold": {"warn": "90%", "fail": "100%"}}]  # fmt: skip


def _analyze(reqs, tasks, since, until):
    data = LoadedData(reqs, tasks, [DayStatus(d, "pass", True) for d in ALL_DAYS], [])
    return analysis.analyze(data, resolve_period(since, until), config(RULES))


def test_fleet_recall_planted_spikes_and_over_budget_team():
    spikes = [("bob", date(2026, 11, 11), 30.0), ("ivy", date(2026, 11, 17), 25.0),
              ("erin", date(2026, 11, 19), 40.0)]  # fmt: skip
    reqs, tasks = fleet(START, DAYS, seed=11, spikes=spikes, team_boost={"web": 3.0})
    a = _analyze(reqs, tasks, "2026-11-08", "2026-11-21")
    flagged = {(f.details["value"], f.details["day"]) for f in a.findings
               if f.check.startswith("anomaly.") and f.details["scope"] == "user"}  # fmt: skip
    for user, day, _ in spikes:
        assert (user, day.isoformat()) in flagged
    over = {
        f.details["value"]
        for f in a.findings
        if f.check == "budget.spend" and f.details.get("level") == "fail"
    }
    assert over == {"web"}
    assert a.summary["price_table_version"].startswith("genai-prices 0.2.3")


@pytest.mark.parametrize("seed", [3, 5])
def test_clean_fleet_has_no_anomalies_above_the_floor(seed):
    reqs, tasks = fleet(START, DAYS, seed=seed)
    a = _analyze(reqs, tasks, "2026-11-08", "2026-11-21")
    assert [f.resource for f in a.findings if f.check.startswith("anomaly.")] == []
    assert not [f for f in a.findings if f.check == "budget.spend" and f.status != "pass"]


def test_team_and_user_parameters_narrow_the_analysis():
    reqs, tasks = fleet(START, DAYS, seed=3)
    data = LoadedData(reqs, tasks, [DayStatus(d, "pass", True) for d in ALL_DAYS], [])
    period = resolve_period("2026-11-14", "2026-11-21")
    web = analysis.analyze(data, period, config(RULES), team="web")
    assert list(web.summary["spend_by_team_usd"]) == ["web"]
    one = analysis.analyze(data, period, config(RULES), user="erin")
    assert {t.user for t in by_task(one.tasks).values()} == {"erin"}
    everyone = analysis.analyze(data, period, config(RULES))
    assert (
        0
        < one.summary["total_spend_usd"]
        < web.summary["total_spend_usd"]
        < everyone.summary["total_spend_usd"]
    )


def _dict_chunks(t: pa.Table, parts: int = 5) -> pa.Table:
    """Chunked, each chunk dictionary-encoding its low-cardinality columns on its own
    (as Parquet row groups read with read_dictionary do)."""
    size = t.num_rows // parts + 1
    chunks = []
    for i in range(parts):
        c = t.slice(i * size, size)
        for name in DICT_COLUMNS:
            if name in c.column_names:
                c = c.set_column(
                    c.schema.get_field_index(name), name, pc.dictionary_encode(c[name])
                )
        chunks.append(c)
    return conform(
        pa.concat_tables(chunks, promote_options="permissive"), EVENTS_SCHEMA, list(t.column_names)
    )


def test_dictionary_encoded_chunked_input_gives_identical_results():
    reqs, tasks = fleet(START, DAYS, seed=11, spikes=[("bob", date(2026, 11, 11), 30.0)])
    data = LoadedData(reqs, tasks, [DayStatus(d, "pass", True) for d in ALL_DAYS], [])
    encoded = LoadedData(_dict_chunks(reqs), tasks, data.days, [])
    assert pa.types.is_dictionary(encoded.requests["team"].type)
    period = resolve_period("2026-11-08", "2026-11-21")
    plain, coded = (
        analysis.analyze(data, period, config(RULES)),
        analysis.analyze(encoded, period, config(RULES)),
    )
    assert coded.summary == plain.summary
    assert sorted(f.id for f in coded.findings) == sorted(f.id for f in plain.findings)
    assert {k: v.effective for k, v in by_task(coded.tasks).items()} == pytest.approx(
        {k: v.effective for k, v in by_task(plain.tasks).items()}
    )


def test_first_week_of_a_fleet_raises_no_alarm_and_says_why():
    """Days before the fleet's data begins (gates passed or forced, nothing there) are
    unknown, not $0: no week-over-week, 7-day or z verdict against them."""
    reqs, tasks = fleet(START, 14, seed=3, team_boost={"web": 3.0})
    before = [START - timedelta(days=i) for i in range(35, 0, -1)]
    days = before + [START + timedelta(days=i) for i in range(14)]
    data = LoadedData(reqs, tasks, [DayStatus(d, "pass", True) for d in days], [])
    period = resolve_period(START.isoformat(), (START + timedelta(days=7)).isoformat())
    a = analysis.analyze(data, period, config(RULES))
    assert [f.resource for f in a.findings if f.check.startswith("anomaly.")] == []
    hist = a.summary["anomaly_history"]
    assert hist["first_day_with_data"] == START.isoformat()
    week = [(START + timedelta(days=i)).isoformat() for i in range(7)]
    assert hist["no_verdict"]["week_over_week"] == week == hist["no_verdict"]["robust_z"]


def test_a_day_without_data_is_not_a_zero_day():
    series = {d: 10.0 + (i % 3) for i, d in enumerate(HIST)}
    series[DAY] = 60.0
    week_ago = DAY - timedelta(days=7)
    del series[week_ago]  # the day's objects were missing: unknown
    known = anomalies.with_data(set(HIST) - {week_ago} | {DAY}, HIST[0])
    found = _checks(anomalies.detect("team", "web", series, [DAY], known, CFG))
    assert "anomaly.week_over_week" not in found and "anomaly.robust_z" in found
    assert anomalies.no_verdict([DAY], known, CFG)["week_over_week"] == [DAY.isoformat()]
    # and nothing is known before the first day with data
    assert anomalies.with_data(set(HIST), None) == set()
    assert min(anomalies.with_data(set(HIST), HIST[10])) == HIST[10]
