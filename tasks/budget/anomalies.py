"""Spend anomalies on daily series: robust z-score, ratio to the trailing 7-day average,
week over week. Each detector is gated by a dollar floor so small wobbles stay quiet; each
finding reports expected, actual, $ impact and % impact.

Missing history is unknown, not zero: a detector compares a day only against days that
have data (`with_data`: read, gate passed, and not before the fleet's first day with
spend); with too little of it there is no verdict (`no_verdict`, said in the summary).
"""

from __future__ import annotations

from datetime import date, timedelta
from statistics import mean, median

from tasks.budget.config import AnomalySettings
from tasks.common.models import Finding, Severity

MAD_SCALE = 0.6745  # robust z = 0.6745 (x - median) / MAD  (Iglewicz & Hoaglin)
MEAN_AD_SCALE = 1.2533  # sqrt(pi/2): mean absolute deviation -> sigma for normal data


def robust_z(x: float, history: list[float], pct_fallback: float) -> tuple[float, float, str]:
    """(score, expected, method). When MAD is 0 fall back to the mean absolute deviation,
    and when that is 0 too, to a percent rule (score >= 1 means over `pct_fallback`%)."""
    med = median(history)
    mad = median(abs(h - med) for h in history)
    if mad > 0:
        return MAD_SCALE * (x - med) / mad, med, "mad"
    mean_ad = mean(abs(h - med) for h in history)
    if mean_ad > 0:
        return (x - med) / (MEAN_AD_SCALE * mean_ad), med, "mean_ad"
    if med > 0:
        return (x - med) / (med * pct_fallback / 100.0), med, "pct"
    return (float("inf") if x > 0 else 0.0), med, "pct"


def _impact(actual: float, expected: float) -> dict[str, float | None]:
    delta = actual - expected
    return {
        "expected_usd": round(expected, 4),
        "actual_usd": round(actual, 4),
        "impact_usd": round(delta, 4),
        "impact_pct": None if expected == 0 else round(delta / expected * 100, 1),
    }


def with_data(covered: set[date], first_day: date | None) -> set[date]:
    """Days whose spend is known: read (gate passed, data present) and not before the
    first day with any spend (before it the fleet's history has not begun)."""
    if first_day is None:
        return set()
    return {d for d in covered if d >= first_day}


def _history(day: date, covered: set[date], cfg: AnomalySettings) -> tuple[list, list, bool]:
    """(robust-z history days, trailing-7 days, week-ago day known) among covered days."""
    hist = [day - timedelta(days=i) for i in range(cfg.history_days, 0, -1)]
    last7 = [day - timedelta(days=i) for i in range(1, 8)]
    return (
        [d for d in hist if d in covered],
        [d for d in last7 if d in covered],
        day - timedelta(days=7) in covered,
    )


def no_verdict(
    report_days: list[date], covered: set[date], cfg: AnomalySettings
) -> dict[str, list[str]]:
    """Per detector, the report days it could not judge: no data that day, fewer than
    `min_history` known days (no detector runs), or too little for that detector."""
    out: dict[str, list[str]] = {"robust_z": [], "ratio_7d": [], "week_over_week": []}
    for day in report_days:
        hist, last7, wow = _history(day, covered, cfg)
        known = day in covered and len(hist) >= cfg.min_history
        for name, ok in (("robust_z", len(hist) >= cfg.min_history),
                         ("ratio_7d", len(last7) >= 3), ("week_over_week", wow)):  # fmt: skip
            if not (known and ok):
                out[name].append(day.isoformat())
    return out


def detect(
    scope: str,
    value: str,
    series: dict[date, float],
    report_days: list[date],
    covered: set[date],
    cfg: AnomalySettings,
) -> list[Finding]:
    """Findings for each report day of one scope value's daily spend series."""
    findings: list[Finding] = []
    for day in report_days:
        if day not in covered:
            continue
        x = series.get(day, 0.0)
        hist_days, last7_days, wow_known = _history(day, covered, cfg)
        history = [series.get(d, 0.0) for d in hist_days]
        resource = f"{scope}={value}:{day.isoformat()}"
        base = {"scope": scope, "value": value, "day": day.isoformat(), "floor_usd": cfg.floor_usd}

        if len(history) < cfg.min_history:
            continue  # too little known history: no verdict from any detector
        z, expected, method = robust_z(x, history, cfg.pct_fallback)
        threshold = 1.0 if method == "pct" else cfg.z
        if z >= threshold and x - expected >= cfg.floor_usd:
            findings.append(Finding.make(
                "anomaly.robust_z", Severity.medium, "fail", resource,
                f"{scope} {value} spent ${x:,.2f} on {day}, expected about ${expected:,.2f} (robust z {_z(z)})",
                method=method, score=_z(z), threshold=threshold, **_impact(x, expected), **base,
            ))  # fmt: skip

        last7 = [series.get(d, 0.0) for d in last7_days]
        if len(last7) >= 3:
            avg7 = mean(last7)
            ratio = x / avg7 if avg7 > 0 else float("inf")
            if ratio >= cfg.ratio_7d and x - avg7 >= cfg.floor_usd:
                findings.append(Finding.make(
                    "anomaly.ratio_7d", Severity.medium, "fail", resource,
                    f"{scope} {value} spent ${x:,.2f} on {day}, {_z(ratio)}x its trailing 7-day average ${avg7:,.2f}",
                    ratio=_z(ratio), threshold=cfg.ratio_7d, **_impact(x, avg7), **base,
                ))  # fmt: skip

        if wow_known:
            prev = series.get(day - timedelta(days=7), 0.0)
            ratio = x / prev if prev > 0 else float("inf")
            if ratio >= cfg.wow and x - prev >= cfg.floor_usd:
                findings.append(Finding.make(
                    "anomaly.week_over_week", Severity.medium, "fail", resource,
                    f"{scope} {value} spent ${x:,.2f} on {day} against ${prev:,.2f} a week earlier",
                    ratio=_z(ratio), threshold=cfg.wow, **_impact(x, prev), **base,
                ))  # fmt: skip
    return findings


def _z(v: float) -> float | str:
    return "inf" if v == float("inf") else round(v, 2)
