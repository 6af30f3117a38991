"""Fleet-level recall on the synthetic fleet generator's output, ingested directly
(the quality gate is skipped: every day is taken as passed)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from budget_data import by_task

from tasks.budget import analysis
from tasks.budget.config import parse_config
from tasks.budget.reader import (
    COST_CATEGORIES,
    EVENT_COLUMNS,
    TASK_COLUMNS,
    DayStatus,
    LoadedData,
    conform,
)
from tasks.common.periods import resolve_period
from tasks.telemetry.schema import EVENTS_SCHEMA, TASKS_SCHEMA

pytestmark = pytest.mark.slow

PER_SEAT = 50.0  # USD per seat per month: teams are budgeted by head count (the roster)


def _load(tmp_path_factory, clean: bool):
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    out = tmp_path_factory.mktemp("clean" if clean else "fleet")
    truth = generate_fleet(str(out), users=8, days=14, seed=1, clean=clean)
    result = ingest(str(out))
    team = {u["user"]: u["team"] for u in truth["users"]}  # the roster join

    def with_team(t: pa.Table) -> pa.Table:
        col = pa.array([team.get(u) for u in t["user"].to_pylist()], pa.string())
        return t.set_column(t.schema.get_field_index("team"), "team", col)

    ev = result.events.filter(pc.is_in(result.events["category"], pa.array(COST_CATEGORIES)))
    ev = with_team(conform(ev, EVENTS_SCHEMA, EVENT_COLUMNS))
    tasks = with_team(conform(result.tasks, TASKS_SCHEMA, TASK_COLUMNS))
    start = date.fromisoformat(truth["start"])
    days = [start + timedelta(days=i) for i in range(truth["days"])]
    data = LoadedData(ev, tasks, [DayStatus(d, "pass", True) for d in days], [])
    heads = Counter(u["team"] for u in truth["users"])
    rules = [{"name": f"team-{t}", "type": "spend", "scope": "team", "match": t, "period": "month",
              "amount": PER_SEAT * n, "threshold": {"warn": "80%", "fail": "100%"}} for t, n in heads.items()]  # fmt: skip
    cfg = parse_config(
        {"anomalies": {"floor_usd": 5.0, "min_history": 3}}, {"rules": rules}, "test"
    )
    period = resolve_period(str(days[0]), str(days[-1] + timedelta(days=1)))
    return truth, analysis.analyze(data, period, cfg, force=True)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return _load(tmp_path_factory, clean=False)


@pytest.fixture(scope="module")
def clean_fleet(tmp_path_factory):
    return _load(tmp_path_factory, clean=True)


def _incidents(truth, kind):
    found = [i for i in truth["incidents"] if i["kind"] == kind]
    assert found, f"the generator planted no {kind}"
    return found


def test_every_spend_spike_is_found(fleet):
    truth, a = fleet
    flagged = {(f.details["value"], f.details["day"]) for f in a.findings
               if f.check.startswith("anomaly.") and f.details["scope"] == "user"}  # fmt: skip
    for inc in _incidents(truth, "spend_spike"):
        assert (inc["user"], inc["day"]) in flagged, inc["id"]


def test_every_over_budget_team_is_found(fleet):
    truth, a = fleet
    over = {
        f.details["value"]
        for f in a.findings
        if f.check == "budget.spend" and f.details.get("level") == "fail"
    }
    assert over == {inc["team"] for inc in _incidents(truth, "over_budget_team")}


def test_provider_cost_drift_is_found_and_nothing_else_drifts(fleet):
    truth, a = fleet
    (inc,) = _incidents(truth, "provider_cost_drift")
    prov = [f for f in a.findings if f.check == "cost.drift_provider"]
    assert [f.details["user"] for f in prov] == [inc["user"]]
    assert prov[0].details["reported_usd"] == pytest.approx(
        inc["details"]["reported_cost"], rel=1e-6
    )
    assert prov[0].details["recomputed_usd"] == pytest.approx(
        inc["details"]["formula_cost"], rel=1e-6
    )
    drifted = {f.details["task_id"] for f in a.findings if f.check == "cost.drift_task"}
    assert drifted and drifted <= set(inc["details"]["task_ids"])


def test_clean_fleet_has_no_findings_above_the_floor(clean_fleet):
    truth, a = clean_fleet
    assert not truth["incidents"]
    open_findings = [(f.check, f.resource) for f in a.findings if f.status != "pass"]
    assert open_findings == []
    assert a.summary["recomputed_cost_usd"] == pytest.approx(
        a.summary["reported_cost_usd"], rel=1e-9
    )


def test_recomputed_cost_matches_generator_formula_per_task(clean_fleet):
    truth, a = clean_fleet
    want: dict[str, float] = {}
    kids: Counter = Counter()
    for t in truth["tasks"]:  # subtasks roll up into their root task
        root = t["root_task_id"] or t["task_id"]
        want[root] = want.get(root, 0.0) + t["formula_cost"]
        kids[root] += root != t["task_id"]
    # Compare roots whose whole subtree the tables link (pre-3.49 tasks carry no parent id)
    # and whose every request has figures.
    tasks = by_task(a.tasks)
    common = [tid for tid, t in tasks.items()
              if tid in want and t.subtasks == kids[tid] and t.compared_requests == t.requests]  # fmt: skip
    assert len(common) > 100 and any(kids[tid] for tid in common)
    off = [
        tid for tid in common if abs(tasks[tid].recomputed - want[tid]) > 1e-9 * max(1.0, want[tid])
    ]
    assert off == []
