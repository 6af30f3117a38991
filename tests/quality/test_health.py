"""Fleet metrics and alert signals on hand-built frames (pure pandas, no GX)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tasks.common.periods import resolve_period
from tasks.quality.config import SignalThresholds
from tasks.quality.frames import to_frame
from tasks.quality.health import alert_signals, fleet_metrics
from tests.quality.factory import DAY, event_row, events_table, task_row, tasks_table

DAYS = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
TH = SignalThresholds()
FLEET_PERIOD = resolve_period("2026-11-18", "2026-11-21")


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


# -- provider degradation ----------------------------------------------------------------


def _requests(users, start, minutes, every, fail_every=0, fail_kind="api_req_failed", text_class="api_failed", provider="anthropic", n0=0):  # fmt: skip
    """Each user makes a request every `every` seconds; every `fail_every`-th one fails."""
    rows, n = [], n0
    for k, u in enumerate(users):
        for i in range(int(minutes * 60 // every)):
            ts = start + timedelta(seconds=i * every + k * 7)
            if fail_every > 1:  # background: the users' failures are not synchronised
                ts += timedelta(minutes=11 * k)
            n += 1
            if fail_every and i % fail_every == 0:
                rows.append(event_row(n, user=u, ts=ts, kind=fail_kind, type="ask",
                                      category="error", error_class=text_class, cost=None,
                                      provider=provider))  # fmt: skip
            else:
                rows.append(event_row(n, user=u, ts=ts, provider=provider))
    return rows, n


def _degradations(rows, days=DAYS[-1:]):
    return [s for s in alert_signals(to_frame(events_table(rows)), days, TH)
            if s.kind == "provider_degradation"]  # fmt: skip


USERS5 = ("ann", "ben", "cat", "dan", "eve")


def test_steady_background_failures_do_not_fire():
    # 5 users all day, one request a minute, one in ten fails (429s and 500s): 10% everywhere
    rows, n = _requests(USERS5, DAY, 23 * 60, 60, fail_every=10)
    rows2, _ = _requests(USERS5, DAY, 23 * 60, 60, fail_every=7, n0=n,
                         fail_kind="api_req_retry_delayed", text_class="rate_limit")  # fmt: skip
    assert _degradations(rows + rows2) == []


def test_a_burst_from_several_users_fires_with_window_and_users():
    rows, n = _requests(USERS5, DAY, 20 * 60, 120, fail_every=25)  # background ~4%
    outage = DAY + timedelta(hours=13)
    burst, n = _requests(("ann", "ben", "cat"), outage, 30, 60, fail_every=1, n0=n)
    other, _ = _requests(USERS5, DAY, 20 * 60, 120, provider="openai-native", n0=n)
    (sig,) = _degradations(rows + burst + other)
    assert sig.details["provider"] == "anthropic" and sig.details["model"].startswith("claude")
    # the three in the burst, and whoever else's background failure fell inside its window
    assert {"ann", "ben", "cat"} <= set(sig.details["affected_users"])
    start = datetime.fromisoformat(sig.details["window_start"])
    end = datetime.fromisoformat(sig.details["window_end"])
    assert outage <= start < outage + timedelta(minutes=5) and end <= outage + timedelta(minutes=31)
    assert sig.details["baseline_rate"] < 0.1 and sig.details["peak_rate"] >= 0.2
    finding = sig.finding()
    assert finding.check == "quality.signal.provider_degradation" and finding.severity == "high"
    assert finding.resource.startswith(
        "provider/anthropic/claude-sonnet-4-5-20250929/2026-11-20T13"
    )


def test_a_burst_on_a_model_nobody_named_fires_with_its_own_users():
    """Requests whose model is missing group as (unknown): their failed rows must be found
    under the same name (they were looked up as a raw null, so no user was named)."""
    rows, n = _requests(USERS5, DAY, 20 * 60, 120, fail_every=25)
    burst, _ = _requests(
        ("ann", "ben", "cat"), DAY + timedelta(hours=13), 30, 60, fail_every=1, n0=n
    )
    for r in rows + burst:
        r["model"] = None
    (sig,) = _degradations(rows + burst)
    assert sig.details["model"] == "(unknown)"
    assert {"ann", "ben", "cat"} <= set(sig.details["affected_users"])


def test_one_users_own_burst_or_auth_failures_are_not_a_provider_outage():
    rows, n = _requests(USERS5, DAY, 20 * 60, 120)
    own, n = _requests(("ann",), DAY + timedelta(hours=9), 30, 30, fail_every=1, n0=n,
                       fail_kind="api_req_retry_delayed", text_class="rate_limit")  # fmt: skip
    auth, _ = _requests(USERS5, DAY + timedelta(hours=15), 20, 60, fail_every=1, n0=n,
                        text_class="auth")  # fmt: skip
    assert _degradations(rows + own + auth) == []


@pytest.fixture(scope="module")
def outage_fleets(tmp_path_factory):
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    out = {}
    for name, seed, clean, plant in (("outage", 3, False, ("provider_outage",)),
                                     ("background", 7, True, ()), ("background2", 11, True, ()),
                                     ("incidents", 5, False, ())):  # fmt: skip
        tmp = tmp_path_factory.mktemp(name)
        truth = generate_fleet(str(tmp), users=12, days=3, seed=seed, start=DAYS[0], clean=clean,
                               plant=plant)  # fmt: skip
        raw = ingest(str(tmp / "raw"), period=FLEET_PERIOD)
        out[name] = (truth, _degradations_of(raw))
    return out


def _degradations_of(raw):
    frame = to_frame(raw.events)
    return [s for s in alert_signals(frame, DAYS, TH) if s.kind == "provider_degradation"]


def test_a_planted_outage_in_a_generated_fleet_is_found(outage_fleets):
    truth, found = outage_fleets["outage"]
    (inc,) = [i for i in truth["incidents"] if i["kind"] == "provider_outage"]
    (sig,) = found
    d = inc["details"]
    assert (sig.details["provider"], sig.details["model"]) == (d["provider"], d["model"])
    assert set(d["users"]) <= set(sig.details["affected_users"])
    lo = datetime.fromisoformat(sig.details["window_start"])
    hi = datetime.fromisoformat(sig.details["window_end"])
    planted_lo = datetime.fromisoformat(d["start"].replace("Z", "+00:00"))
    planted_hi = datetime.fromisoformat(d["end"].replace("Z", "+00:00"))
    assert planted_lo <= lo and hi <= planted_hi + timedelta(minutes=10)
    assert sig.day == inc["day"] and sig.details["failures"] >= sum(d["failures"].values()) - 2


@pytest.mark.parametrize("name", ["background", "background2", "incidents"])
def test_a_fleet_with_only_background_failures_finds_no_outage(outage_fleets, name):
    truth, found = outage_fleets[name]
    assert not [i for i in truth["incidents"] if i["kind"] == "provider_outage"]
    assert found == []


def test_planting_an_unknown_incident_is_refused(tmp_path):
    from tasks.telemetry.generator import generate_fleet

    with pytest.raises(ValueError, match="cannot plant bogus"):
        generate_fleet(str(tmp_path), users=2, days=1, seed=1, plant=("bogus",))
