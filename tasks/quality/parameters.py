"""The expectations' run-time parameters: the $PARAMETER values the suites use, evaluated
here and substituted by Great Expectations (see tasks/quality/__init__.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from tasks.common.models import Period
from tasks.common.periods import period_days
from tasks.quality.config import QualityConfig
from tasks.telemetry.schema import SCHEMA_VERSION

TABLES = ("tasks", "events")
OPEN_MAX = 10**12  # "no upper bound" for row counts (GX needs a number for a parameter)


def row_bounds(
    history: dict[str, Any], table: str, period: Period, cfg: QualityConfig
) -> tuple[int, int]:
    """Expected rows for the period from the median of recent days' counts (open if none)."""
    before = [
        v[table]
        for d, v in sorted(history.get("days", {}).items())
        if d < period.start.date().isoformat()
        and d >= (period.start.date() - timedelta(days=cfg.recent_days)).isoformat()
        and isinstance(v, dict)
        and isinstance(v.get(table), int)
    ]
    if not before:
        return 0, OPEN_MAX
    per_day = float(pd.Series(before).median()) * len(period_days(period))
    return int(per_day * cfg.row_count_low_factor), int(per_day * cfg.row_count_high_factor) + 1


def expectation_parameters(
    period: Period,
    cfg: QualityConfig,
    history: dict[str, Any],
    now: datetime | None = None,
    filtered: bool = False,
) -> dict[str, Any]:
    """The $PARAMETER values the suites use, evaluated here and substituted by GX."""
    now = now or datetime.now(UTC)
    ts_max = min(period.end, now + timedelta(seconds=cfg.future_skew_seconds))
    params: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "period_start": period.start.isoformat(),
        "ts_max": ts_max.isoformat(),
        "max_request_cost": cfg.max_request_cost,
    }
    for table in TABLES:
        lo, hi = (0, OPEN_MAX) if filtered else row_bounds(history, table, period, cfg)
        params[f"{table}_rows_min"], params[f"{table}_rows_max"] = lo, hi
    return params
