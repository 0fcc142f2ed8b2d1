"""Swedish working days, for laying out the sandbox's scenario persons relative to `today`.

The sandbox keeps its own small copy instead of importing the tool's, so that the data the tests
check the tool against is not built by the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from holidays.countries.sweden import Sweden


@cache
def closed_days(year: int) -> frozenset[date]:
    """Public holidays plus the de facto ones (midsommarafton, julafton, nyårsafton)."""
    days = set(Sweden(years=year, include_sundays=False))
    midsummer_day = next(d for d in days if d.month == 6 and 20 <= d.day <= 26)
    days.add(midsummer_day - timedelta(days=1))
    days.add(date(year, 12, 24))
    days.add(date(year, 12, 31))
    return frozenset(days)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in closed_days(day.year)


def add_working_days(day: date, count: int) -> date:
    """The `count`th working day after `day` (before it when `count` is negative)."""
    step = 1 if count >= 0 else -1
    left = abs(count)
    while left:
        day += timedelta(days=step)
        if is_working_day(day):
            left -= 1
    return day
