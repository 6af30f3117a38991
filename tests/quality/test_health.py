"""Fleet metrics and alert signals on hand-built frames (pure pandas, no GX)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tasks.quality.config import SignalThresholds
from tasks.quality.frames import to_frame
from tasks.quality.health import alert_signals, fleet_metrics, path_escapes
from tests.quality.factory import DAY, event_row, events_table, task_row, tasks_table

DAYS = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
TH = SignalThresholds()


@pytest.mark.parametrize(
    "path, workspace, escapes",
    [
        ("src/a.ts", "/home/a/proj", False),
        ("/home/a/proj/src/a.ts", "/home/a/proj", False),
        ("/home/a/project2/x", "/home/a/proj", True),  # prefix of the name is not inside
        ("/etc/hosts", "/home/a/proj", True),
        ("../../other/.env", "/home/a/proj", True),
        ("src/../../x", "/home/a/proj", True),
        ("src/../lib/x", "/home/a/proj", False),
        ("C:\\Users\\a\\src\\app\\x.ts", "c:/Users/a/src/app", False),
        ("c:/Users/a/.aws/config", "c:/Users/a/src/app", True),
        ("~/.ssh/config", "/home/a/proj", True),
        ("/etc/hosts", ["/home/a/proj", "/srv/b"], True),  # event without workspace: user's known
        ("/srv/b/x", ["/home/a/proj", "/srv/b"], False),
        ("/etc/hosts", None, True),
        (None, "/home/a/proj", False),
    ],
)
def test_path_escapes(path, workspace, escapes):
    assert path_escapes(path, workspace) is escapes


def _quiet_fleet(users=("alice", "bob", "carol")):
    """Ordinary days: one auth-free request, some writes, a command, a restore per user-day."""
    rows, n = [], 0
    for user in users:
        for d in range(3):
            base = dict(user=user, ts=DAY - timedelta(days=2 - d) + timedelta(hours=3), team="web")
            for i in range(3):
                rows.append(
                    event_row(
                        n := n + 1, **{**base, "ts": base["ts"] + timedelta(minutes=i)}, cost=0.5
                    )
                )
            rows.append(
                event_row(
                    n := n + 1,
                    **base,
                    kind="tool",
                    category="tool",
                    tool="appliedDiff",
                    mutates=True,
                    path="src/a.ts",
                    cost=None,
                )
            )
            rows.append(
                event_row(n := n + 1, **base, kind="command", category="command", cost=None)
            )
            rows.append(
                event_row(
                    n := n + 1,
                    **base,
                    source="telemetry",
                    type="event",
                    kind="Checkpoint Restored",
                    category="rollback",
                    cost=None,
                )
            )
    return rows, n


def _signals(rows):
    return alert_signals(to_frame(events_table(rows)), DAYS, TH)


def test_quiet_fleet_raises_nothing():
    rows, _ = _quiet_fleet()
    assert _signals(rows) == []


def test_each_incident_raises_its_signal_with_value_baseline_and_why():
    rows, n = _quiet_fleet()
    t = DAY + timedelta(hours=14)
    bob = dict(user="bob", team="web")
    for i in range(8):  # auth failures
        rows.append(
            event_row(
                n := n + 1,
                **bob,
                ts=t + timedelta(minutes=i),
                kind="api_req_failed",
                category="error",
                error_class="auth",
                cost=None,
            )
        )
    for i in range(6):  # timeouts on 6 of 8 commands
        rows.append(
            event_row(
                n := n + 1,
                **bob,
                ts=t + timedelta(minutes=i),
                kind="command",
                category="command",
                cost=None,
            )
        )
        rows.append(
            event_row(
                n := n + 1,
                **bob,
                ts=t + timedelta(minutes=i, seconds=30),
                kind="error",
                category="error",
                error_class="timeout",
                cost=None,
            )
        )
    for i in range(8):  # restores within minutes
        rows.append(
            event_row(
                n := n + 1,
                user="carol",
                ts=t + timedelta(minutes=2 * i),
                source="telemetry",
                type="event",
                kind="Checkpoint Restored",
                category="rollback",
                cost=None,
            )
        )
    for i in range(50):  # a burst of writes in 4 minutes
        rows.append(
            event_row(
                n := n + 1,
                user="alice",
                ts=t + timedelta(seconds=5 * i),
                kind="tool",
                category="tool",
                tool="editedExistingFile",
                mutates=True,
                path=f"src/f{i}.ts",
                cost=None,
            )
        )
    rows.append(
        event_row(
            n := n + 1,
            user="alice",
            ts=t,
            kind="tool",
            category="tool",
            tool="newFileCreated",
            mutates=True,
            path="/etc/cron.d/x",
            cost=None,
        )
    )
    for i in range(10):  # spend: 10 x $5 on one day vs $1.5 a day
        rows.append(event_row(n := n + 1, user="carol", ts=t + timedelta(minutes=i), cost=5.0))
    found = {(s.kind, s.user, s.day): s for s in _signals(rows)}
    day = "2026-11-20"
    assert set(found) == {
        ("auth_failure_spike", "bob", day),
        ("command_timeout_rate", "bob", day),
        ("rollback_burst", "carol", day),
        ("write_burst", "alice", day),
        ("write_outside_workspace", "alice", day),
        ("spend_acceleration", "carol", day),
    }
    auth = found[("auth_failure_spike", "bob", day)]
    assert (auth.value, auth.baseline, auth.threshold) == (8, 0, 5) and "auth failures" in auth.why
    assert auth.team == "web"
    assert found[("command_timeout_rate", "bob", day)].value == pytest.approx(6 / 7, abs=1e-3)
    assert found[("rollback_burst", "carol", day)].value == 8
    assert found[("write_burst", "alice", day)].value == 51  # 50 + the write outside
    assert found[("write_outside_workspace", "alice", day)].details["paths"] == ["/etc/cron.d/x"]
    spend = found[("spend_acceleration", "carol", day)]
    assert spend.value == pytest.approx(51.5) and spend.baseline == pytest.approx(1.5)
    finding = spend.finding()
    assert finding.severity.value == "high" and finding.details["baseline"] == pytest.approx(1.5)
    assert finding.resource == f"user/carol/{day}" and "vs baseline" in finding.message


def test_ui_and_telemetry_copies_are_not_counted_twice():
    rows, n = _quiet_fleet()
    t = DAY + timedelta(hours=14)
    for i in range(4):  # 4 auth failures, each seen in ui_messages and in telemetry: below 5
        for source in ("ui_messages", "telemetry"):
            rows.append(
                event_row(
                    n := n + 1,
                    user="bob",
                    ts=t + timedelta(minutes=i),
                    source=source,
                    kind="api_req_failed",
                    category="error",
                    error_class="auth",
                    cost=None,
                )
            )
    assert _signals(rows) == []


def test_fleet_metrics_by_group():
    t = DAY + timedelta(hours=1)
    rows = [
        task_row(
            1,
            team="web",
            total_cost=1.0,
            checkpoint_restores=2,
            errors=1,
            tool_uses=3,
            commands=1,
            started_at=t,
            ended_at=t + timedelta(seconds=60),
        ),
        task_row(
            2,
            team="web",
            total_cost=3.0,
            errors=0,
            tool_uses=4,
            commands=0,
            started_at=t,
            ended_at=t + timedelta(seconds=180),
        ),
        task_row(3, team="web", status="failed", total_cost=2.0, errors=3, tool_uses=2, commands=0),
        task_row(4, team="data", status="active", provider="openrouter", model="openai/gpt-4.1"),
    ]
    m = fleet_metrics(to_frame(tasks_table(rows)))
    web = next(r for r in m["by_team"] if r["team"] == "web")
    assert web["tasks"] == 3
    assert web["success_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert web["rollback_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert web["error_rate"] == pytest.approx(4 / 10)
    assert web["median_cycle_s"] == 120
    assert web["cost_per_completed"] == pytest.approx(6.0 / 2)
    data = next(r for r in m["by_team"] if r["team"] == "data")
    assert data["success_rate"] is None  # only an active task: nothing finished yet
    assert {r["provider"] for r in m["by_provider"]} == {"anthropic", "openrouter"}
    assert m["fleet"]["tasks"] == 4 and [r["day"] for r in m["by_day"]] == ["2026-11-20"]
