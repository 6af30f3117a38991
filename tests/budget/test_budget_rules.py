"""Budgets per scope and period, forecasts, per-task caps, subtask roll-up, drift."""

from __future__ import annotations

from datetime import date

import pytest
from budget_data import by_task, config, request, requests_table, task, tasks_table

from tasks.budget import budgets, drift
from tasks.budget.config import DriftSettings
from tasks.budget.prices import PriceTable
from tasks.budget.spend import prepare, task_costs
from tasks.common.models import FindingStatus


def test_windows_day_week_month():
    d = date(2026, 11, 19)  # a Thursday
    assert budgets.window(d, "day") == (d, date(2026, 11, 20))
    assert budgets.window(d, "week") == (date(2026, 11, 16), date(2026, 11, 23))
    assert budgets.window(d, "week", "sunday") == (date(2026, 11, 15), date(2026, 11, 22))
    assert budgets.window(d, "month") == (date(2026, 11, 1), date(2026, 12, 1))
    assert budgets.window(date(2026, 12, 31), "month") == (date(2026, 12, 1), date(2027, 1, 1))


def test_forecasts_hand_computed():
    # $100 in 10 of 30 days -> linear $300.
    assert budgets.linear_forecast(100.0, 10, 30) == 300.0
    # EWMA alpha 0.5 over [10, 20, 30]: 10 -> 15 -> 22.5; 60 spent + 22.5 * 20 days = 510.
    assert budgets.ewma_forecast([10, 20, 30], 60.0, 20, 0.5) == 510.0


def _rule(**kw):
    base = {"name": "r", "type": "spend", "scope": "team", "period": "month", "amount": 100.0,
            "threshold": {"warn": "80%", "fail": "100%"}}  # fmt: skip
    return config([base | kw]).budgets.rules[0]


def _by_value(findings, check):
    return {f.details["value"]: f for f in findings if f.check == check}


def test_spend_thresholds_in_percent_and_dollars():
    days = [date(2026, 11, d) for d in range(1, 11)]
    daily = {"a": {d: 11.0 for d in days}, "b": {d: 8.5 for d in days}, "c": {d: 1.0 for d in days}}
    findings, curves = budgets.evaluate_spend(_rule(forecast=False), daily, days, set(days))
    got = _by_value(findings, "budget.spend")
    assert got["a"].status == FindingStatus.fail and got["a"].details["level"] == "fail"
    assert got["a"].details["actual_usd"] == 110.0 and got["a"].severity == "high"
    assert got["b"].details["level"] == "warn" and got["b"].severity == "medium"
    assert got["c"].status == FindingStatus.passed
    assert curves[0].cumulative[-1] == ("2026-11-10", 110.0)
    dollars = _rule(threshold={"warn": "$9", "fail": 85}, forecast=False, match="c")
    findings, _ = budgets.evaluate_spend(dollars, daily, days, set(days))
    # only the matched value; c spent $10: over the $9 warning, under the $85 failure
    assert [f.details["value"] for f in findings] == ["c"] and findings[0].details[
        "level"
    ] == "warn"


def test_forecasted_breach_is_its_own_finding():
    days = [date(2026, 11, d) for d in range(1, 11)]
    daily = {"steady": {d: 5.0 for d in days}, "quiet": {d: 1.0 for d in days}}
    findings, curves = budgets.evaluate_spend(_rule(), daily, days, set(days), alpha=0.3)
    fc = _by_value(findings, "budget.forecast")
    # steady: $50 so far (no breach yet), linear 50/10*30 = 150, EWMA 50 + 5*20 = 150 >= $100
    assert set(fc) == {"steady"}
    assert fc["steady"].details["forecast_linear_usd"] == 150.0
    assert fc["steady"].details["forecast_ewma_usd"] == 150.0
    assert _by_value(findings, "budget.spend")["steady"].status == "pass"
    steady = next(c for c in curves if c.value == "steady")
    assert steady.forecast[-1] == ("2026-11-30", 150.0)
    # a completed window has nothing to forecast
    closed = [date(2026, 11, d) for d in range(1, 31)]
    f2, _ = budgets.evaluate_spend(_rule(), {"x": {d: 1.0 for d in closed}}, closed, set(closed))
    assert not [f for f in f2 if f.check == "budget.forecast"]


def _prepared(reqs, tasks):
    from zoneinfo import ZoneInfo

    return prepare(requests_table(reqs), tasks_table(tasks), PriceTable(), ZoneInfo("UTC"))


def test_subtasks_roll_up_into_their_root():
    reqs = [request(task_id="root", cost=1.0), request(task_id="child", cost=2.0),
            request(task_id="grandchild", cost=4.0), request(task_id="other", cost=0.5)]  # fmt: skip
    tasks = [task(task_id="root"), task(task_id="child", parent_task_id="root"),
             task(task_id="grandchild", parent_task_id="child"), task(task_id="other")]  # fmt: skip
    costs = by_task(task_costs(_prepared(reqs, tasks), tasks_table(tasks)))
    assert set(costs) == {"root", "other"}
    assert costs["root"].effective == pytest.approx(7.0) and costs["root"].subtasks == 2
    # root_task_id wins when present (even if the root row is outside the loaded days)
    tasks2 = [task(task_id="child", parent_task_id="p", root_task_id="r0")]
    costs2 = by_task(
        task_costs(_prepared([request(task_id="child", cost=2.0)], tasks2), tasks_table(tasks2))
    )
    assert list(costs2) == ["r0"]


