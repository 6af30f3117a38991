"""Provider degradation: a burst of failed model requests on one provider/model.

What counts as a failed request (Roo Code's ui_messages, and the same kinds in telemetry):
`ask:"api_req_failed"` (5xx, 529 overloaded, connection errors, time-outs — but not 401/403,
which are the auth-failure signal), `say:"api_req_retry_delayed"` (a 429 or other retried
error), and `say:"api_req_started"` with `cancelReason:"streaming_failed"`. Attempts are those
failures plus the model requests (`api_request` events).

The fleet always has a low background of such failures (a 429 here, a 500 there). A window
fires when, for one provider/model, its failures reach `provider_failures_min`, from at least
`provider_users_min` users, at a failure rate >= max(`provider_rate_min`, `provider_rate_factor`
x that provider/model's own baseline rate). The baseline is its rate outside every candidate
window, so an outage does not raise its own bar. Firing windows that overlap are one episode:
one signal per provider/model and episode, with the window, the affected users and the
failures by class. Ui and telemetry copies of one message are counted per source, keeping the
larger figure, as the other signals do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

FAILURE_KINDS = ("api_req_failed", "api_req_retry_delayed")
STEP_MINUTES = 5
STEP = f"{STEP_MINUTES}min"
MAX_USERS_LISTED = 25


def failure_mask(ev: pd.DataFrame) -> pd.Series:
    ecls = ev["error_class"]
    api = ev["kind"].isin(FAILURE_KINDS) & ~ecls.eq("auth").fillna(False)
    return (api | ecls.eq("streaming_failed")).fillna(False).astype(bool)


def _named(col: pd.Series) -> pd.Series:
    """A provider or model column with a missing name as "(unknown)": the one naming rule
    for counting a group's buckets and for picking that group's failed rows."""
    return col.astype(object).where(col.notna(), "(unknown)")


def source_counts(ev: pd.DataFrame, step: str = STEP) -> pd.DataFrame:
    """(provider, model, bucket, source) -> failures, requests: integer sums, so the
    counts of several batches add up to those of their rows together."""
    fail = failure_mask(ev)
    req = ev["category"].eq("api_request").fillna(False).astype(bool)
    sel = ev.loc[fail | req, ["source", "provider", "model", "ts"]].copy()
    sel["fail"] = fail[fail | req].to_numpy().astype("int64")
    sel["req"] = req[fail | req].to_numpy().astype("int64")
    sel["provider"], sel["model"] = _named(sel["provider"]), _named(sel["model"])
    sel["bucket"] = sel["ts"].dt.floor(step)
    return sel.groupby(["provider", "model", "bucket", "source"])[["fail", "req"]].sum()


def _bucket_counts(per_source: pd.DataFrame) -> pd.DataFrame:
    """(provider, model, bucket) -> failures, requests (max over sources)."""
    return per_source.groupby(level=["provider", "model", "bucket"]).max()


def _rolling(counts: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, n: int, step: str):
    """Complete bucket index [start, end) zero-filled, and window sums ending at each bucket."""
    idx = pd.date_range(start, end, freq=step, inclusive="left")
    full = counts.droplevel(["provider", "model"]).reindex(idx, fill_value=0)
    return full, full.rolling(n, min_periods=1).sum()


def _episodes(
    ends: list[pd.Timestamp], window: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Merge the windows [end - window + step, end + step) of firing buckets that overlap."""
    step = pd.Timedelta(minutes=STEP_MINUTES)
    spans: list[list[pd.Timestamp]] = []
    for end in sorted(ends):
        lo, hi = end - window + step, end + step
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    return [(a, b) for a, b in spans]


def degradation_episodes(
    ev: pd.DataFrame, period_start: pd.Timestamp, period_end: pd.Timestamp, th: Any,
    per_source: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every provider/model episode that fires (see the module docstring). `per_source`:
    the events' source_counts when gathered batch by batch (`ev` then needs only the
    failed requests)."""
    if not len(ev):
        return []
    fail = failure_mask(ev)
    if not fail.any():
        return []
    step = STEP
    n = max(1, th.provider_window_minutes // STEP_MINUTES)
    window = pd.Timedelta(minutes=n * STEP_MINUTES)
    counts = _bucket_counts(source_counts(ev, step) if per_source is None else per_source)
    failed = ev.loc[fail, ["source", "user", "ts", "provider", "model", "error_class", "kind"]]
    found = []
    for (provider, model), group in counts.groupby(level=["provider", "model"]):
        if group["fail"].sum() < th.provider_failures_min:
            continue
        full, roll = _rolling(group, period_start, period_end, n, step)
        attempts = roll["fail"] + roll["req"]
        rate = (roll["fail"] / attempts.where(attempts > 0)).fillna(0.0)
        candidate = (roll["fail"] >= th.provider_failures_min) & (rate >= th.provider_rate_min)
        covered = np.zeros(len(full), dtype=bool)
        for pos in np.flatnonzero(candidate.to_numpy()):
            covered[max(0, pos - n + 1) : pos + 1] = True
        quiet = full.loc[~covered]
        q_attempts = float(quiet["fail"].sum() + quiet["req"].sum())
        base = float(quiet["fail"].sum()) / q_attempts if q_attempts else 0.0
        threshold = max(th.provider_rate_min, th.provider_rate_factor * base)
        fire = candidate & (rate >= threshold)
        if not fire.any():
            continue
        mine = failed.loc[
            _named(failed["provider"]).eq(provider) & _named(failed["model"]).eq(model)
        ]
        bucket_rate = (full["fail"] / (full["fail"] + full["req"]).where(lambda a: a > 0)).fillna(0)
        dense = (full["fail"] >= 2) & (bucket_rate >= threshold)
        for lo, hi in _episodes(list(rate.index[fire.to_numpy()]), window):
            # trim to the dense part: the window's leading background is not the outage
            core = dense.loc[(dense.index >= lo) & (dense.index < hi)]
            if core.any():
                lo = core.index[core.to_numpy()][0]
                hi = core.index[core.to_numpy()][-1] + pd.Timedelta(minutes=STEP_MINUTES)
            inside = mine.loc[(mine["ts"] >= lo) & (mine["ts"] < hi)]
            users = sorted({str(u) for u in inside["user"].dropna()})
            if len(users) < th.provider_users_min:
                continue  # one user's own key or network: not the provider
            firing = fire.loc[(fire.index >= lo - window) & (fire.index < hi + window)]
            peak_at = rate.loc[firing.index[firing.to_numpy()]].idxmax()
            by_class = (
                inside.assign(cls=inside["error_class"].astype(object).fillna("other"))
                .groupby(["source", "cls"]).size().groupby(level="cls").max()
            )  # fmt: skip
            found.append(
                {
                    "provider": str(provider),
                    "model": str(model),
                    "start": inside["ts"].min(),
                    "end": inside["ts"].max(),
                    "failures": int(inside.groupby("source").size().max()),
                    "peak_failures": float(roll.loc[peak_at, "fail"]),
                    "peak_rate": round(float(rate.loc[peak_at]), 4),
                    "baseline_rate": round(base, 4),
                    "threshold_rate": round(threshold, 4),
                    "users": users,
                    "by_class": {str(k): int(v) for k, v in by_class.items()},
                }
            )
    return found
