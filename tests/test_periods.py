"""Days of a period: one implementation (tasks/common/periods.py) for every job."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tasks.common import periods
from tasks.common.models import Period
from tasks.common.periods import days_between, period_days, resolve_period


def _p(start: datetime, end: datetime) -> Period:
    return Period(start=start, end=end)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        # whole days: exactly the period's days
        (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC), [18, 19, 20]),
        (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC), [20]),
        # a partial first or last day is a day the period reads
        (datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC), [20, 21]),
        (datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, 0, 0, 1, tzinfo=UTC), [20, 21]),
        (datetime(2026, 11, 20, 23, tzinfo=UTC), datetime(2026, 11, 21, 1, tzinfo=UTC), [20, 21]),
        (datetime(2026, 11, 20, 1, tzinfo=UTC), datetime(2026, 11, 20, 2, tzinfo=UTC), [20]),
    ],
)
def test_period_days(start, end, days):
    assert period_days(_p(start, end)) == [date(2026, 11, d) for d in days]


def test_month_and_year_boundaries_and_default_period():
    p = resolve_period("2026-12-30", "2027-01-02")
    assert period_days(p) == [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1)]
    assert period_days(resolve_period(None, "2026-11-21")) == [date(2026, 11, 20)]
    assert days_between(date(2026, 2, 27), date(2026, 3, 2)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]
    assert days_between(date(2026, 3, 2), date(2026, 3, 2)) == []


def test_every_job_uses_the_one_implementation():
    from tasks.audit import job as audit_job
    from tasks.quality import job as quality_job

    assert audit_job.period_days is quality_job.period_days is periods.period_days
