"""Write bursts: one rule (tasks/common/bursts.py) and one config model; audit-trail's
finding and telemetry-quality's signal fire on the same writes; the replaced keys fail
with a line saying where their value goes."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from cli.config import model_problems
from tasks.audit.checks import write_burst_findings
from tasks.audit.config import AuditConfig, audit_config
from tasks.audit.ledger import build_ledger
from tasks.common.bursts import WriteBurstConfig, burst_threshold, sliding_counts
from tasks.common.errors import ConfigError
from tasks.quality.config import QualityConfig, SignalThresholds, quality_config
from tasks.quality.frames import to_frame
from tasks.quality.health import alert_signals
from tests.command_redactors import hmac_redactor
from tests.quality.factory import DAY, event_row, events_table


def test_sliding_counts_and_threshold():
    ts = np.array([0, 1000, 9000, 10000, 10001, 30000], dtype=np.int64)
    assert sliding_counts(ts, 10_000).tolist() == [1, 2, 3, 3, 4, 1]  # (t - 10 s, t]
    assert burst_threshold(40, 4.0, np.array([])) == (0.0, 40.0)
    assert burst_threshold(40, 4.0, np.array([1, 20, 30])) == (20.0, 80.0)


def _rows(writes_by_user: dict[str, list[float]]) -> list[dict]:
    rows, n = [], 0
    for user, seconds in writes_by_user.items():
        for s in seconds:
            n += 1
            rows.append(
                event_row(
                    n,
                    user=user,
                    ts=DAY + timedelta(hours=3, seconds=s),
                    type="ask",
                    kind="tool",
                    category="tool",
                    tool="editedExistingFile",
                    mutates=True,
                    path=f"src/f{n}.py",
                    cost=None,
                )
            )
    return rows


@pytest.mark.parametrize(
    ("fleet", "expected"),
    [
        # a floor of 5 writes in 10 s: ann bursts, bob is quiet
        ({"ann": [0, 1, 2, 3, 4], "bob": [0, 100, 200]}, {"ann"}),
        # 4 in 10 s: under the floor
        ({"ann": [0, 1, 2, 3], "bob": [0, 100]}, set()),
        # everyone writes 5 in 10 s: the others' typical window count is 3, the bar 2 x 3 = 6
        ({"ann": [0, 1, 2, 3, 4], "bob": [0, 1, 2, 3, 4], "cy": [0, 1, 2, 3, 4]}, set()),
        # but 12 is
        ({"ann": list(range(12)), "bob": [0, 1, 2, 3, 4], "cy": [0, 1, 2, 3, 4]}, {"ann"}),
    ],
)
def test_audit_and_quality_fire_on_the_same_writes(fleet, expected):
    rule = WriteBurstConfig(writes=5, window_seconds=10, factor=2.0)
    table = events_table(_rows(fleet))
    ledger = build_ledger(
        table, edit_modes={"code"}, redact_command=hmac_redactor(b"k"), deny_patterns=()
    )
    audit = {f.details["user"] for f in write_burst_findings(ledger.entries, rule)}
    signals = alert_signals(to_frame(table), [DAY.date()], SignalThresholds(write_burst=rule))
    quality = {s.user for s in signals if s.kind == "write_burst"}
    assert audit == quality == expected


def test_both_jobs_default_to_the_same_rule():
    assert AuditConfig().write_burst == QualityConfig().signals.write_burst == WriteBurstConfig()


@pytest.mark.parametrize(
    ("load", "section", "old", "new"),
    [
        (audit_config, {"burst_writes": 30}, "audit.burst_writes", "audit.write_burst.writes"),
        (
            audit_config,
            {"burst_window_seconds": 60},
            "audit.burst_window_seconds",
            "audit.write_burst.window_seconds",
        ),
        (
            quality_config,
            {"signals": {"write_burst_min": 30}},
            "quality.signals.write_burst_min",
            "quality.signals.write_burst.writes",
        ),
        (
            quality_config,
            {"signals": {"write_burst_window_minutes": 5}},
            "quality.signals.write_burst_window_minutes",
            "quality.signals.write_burst.window_seconds",
        ),
        (
            quality_config,
            {"signals": {"write_burst_factor": 3}},
            "quality.signals.write_burst_factor",
            "quality.signals.write_burst.factor",
        ),
    ],
)
def test_a_replaced_key_fails_with_a_migration_line(load, section, old, new):
    with pytest.raises(ConfigError) as exc:
        load(section, "c.yaml")
    message = str(exc.value)
    assert message.startswith("c.yaml: ") and f"{old} was replaced by {new}" in message
    assert "\n" not in message


def test_config_check_names_the_replaced_key():
    [line] = model_problems(AuditConfig, {"burst_writes": 30}, "audit", "c.yaml")
    assert line.startswith("c.yaml: audit: audit.burst_writes was replaced by")
