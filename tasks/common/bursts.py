"""Write bursts: one rule and one config model for audit-trail and telemetry-quality.

A user's burst is the most file writes inside any `window_seconds` window (a sliding
window ending at each write). It is reported when it reaches
max(`writes`, `factor` x baseline), the baseline being the median sliding-window count of
the *other* users' writes: an absolute floor, raised on a fleet where dense writing is
normal. The same rule serves other bursty events (telemetry-quality's rollbacks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

# the keys this model replaced, and where their values go now
OLD_KEYS = {
    "audit": {
        "burst_writes": "audit.write_burst.writes",
        "burst_window_seconds": "audit.write_burst.window_seconds",
    },
    "quality.signals": {
        "write_burst_min": "quality.signals.write_burst.writes",
        "write_burst_window_minutes": "quality.signals.write_burst.window_seconds (in seconds)",
        "write_burst_factor": "quality.signals.write_burst.factor",
    },
}


class WriteBurstConfig(BaseModel):
    model_config = {"extra": "forbid"}

    writes: int = Field(
        40, ge=2, description="file writes by one user in the window before a burst is reported"
    )
    window_seconds: int = Field(
        300, ge=1, le=86400, description="length of the sliding window, in seconds"
    )
    factor: float = Field(
        4.0, ge=1, description="times the other users' typical writes per window (raises the floor)"
    )


def refuse_old_keys(raw: Any, section: str) -> Any:
    """A config still using a replaced key fails with one line saying where it went."""
    if isinstance(raw, dict):
        for old, new in OLD_KEYS[section].items():
            if old in raw:
                raise ValueError(
                    f"{section}.{old} was replaced by {new}: move the value there "
                    "(one write-burst rule for audit-trail and telemetry-quality)"
                )
    return raw


def sliding_counts(ts_ms: np.ndarray, window_ms: int) -> np.ndarray:
    """For each of one user's events (sorted, epoch ms), how many fall in (t - window, t]."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    return np.arange(len(ts)) - np.searchsorted(ts, ts - window_ms, side="right") + 1


def burst_threshold(minimum: float, factor: float, others: np.ndarray) -> tuple[float, float]:
    """(baseline, threshold): the others' median sliding count, and max(minimum, factor x it)."""
    base = float(np.median(others)) if len(others) else 0.0
    return base, max(float(minimum), factor * base)
