"""The model when nobody names it: telemetry, else the user's settings profile, else
inferred from reported costs by a robust price fit matched to the pinned price table;
and drift found against the group's fitted prices even when no model can be named."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from budget_data import by_task, config, request, requests_table

from tasks.budget import analysis
from tasks.budget.models import fit_prices, profile_models, resolve
from tasks.budget.prices import PriceTable
from tasks.budget.reader import (
    COST_CATEGORIES,
    EVENT_COLUMNS,
    TASK_COLUMNS,
    DayStatus,
    LoadedData,
    conform,
)
from tasks.common.periods import resolve_period
from tasks.telemetry.generator import generate_fleet
from tasks.telemetry.ingest import ingest
from tasks.telemetry.schema import EVENTS_SCHEMA, TASKS_SCHEMA

SONNET = np.array([3.0, 15.0, 3.75, 0.30])


def _tokens(rng, n):
    return np.column_stack([rng.integers(30, 600, n), rng.integers(100, 1500, n),
                            rng.integers(0, 5000, n), rng.integers(1000, 90_000, n)]).astype(float)  # fmt: skip


def test_fit_recovers_prices_when_a_minority_drifted():
    rng = np.random.default_rng(1)
    tok = _tokens(rng, 200)
    cost = tok @ SONNET / 1e6
    cost[:50] *= 1.4  # a quarter of the requests overcharged
    prices, determined, residual = fit_prices(tok, cost)
    assert prices == pytest.approx(SONNET, rel=0.02)
    assert all(determined) and residual < 0.01


def _rows(n_tasks, prices, factor_for=(), model=None, protocol="openai", seed=2):
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        for tin, tout, cw, cr in _tokens(rng, 4):
            cost = (tin * prices[0] + tout * prices[1] + cw * prices[2] + cr * prices[3]) / 1e6
            rows.append(request(task_id=f"t{t}", provider=None, model=model, api_protocol=protocol,
                                tokens_in=int(tin + cw + cr), tokens_out=int(tout),
                                cache_writes=int(cw), cache_reads=int(cr),
                                cost=cost * (1.4 if t in factor_for else 1.0)))  # fmt: skip
    t = requests_table(rows)
    return t.append_column("api_config", pa.array(["default"] * t.num_rows))


def test_inferred_model_is_matched_to_the_price_table():
    req, fits = resolve(_rows(12, SONNET, factor_for={3}), PriceTable(), None, 0.10)
    assert set(req["model_source"].to_pylist()) == {"inferred"}
    (fit,) = fits
    assert fit.model and "sonnet" in fit.model and fit.residual < 0.01
    assert fit.requests == 48 and fit.tasks == 12
    assert fit.protocol == "openai" and fit.provider not in ("anthropic", "aws")  # protocol
    assert pc.all(req["priced"]).as_py()


def test_settings_profile_names_the_model_before_inference():
    profiles = {("alice", "default"): ("anthropic", "claude-sonnet-4-5")}
    req, _ = resolve(_rows(3, SONNET), PriceTable(), profiles, 0.10)
    assert set(req["model_source"].to_pylist()) == {"settings"}
    assert set(req["model"].to_pylist()) == {"claude-sonnet-4-5"}


def test_prices_in_no_table_still_show_drift_against_the_fit():
    odd = np.array([7.7, 31.0, 0.0, 0.77])  # no table model has these prices
    data_req = _rows(12, odd, factor_for={2, 7}, protocol=None)
    day = date(2026, 11, 20)
    reqs = data_req.drop_columns(["api_config"])
    tasks = conform(pa.Table.from_pylist(
        [{"user": "alice", "task_id": f"t{i}", "api_config": "default", "status": "completed"}
         for i in range(12)], schema=pa.schema([TASKS_SCHEMA.field(c) for c in
                                                ("user", "task_id", "api_config", "status")])),
        TASKS_SCHEMA, TASK_COLUMNS)  # fmt: skip
    data = LoadedData(reqs, tasks, [DayStatus(day, "pass", True)], [])
    a = analysis.analyze(data, resolve_period("2026-11-20", "2026-11-21"), config([]))
    fit_found = {f.details["task_id"] for f in a.findings if f.check == "cost.drift_fit"}
    assert fit_found == {"t2", "t7"}
    assert all(f.details["found_by"] == "fitted_prices" and f.details["inferred_model"] is None
               for f in a.findings if f.check == "cost.drift_fit")  # fmt: skip
    assert not [f for f in a.findings if f.check == "cost.drift_task"]  # no price: no formula
    (group,) = a.summary["models"]["fitted_groups"]
    assert group["fitted_prices"][:2] == pytest.approx([7.7, 31.0], rel=0.02)


def test_profile_models_reads_only_model_ids(s3, buckets):
    export = {"providerProfiles": {"apiConfigs": {
        "default": {"apiProvider": "openrouter", "openRouterModelId": "anthropic/claude-sonnet-4.5",
                    "openRouterApiKey": "sk-or-v1-secret"},
        "fast": {"apiProvider": "anthropic", "apiModelId": "claude-haiku-4-5", "apiKey": "x"},
        "broken": "nope"}}, "globalSettings": {}}  # fmt: skip
    s3.put_object(Bucket=buckets.data_bucket, Key="raw/roo/alice/settings/roo-code-settings.json",
                  Body=json.dumps(export).encode())  # fmt: skip
    s3.put_object(Bucket=buckets.data_bucket, Key="raw/roo/bob/settings/roo-code-settings.json",
                  Body=b"{not json")  # fmt: skip
    got = profile_models(s3, buckets.data_bucket, ["alice", "bob", "carol"])
    assert got == {("alice", "default"): ("openrouter", "anthropic/claude-sonnet-4.5"),
                   ("alice", "fast"): ("anthropic", "claude-haiku-4-5")}  # fmt: skip
    assert "secret" not in repr(got)


def test_task_folders_only_fleet_planted_drift_is_found_with_the_model_inferred(tmp_path):
    """No telemetry, no settings: the model is not in ui_messages.json; a provider starts
    overcharging 1.4x ten days in. Every drifted task above the dollar floor is found by
    both checks, and nothing else is."""
    truth = generate_fleet(str(tmp_path), 8, 14, 7, drift_factor=1.4, drift_from_day=10)
    for gone in ("raw/events", "raw/org"):
        shutil.rmtree(tmp_path / gone)
    for settings in (tmp_path / "raw/roo").glob("*/settings"):
        shutil.rmtree(settings)
    raw = ingest(str(tmp_path / "raw"))
    ev = raw.events.filter(pc.is_in(raw.events["category"], pa.array(COST_CATEGORIES)))
    start = date.fromisoformat(truth["start"])
    days = [DayStatus(start + timedelta(days=i), "pass", True) for i in range(14)]
    data = LoadedData(conform(ev, EVENTS_SCHEMA, EVENT_COLUMNS),
                      conform(raw.tasks, TASKS_SCHEMA, TASK_COLUMNS), days, [])  # fmt: skip
    period = resolve_period(start.isoformat(), (start + timedelta(days=14)).isoformat())
    floor = 0.05
    a = analysis.analyze(data, period, config([], drift={"pct": 5, "floor_usd": floor}))
    (inc,) = [i for i in truth["incidents"] if i["kind"] == "provider_cost_drift"]
    tasks = {t["task_id"]: t for t in truth["tasks"]}
    planted = {t for t in inc["details"]["task_ids"]
               if tasks[t]["total_cost"] - tasks[t]["formula_cost"] > floor}  # fmt: skip
    assert len(planted) >= 8
    found = {}
    for f in a.findings:
        if f.check in ("cost.drift_fit", "cost.drift_task"):
            found.setdefault(f.check, set()).add(f.details["task_id"])
            assert f.details["found_by"] == {"cost.drift_fit": "fitted_prices",
                                             "cost.drift_task": "price_table"}[f.check]  # fmt: skip
            assert f.details["model_source"] == "inferred"
    assert found["cost.drift_fit"] == planted == found["cost.drift_task"]
    tasks = by_task(a.tasks)
    assert {tasks[t].model_source for t in planted if t in tasks} == {"inferred"}
    groups = {g["user"]: g for g in a.summary["models"]["fitted_groups"]
              if g["user"] == inc["user"]}  # fmt: skip
    assert (
        groups[inc["user"]]["inferred_model"] and "sonnet" in groups[inc["user"]]["inferred_model"]
    )
    assert a.summary["models"]["requests_by_source"]["inferred"] > 0.9 * ev.num_rows


def test_a_fit_that_pins_down_no_price_names_no_model_and_never_crashes():
    """All-zero token counts, or costs so small that tokens/cost overflows: no price is
    determined, so no model is named (before: the alphabetically first table model won)."""
    import numpy as np

    from tasks.budget.models import GroupFit, fit_prices, match
    from tasks.budget.prices import PriceTable

    for tokens, cost in (
        (np.zeros((10, 4)), np.full(10, 0.01)),
        (np.full((10, 4), 1e6), np.full(10, 1e-300)),
    ):
        prices, det, residual = fit_prices(tokens, cost)
        assert not det.any() and residual == float("inf")
        fit = GroupFit("u", "default", "anthropic", 10, 1, prices.tolist(), det.tolist(), residual)
        match(fit, PriceTable(), 0.1)
        assert fit.model is None


def test_fit_drift_reports_the_fit_of_the_tasks_own_model_group():
    """One profile, two named models: each model is its own group, and a drifted task is
    described with its own group's fitted prices, not the other model's."""
    gpt = np.array([2.0, 8.0, 0.0, 0.5])
    sonnet = _rows(10, SONNET, factor_for={4}, model="claude-sonnet-4-5", seed=3)
    other = _rows(10, gpt, model="gpt-4.1", seed=4)
    other = other.set_column(
        other.schema.get_field_index("task_id"), "task_id",
        pc.utf8_replace_slice(other["task_id"], 0, 0, "g"),
    )  # fmt: skip
    reqs = pa.concat_tables([sonnet, other]).drop_columns(["api_config"])
    ids = [f"t{i}" for i in range(10)] + [f"gt{i}" for i in range(10)]
    tasks = conform(pa.Table.from_pylist(
        [{"user": "alice", "task_id": t, "api_config": "default", "status": "completed"}
         for t in ids], schema=pa.schema([TASKS_SCHEMA.field(c) for c in
                                          ("user", "task_id", "api_config", "status")])),
        TASKS_SCHEMA, TASK_COLUMNS)  # fmt: skip
    day = date(2026, 11, 20)
    data = LoadedData(reqs, tasks, [DayStatus(day, "pass", True)], [])
    a = analysis.analyze(data, resolve_period("2026-11-20", "2026-11-21"), config([]))
    assert len(a.summary["models"]["fitted_groups"]) == 2
    (f,) = [f for f in a.findings if f.check == "cost.drift_fit"]
    assert f.details["task_id"] == "t4" and f.details["model"] == "claude-sonnet-4-5"
    assert f.details["fitted_prices"][:2] == pytest.approx(SONNET[:2], rel=0.02)


def test_settings_profiles_name_only_rows_without_a_model_and_keep_their_provider():
    """The profile lookup (one vectorised join): a row with a model keeps it, a row whose
    user or profile is null or unknown is not named, a profile without a provider keeps
    the row's provider."""
    rows = _rows(2, SONNET).to_pylist()
    base = {k: v for k, v in rows[0].items() if k != "api_config"}
    variants = [
        dict(base, user="alice", provider="openrouter"),  # profile without a provider
        dict(base, user="bob", model="gpt-4.1"),  # telemetry named it already
        dict(base, user=None),  # no user: no profile
        dict(base, user="carol"),  # no such profile
    ]
    t = requests_table(variants)
    t = t.append_column("api_config", pa.array(["default", "default", "default", "default"]))
    profiles = {("alice", "default"): (None, "claude-sonnet-4-5"),
                ("bob", "default"): ("anthropic", "claude-haiku-4-5")}  # fmt: skip
    req, _ = resolve(t, PriceTable(), profiles, 0.10)
    assert req["model"].to_pylist()[:2] == ["claude-sonnet-4-5", "gpt-4.1"]
    assert req["provider"].to_pylist()[0] == "openrouter"
    assert req["model_source"].to_pylist()[:2] == ["settings", "telemetry"]
    assert req["model_source"].to_pylist()[2:] == [None, None]
