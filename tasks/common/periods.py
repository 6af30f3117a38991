"""The period a job covers, from the `--since/--until` parameters every job takes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tasks.common.errors import ConfigError
from tasks.common.models import Period


def as_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ConfigError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from None


def resolve_period(since: str | None, until: str | None, today: date | None = None) -> Period:
    """Calendar days [since, until) in UTC; default: yesterday (the last complete day)."""
    today = today or datetime.now(UTC).date()
    end = as_day(until, "until") if until else today
    start = as_day(since, "since") if since else end - timedelta(days=1)
    if end <= start:
        raise ConfigError(f"until {end} is not after since {start}")
    return Period(
        start=datetime.combine(start, datetime.min.time(), UTC),
        end=datetime.combine(end, datetime.min.time(), UTC),
    )


def days_between(first: date, end: date) -> list[date]:
    """Calendar days [first, end): a range of dates (e.g. a budget window's days)."""
    return [first + timedelta(days=i) for i in range((end - first).days)]


def period_days(period: Period) -> list[date]:
    """Every UTC day holding some moment of the period: the days whose data it may read.

    The one answer for every job (for a whole-day period, its days; a partial first or last
    day is included, since part of it is inside).
    """
    last = (period.end - timedelta(microseconds=1)).date()
    return days_between(period.start.date(), last + timedelta(days=1))
