"""The quality: config section, the period, the roster join and the team filter."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tasks.common.errors import ConfigError, InputError
from tasks.common.periods import period_days, resolve_period
from tasks.quality.config import quality_config
from tasks.quality.frames import join_team, parse_roster
from tasks.quality.parameters import expectation_parameters
from tasks.quality.storage import filter_users
from tests.quality.factory import event_row, events_table

ROSTER = b"user,email,team,manager,status,aws_user\nalice,a@x.io,web,m@x.io,active,alice\nbob,b@x.io,data,,active,\n"


def test_bad_quality_config_is_one_line_naming_the_key():
    with pytest.raises(
        ConfigError, match=r"^c.yaml: quality.max_quarantine_rate: .*less than or equal to 1"
    ):
        quality_config({"max_quarantine_rate": 3}, "c.yaml")
    with pytest.raises(ConfigError, match=r"quality.signals.bogus"):
        quality_config({"signals": {"bogus": 1}}, "c.yaml")
    assert quality_config({}, None).max_quarantine_rate == 0.02


def test_period_defaults_to_yesterday_and_parameters_cap_at_now():
    p = resolve_period(None, None, today=date(2026, 11, 21))
    assert period_days(p) == [date(2026, 11, 20)]
    with pytest.raises(ConfigError, match="since"):
        resolve_period("yesterday", None)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)  # a run during the period's last day
    params = expectation_parameters(p, quality_config({}), {}, now=now)
    assert params["period_start"] == "2026-11-20T00:00:00+00:00"
    assert params["ts_max"] == "2026-11-20T12:05:00+00:00"  # not in the future (5 min skew)
    assert params["events_rows_min"] == 0


def test_roster_fills_team_and_filters_users():
    roster = parse_roster(ROSTER, "roster.csv")
    table = join_team(
        events_table([event_row(1), event_row(2, user="bob"), event_row(3, user="zed")]), roster
    )
    assert table.column("team").to_pylist() == ["web", "data", None]
    assert filter_users(roster, "data", None) == ["bob"]
    assert filter_users(roster, None, "alice") == ["alice"]
    assert filter_users(None, None, None) is None
    with pytest.raises(InputError, match="roster"):
        filter_users(None, "web", None)
    with pytest.raises(InputError, match=r"^roster.csv: roster has no 'user' column"):
        parse_roster(b"name,team\nx,y\n", "roster.csv")
