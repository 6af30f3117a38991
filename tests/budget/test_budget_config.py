"""The budgets config is validated before the flow starts; one message names the key path."""

from __future__ import annotations

import pytest

from tasks.budget.config import (
    RULE_TYPES,
    Limit,
    SpendRule,
    TaskCapRule,
    load_cost_budget_config,
    parse_config,
)
from tasks.common.errors import ConfigError

GOOD = {
    "timezone": "Europe/Berlin",
    "rules": [
        {"name": "org-month", "type": "spend", "scope": "org", "period": "month", "amount": 10000,
         "threshold": {"warn": "80%", "fail": "100%"}},
        {"name": "team-week", "type": "spend", "scope": "team", "match": "web", "period": "week",
         "amount": 500, "threshold": {"warn": "$400", "fail": 500}},
        {"name": "task-cap", "type": "task_cap", "threshold": {"warn": "10x", "fail": "$25"}},
    ],
}  # fmt: skip


def test_good_config_parses_into_registered_rule_types():
    cfg = parse_config({"prices": [{"model": "m", "input": 1, "output": 2}]}, GOOD, "c.yaml")
    assert set(RULE_TYPES) >= {"spend", "task_cap"}
    r0, r1, r2 = cfg.budgets.rules
    assert isinstance(r0, SpendRule) and isinstance(r2, TaskCapRule)
    assert r0.threshold.warn.resolve(amount=10000) == 8000
    assert r1.threshold.warn == Limit(value=400, unit="usd")
    assert r2.threshold.warn.resolve(median=2.0) == 20.0
    assert cfg.budgets.tz.key == "Europe/Berlin"
    assert cfg.budget.drift.pct == 5.0


@pytest.mark.parametrize(
    "mutate,message",
    [
        (
            lambda b: b["rules"][2]["threshold"].update(warn=0),
            "budgets.rules[2].threshold.warn: must be > 0",
        ),
        (
            lambda b: b["rules"][0]["threshold"].update(warn="-5%"),
            "budgets.rules[0].threshold.warn: must be > 0",
        ),
        (lambda b: b["rules"][1].update(amount=-1), "budgets.rules[1].amount: must be > 0"),
        (lambda b: b["rules"][1].update(scope="galaxy"), "budgets.rules[1].scope:"),
        (lambda b: b["rules"][1].update(period="fortnight"), "budgets.rules[1].period:"),
        (lambda b: b["rules"][0].update(type="nope"), "budgets.rules[0].type: unknown rule type"),
        (lambda b: b["rules"][0].update(colour="red"), "budgets.rules[0].colour: Extra inputs"),
        (
            lambda b: b["rules"][2]["threshold"].update(warn="80%"),
            "budgets.rules[2].threshold: task caps",
        ),
        (
            lambda b: b["rules"][0]["threshold"].update(fail="3x"),
            "budgets.rules[0].threshold: spend thresholds",
        ),
        (lambda b: b["rules"][1].update(name="org-month"), "budgets.rules[1].name: duplicate"),
        (lambda b: b.update(timezone="Mars/Olympus"), "budgets.timezone: unknown time zone"),
    ],
)
def test_bad_config_one_message_naming_the_key_path(mutate, message):
    import copy

    bad = copy.deepcopy(GOOD)
    mutate(bad)
    with pytest.raises(ConfigError) as err:
        parse_config({}, bad, "compliance.yaml")
    text = str(err.value)
    assert text.startswith("compliance.yaml: ") and message in text
    assert "\n" not in text


def test_budget_section_errors_and_file_loading(tmp_path):
    with pytest.raises(ConfigError, match=r"^x.yaml: budget.drift.floor_usd: "):
        parse_config({"drift": {"floor_usd": -1}}, {}, "x.yaml")
    f = tmp_path / "compliance.yaml"
    f.write_text(
        "budgets:\n  rules:\n    - {name: a, type: spend, amount: 5, threshold: {warn: 0}}\n"
    )
    with pytest.raises(
        ConfigError, match=r"compliance.yaml: budgets.rules\[0\].threshold.warn: must be > 0$"
    ):
        load_cost_budget_config(str(f))
    f.write_text("budget:\n  webhook_url: http://127.0.0.1:1/x\nbudgets:\n  rules: []\n")
    _, cfg = load_cost_budget_config(str(f))
    assert cfg.budget.webhook_url.get_secret_value() == "http://127.0.0.1:1/x"
    assert "127.0.0.1" not in repr(cfg) and cfg.budgets.rules == []
