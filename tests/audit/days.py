"""One day read and built, as the job's collect and evaluate steps do it in turn."""

from __future__ import annotations

from typing import Any

from tasks.audit.day import DayResult, build_day, read_day


def run_day(*args: Any, **kwargs: Any) -> DayResult:
    """read_day's arguments; the day's result (publishing is the job's)."""
    return build_day(read_day(*args, **kwargs))