def test_task_caps_in_dollars_and_median_multiples():
    day = date(2026, 11, 20)
    reqs = [request(task_id=f"t{i}", cost=1.0) for i in range(6)]
    reqs += [request(task_id="big", cost=12.0), request(task_id="huge", cost=30.0)]
    tasks = [task(task_id=f"t{i}") for i in range(6)] + [task(task_id="big"), task(task_id="huge")]
    costs = task_costs(_prepared(reqs, tasks), tasks_table(tasks))
    rule = config(
        [{"name": "cap", "type": "task_cap", "threshold": {"warn": "10x", "fail": "$25"}}]
    ).budgets.rules[0]
    found = {f.details["task_id"]: f for f in budgets.evaluate_task_caps(rule, costs, {day})}
    # median of 8 tasks (1,1,1,1,1,1,12,30) is 1.0: warn cap $10 -> big warns, huge fails
    assert set(found) == {"big", "huge"}
    assert found["big"].details["level"] == "warn" and found["big"].details["cap_usd"] == 10.0
    assert found["huge"].details["level"] == "fail" and found["huge"].severity == "high"
    few = config(
        [{"name": "c", "type": "task_cap", "threshold": {"fail": "2x"}, "min_tasks": 50}]
    ).budgets.rules[0]
    assert budgets.evaluate_task_caps(few, costs, {day}) == []  # too few peers for a median


def test_drift_needs_both_percent_and_dollar_floor():
    cfg = DriftSettings(pct=5, floor_usd=0.05)
    assert drift.drifts(1.10, 1.00, cfg)  # 10% and $0.10
    assert not drift.drifts(1.04, 1.00, cfg)  # 4%
    assert not drift.drifts(0.011, 0.010, cfg)  # 10% but $0.001
    assert drift.drifts(0.0, 1.0, cfg)
    reqs = [
        request(task_id="a", tokens_in=1_000_000, tokens_out=0, cost=3.30),  # +10% vs $3
        request(task_id="b", tokens_in=1_000_000, tokens_out=0, cost=3.01),  # +0.3%
        request(task_id="c", tokens_in=1_000_000, tokens_out=0, cost=None),
    ]  # nothing to compare
    tasks = [task(task_id=t) for t in "abc"]
    prepared = _prepared(reqs, tasks)
    costs = task_costs(prepared, tasks_table(tasks))
    flagged = drift.task_drift(costs, {date(2026, 11, 20)}, cfg)
    assert [f.details["task_id"] for f in flagged] == ["a"]
    assert flagged[0].details["drift_pct"] == 10.0 and flagged[0].details[
        "drift_usd"
    ] == pytest.approx(0.3)
    assert by_task(costs)["c"].effective == pytest.approx(3.0)  # recomputed when nothing reported
    prov, rows = drift.provider_drift(prepared, cfg)
    # per provider/model: $6.31 reported vs $6.00 recomputed over 2 requests: 5.17% and $0.31
    assert [f.check for f in prov] == ["cost.drift_provider"]
    assert prov[0].details["compared_requests"] == 2 and prov[0].details["drift_pct"] == 5.17


def test_days_and_budget_periods_follow_the_configured_time_zone():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from tasks.budget.spend import daily_by

    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already December 1st in Berlin
    reqs = requests_table([request(ts=late, cost=5.0), request(ts=late.replace(hour=12), cost=1.0)])
    berlin = prepare(reqs, tasks_table([]), PriceTable(), ZoneInfo("Europe/Berlin"))
    assert daily_by(berlin, "team") == {
        "platform": {date(2026, 11, 30): 1.0, date(2026, 12, 1): 5.0}
    }
    utc = prepare(reqs, tasks_table([]), PriceTable(), ZoneInfo("UTC"))
    assert daily_by(utc, "org") == {"org": {date(2026, 11, 30): 6.0}}


def test_missing_request_attributes_come_from_the_task_row_even_dictionary_encoded():
    from zoneinfo import ZoneInfo

    import pyarrow as pa
    import pyarrow.compute as pc

    reqs = requests_table([request(task_id="a", team=None, model=None, cost=1.0),
                           request(task_id="b", team=None, cost=2.0)])  # fmt: skip
    plain_tasks = tasks_table([task(task_id="a", team="web"), task(task_id="b", team="data")])
    # two chunks, each with its own dictionary (as Parquet row groups come back)
    chunks = [plain_tasks.slice(i, 1) for i in range(2)]
    chunks = [
        c.set_column(c.schema.get_field_index("team"), "team", pc.dictionary_encode(c["team"]))
        for c in chunks
    ]
    encoded = pa.concat_tables(chunks)
    out = prepare(reqs, encoded, PriceTable(), ZoneInfo("UTC"))
    assert out["team"].to_pylist() == ["web", "data"]
    assert out["model"].to_pylist()[0] == task()["model"]
    costs = task_costs(out, encoded)
    assert {k: v.team for k, v in by_task(costs).items()} == {"a": "web", "b": "data"}
