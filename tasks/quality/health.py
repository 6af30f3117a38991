"""Fleet health: metrics per team, mode, provider and model, and alert signals.

Metrics come from validated tasks; signals from validated events. A signal fires when a
user-day's value reaches max(min, factor x baseline):
- daily spikes (auth failures, spend): baseline = the user's median on the period's other
  days (zero-filled), or the other users' median that day on a one-day period;
- bursts (rollbacks, file writes): the peak sliding-window count of the day, baseline =
  the other users' median sliding-window count;
- command timeouts: the user-day's timeout rate vs the rest of the fleet's rate;
- writes outside the workspace: any (absolute elsewhere, ~, or ../ escaping);
- provider degradation: a burst of failed requests on one provider/model against its own
  baseline, from several users (tasks/quality/providers.py).
Each signal says its value, baseline, threshold and why it fired.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from tasks.common.bursts import burst_threshold, sliding_counts
from tasks.common.models import Finding, FindingStatus, Severity
from tasks.common.workspace import write_escapes
from tasks.quality.config import SignalThresholds
from tasks.quality.providers import MAX_USERS_LISTED, degradation_episodes
from tasks.quality.signal_rows import SignalRows, may_escape

GROUPS = ("team", "mode", "provider", "model")
SIGNAL_SEVERITY = {
    "auth_failure_spike": Severity.high,
    "command_timeout_rate": Severity.medium,
    "rollback_burst": Severity.medium,
    "write_outside_workspace": Severity.high,
    "write_burst": Severity.medium,
    "spend_acceleration": Severity.high,
    "provider_degradation": Severity.high,
}


@dataclass
class Signal:
    kind: str
    user: str
    day: str
    value: float
    baseline: float
    threshold: float
    why: str
    team: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    resource: str | None = None  # default user/<user>/<day>; fleet-wide signals name their own

    def finding(self) -> Finding:
        return Finding.make(
            f"quality.signal.{self.kind}",
            SIGNAL_SEVERITY[self.kind],
            FindingStatus.fail,
            self.resource or f"user/{self.user}/{self.day}",
            self.why,
            **{k: v for k, v in asdict(self).items() if k not in ("details", "why", "resource")},
            **self.details,
        )


# -- metrics -----------------------------------------------------------------------------


def _task_frame(tasks: pd.DataFrame) -> pd.DataFrame:
    status = tasks["status"].astype("str")
    completed = status.eq("completed").to_numpy()
    cycle = (tasks["ended_at"] - tasks["started_at"]).dt.total_seconds()
    return pd.DataFrame(
        {
            **{g: tasks[g].astype(object).where(tasks[g].notna(), "(none)") for g in GROUPS},
            "day": tasks["started_at"].dt.strftime("%Y-%m-%d"),
            "completed": completed.astype("int64"),
            "finished": (~status.isin(["active", "delegated"])).to_numpy().astype("int64"),
            "restores": tasks["checkpoint_restores"].fillna(0).astype("int64"),
            "errors": tasks["errors"].fillna(0).astype("int64"),
            "actions": (tasks["tool_uses"].fillna(0) + tasks["commands"].fillna(0)).astype("int64"),
            "cost": tasks["total_cost"].fillna(0.0).astype("float64"),
            "cycle_s": cycle.where(completed),
        }
    )


def _rates(agg: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=agg.index)
    out["tasks"] = agg["tasks"]
    out["success_rate"] = agg["completed"] / agg["finished"].where(agg["finished"] > 0)
    out["rollback_rate"] = agg["restores"] / agg["tasks"]
    out["error_rate"] = agg["errors"] / agg["actions"].where(agg["actions"] > 0)
    out["median_cycle_s"] = agg["cycle_s"]
    # all spend (failed tasks' too) over what got done: the fleet's real price of a result
    out["cost_per_completed"] = agg["cost"] / agg["completed"].where(agg["completed"] > 0)
    out["cost"] = agg["cost"]
    return out.round(4)


_AGG = {
    "tasks": ("completed", "size"),
    "completed": ("completed", "sum"),
    "finished": ("finished", "sum"),
    "restores": ("restores", "sum"),
    "errors": ("errors", "sum"),
    "actions": ("actions", "sum"),
    "cost": ("cost", "sum"),
    "cycle_s": ("cycle_s", "median"),
}


def _records(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    frame = frame.reset_index().rename(columns={"index": key})
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def fleet_metrics(tasks: pd.DataFrame) -> dict[str, Any]:
    """{"fleet": {...}, "by_team": [...], "by_mode": ..., "by_day": [...]} from validated tasks."""
    if not len(tasks):
        return {"fleet": {"tasks": 0}, **{f"by_{g}": [] for g in GROUPS}, "by_day": []}
    t = _task_frame(tasks)
    t["all"] = "fleet"
    result: dict[str, Any] = {"fleet": _records(_rates(t.groupby("all").agg(**_AGG)), "all")[0]}
    for g in (*GROUPS, "day"):
        result[f"by_{g}"] = _records(_rates(t.groupby(g).agg(**_AGG)), g)
    return result


# -- signals -----------------------------------------------------------------------------


def _matrix(
    events: pd.DataFrame, users: list[str], mask: Any, days: list[str], value: str | None = None
):
    """users x days (zero-filled) of a count (or a sum of `value`) over masked events.

    Task messages can arrive twice (ui_messages and the telemetry copy): each source is
    counted on its own and the larger figure kept, so nothing is counted double.
    """
    sel = events.loc[mask]
    keys = ["source", "user", "day"]
    m = sel.groupby(keys).size() if value is None else sel.groupby(keys)[value].sum()
    m = m.groupby(level=["user", "day"]).max()
    return m.unstack("day").reindex(index=users, columns=days).fillna(0).astype("float64")


def _sliding_counts(sel: pd.DataFrame, window_ms: int) -> pd.Series:
    """For each event, how many events of its (source, user) fall in the window ending at it."""
    sel = sel.sort_values(["source", "user", "ts"])
    out = np.empty(len(sel), dtype=np.int64)
    pos = 0
    for _, g in sel.groupby(["source", "user"], sort=False):
        ts = g["ts"].to_numpy(dtype="datetime64[ms]").astype(np.int64)
        out[pos : pos + len(ts)] = sliding_counts(ts, window_ms)
        pos += len(ts)
    return pd.Series(out, index=sel.index).reindex(sel.index)


def _bursts(
    ev: pd.DataFrame, mask: Any, kind: str, seconds: int, minimum: float, factor: float, unit: str
) -> list[Signal]:
    """Peaks of a sliding-window count per user-day against the other users' typical density
    (the rule of tasks/common/bursts.py)."""
    sel = ev.loc[mask, ["source", "user", "ts", "day", "task_id"]]
    if not len(sel):
        return []
    sel = sel.assign(n=_sliding_counts(sel, seconds * 1000))
    codes, names = pd.factorize(sel["user"])
    n_all = sel["n"].to_numpy()
    found = []
    grouped = sel.groupby(["user", "day"])["n"]
    peaks, where = grouped.max(), grouped.idxmax()
    for (user, day), peak in peaks[peaks >= minimum].items():
        base, threshold = burst_threshold(minimum, factor, n_all[codes != names.get_loc(user)])
        if peak >= threshold:
            hit = sel.loc[where[(user, day)]]
            why = (
                f"{kind.replace('_', ' ')}: {peak:g} {unit} within {_span(seconds)} on {day} (ending "
                f"{hit['ts']:%H:%M} UTC) vs {base:g} typical for other users (fires at >= "
                f"max({minimum:g}, {factor:g} x baseline) = {threshold:g})"
            )
            found.append(
                Signal(kind, user, day, float(peak), base, threshold, why,
                       details={"window_seconds": seconds, "task_id": hit["task_id"]})
            )  # fmt: skip
    return found


def _span(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds}s"


def _baseline(matrix: pd.DataFrame, user: str, day: str) -> float:
    if matrix.shape[1] > 1:
        return float(matrix.loc[user].drop(day).median())
    others = matrix[day].drop(user)
    return float(others.median()) if len(others) else 0.0


def _spikes(matrix: pd.DataFrame, kind: str, minimum: float, factor: float, unit: str):
    """User-days at or above max(minimum, factor x baseline) (see the module docstring)."""
    found = []
    rows, cols = np.nonzero(matrix.to_numpy() >= minimum)
    for r, c in zip(rows, cols, strict=True):
        user, day = matrix.index[r], matrix.columns[c]
        value, base = float(matrix.iat[r, c]), _baseline(matrix, user, day)
        threshold = max(minimum, factor * base)
        if value >= threshold:
            why = (
                f"{kind.replace('_', ' ')}: {value:g} {unit} on {day} vs baseline {base:g} "
                f"(fires at >= max({minimum:g}, {factor:g} x baseline) = {threshold:g})"
            )
            found.append(Signal(kind, user, day, value, base, threshold, why))
    return found


def _timeouts(ev: pd.DataFrame, users: list[str], days: list[str], th: SignalThresholds):
    timeouts = _matrix(ev, users, ev["error_class"].eq("timeout").fillna(False), days)
    commands = _matrix(ev, users, ev["category"].eq("command").fillna(False), days)
    total_t, total_c = timeouts.to_numpy().sum(), commands.to_numpy().sum()
    found = []
    rows, cols = np.nonzero(timeouts.to_numpy() >= th.timeouts_min)
    for r, c in zip(rows, cols, strict=True):
        user, day = timeouts.index[r], timeouts.columns[c]
        t, n = float(timeouts.iat[r, c]), float(commands.iat[r, c])
        rate = t / max(n, t, 1.0)
        base = (total_t - t) / max(total_c - n, 1.0)
        threshold = max(th.timeout_rate_min, th.timeout_rate_factor * base)
        if rate >= threshold:
            why = (
                f"command timeout rate {rate:.0%} ({t:g} timeouts / {n:g} commands) on {day} vs "
                f"fleet baseline {base:.1%} (fires at >= {threshold:.0%})"
            )
            found.append(
                Signal(
                    "command_timeout_rate",
                    user,
                    day,
                    round(rate, 4),
                    round(base, 4),
                    round(threshold, 4),
                    why,
                    details={"timeouts": t, "commands": n},
                )
            )
    return found


def _writes(ev: pd.DataFrame, known: dict[str, list[str]], th: SignalThresholds) -> list[Signal]:
    write_mask = ev["mutates"].fillna(False).astype(bool) & ev["category"].eq("tool").fillna(False)
    writes = ev.loc[write_mask]
    found: list[Signal] = []
    if not len(writes):
        return found
    maybe = may_escape(writes["path"])  # only these can escape: judged one by one
    writes = writes.loc[maybe]
    out = [
        write_escapes(p, w if isinstance(w, str) else known.get(u)) is True
        for p, w, u in zip(
            writes["path"].astype(object),
            writes["workspace"].astype(object),
            writes["user"].astype(object),
            strict=True,
        )
    ]
    bad = writes.loc[np.asarray(out, dtype=bool)] if out else writes
    for (user, day), g in bad.groupby(["user", "day"]):
        paths = sorted({str(p) for p in g["path"]})[:5]
        count = int(g.groupby("source").size().max())  # ui and telemetry copies count once
        why = f"{count} write(s) outside the workspace on {day}, e.g. {paths[0]}"
        found.append(
            Signal(
                "write_outside_workspace",
                user,
                day,
                float(count),
                0.0,
                1.0,
                why,
                details={
                    "paths": paths,
                    "task_ids": sorted({str(t) for t in g["task_id"].dropna()})[:10],
                },
            )
        )
    rule = th.write_burst
    signals_burst = _bursts(
        ev, write_mask, "write_burst", rule.window_seconds, rule.writes, rule.factor, "file writes"
    )
    return found + signals_burst


def _providers(ev: pd.DataFrame, days: list[date], th: SignalThresholds,
               per_source: pd.DataFrame | None) -> list[Signal]:  # fmt: skip
    start = pd.Timestamp(days[0].isoformat(), tz="UTC")
    end = pd.Timestamp(days[-1].isoformat(), tz="UTC") + pd.Timedelta(days=1)
    found = []
    for e in degradation_episodes(ev, start, end, th, per_source):
        lo, hi = e["start"], e["end"]
        users = e.pop("users")
        why = (
            f"provider degradation: {e['provider']}/{e['model']} had {e['failures']} failed "
            f"requests from {len(users)} users between {lo:%Y-%m-%d %H:%M} and {hi:%H:%M} UTC "
            f"(peak {e['peak_rate']:.0%} of attempts in {th.provider_window_minutes} min vs its "
            f"baseline {e['baseline_rate']:.1%}; fires at >= {e['threshold_rate']:.0%})"
        )
        details = {
            **{k: v for k, v in e.items() if k not in ("start", "end")},
            "window_start": lo.isoformat(),
            "window_end": hi.isoformat(),
            "window_minutes": th.provider_window_minutes,
            "affected_users": users[:MAX_USERS_LISTED],
            "affected_user_count": len(users),
        }
        found.append(
            Signal(
                "provider_degradation", "(fleet)", f"{lo:%Y-%m-%d}", float(e["peak_failures"]),
                e["baseline_rate"], e["threshold_rate"], why, details=details,
                resource=f"provider/{e['provider']}/{e['model']}/{lo:%Y-%m-%dT%H:%M}",
            )
        )  # fmt: skip
    return found


def alert_signals(events: pd.DataFrame, days: list[date], th: SignalThresholds) -> list[Signal]:
    """Every alert signal over validated events of the period's days (one frame)."""
    return signals_of(SignalRows.of(events, days), days, th)


