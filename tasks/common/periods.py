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