def signals_of(rows: SignalRows, days: list[date], th: SignalThresholds) -> list[Signal]:
    """Every alert signal from the rows and facts gathered over the validated events (each
    signal's rows taken in turn, so only one signal's frame is held at a time)."""
    if not rows.rows:
        return []
    day_labels = [d.isoformat() for d in days]
    users = sorted(rows.users)
    ev = rows.take("auth")
    signals = _spikes(
        _matrix(ev, users, ev["error_class"].eq("auth").fillna(False), day_labels),
        "auth_failure_spike",
        th.auth_failures_min,
        th.auth_failures_factor,
        "auth failures",
    )
    signals += _timeouts(rows.take("timeouts"), users, day_labels, th)
    ev = rows.take("rollbacks")
    signals += _bursts(
        ev, ev["category"].eq("rollback").fillna(False), "rollback_burst",
        th.rollback_window_minutes * 60, th.rollbacks_min, th.rollbacks_factor,
        "checkpoint restores",
    )  # fmt: skip
    signals += _writes(rows.take("writes"), rows.workspaces, th)
    ev = rows.take("spend")
    spend = _matrix(ev, users, ev["cost"].notna(), day_labels, value="cost").round(4)
    signals += _spikes(spend, "spend_acceleration", th.spend_min_usd, th.spend_factor, "USD")
    signals += _providers(rows.take("failed"), days, th, rows.provider_counts())
    for s in signals:
        s.team = rows.teams.get(s.user)
    return signals
