"""The Swedish working-day calendar behind every first-response date rule.

A working day is Monday to Friday that is neither a Swedish public holiday nor a de facto
holiday (midsommarafton, julafton, nyårsafton), nor a closed day from the config. All dates are
Europe/Stockholm local dates.

The overdue list asks thousands of these questions per run, so each calendar keeps a sorted
array of the ordinals of its working days, grown a year at a time, and answers by bisection:
adding or counting working days costs microseconds however far apart the dates are.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from holidays.countries.sweden import Sweden

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# The spec's first-response rule: due on the fifth working day after registration. The one
# place this number is written; `[first_response] working_days` defaults to it.
DUE_WORKING_DAYS = 5

# At least 240 working days in any Swedish year; used to size how many years to build ahead.
_MIN_WORKING_DAYS_PER_YEAR = 240


def local_date(moment: datetime) -> date:
    """The Stockholm calendar date of `moment`; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(STOCKHOLM).date()


def today_stockholm() -> date:
    """Today in Stockholm, the default --as-of date."""
    return datetime.now(STOCKHOLM).date()


_WEEKDAYS = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def weekday_date(day: date, lang: str = "sv") -> str:
    """A date as people say it: 'tisdag 24 mars' ('Tuesday 24 March')."""
    words = "en" if lang == "en" else "sv"
    return f"{_WEEKDAYS[words][day.weekday()]} {day.day} {_MONTHS[words][day.month - 1]}"


# The dates a command can be asked about: nothing was registered before 1990 (an earlier date is
# a typo), and a year ahead is as far as a plan makes sense. Outside them the date arithmetic
# (five years back, holidays, working days up to the date) would fail or run for ever.
EARLIEST_DAY = date(1990, 1, 1)
DAYS_AHEAD = 366


def latest_day() -> date:
    return today_stockholm() + timedelta(days=DAYS_AHEAD)


def day_in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= latest_day()


@cache
def _holiday_ordinals(year: int) -> frozenset[int]:
    """Public and de facto holidays of `year`, as ordinals.

    Without include_sundays=False the package lists every Sunday as a holiday; weekends are
    excluded by weekday anyway, so we keep the set small.
    """
    table = Sweden(years=year, categories=("public", "de_facto"), include_sundays=False)
    return frozenset(day.toordinal() for day in table)


class Calendar:
    """Working days in Sweden, less the configured closed days."""

    def __init__(self, closed_days: Iterable[date] = ()) -> None:
        self._closed = frozenset(day.toordinal() for day in closed_days)
        self._first_year = 0  # years [_first_year, _last_year] are in _ordinals
        self._last_year = -1
        self._ordinals: list[int] = []

    @classmethod
    def from_strings(cls, closed_days: Iterable[str]) -> Calendar:
        """A calendar from the config's `first_response.closed_days` (YYYY-MM-DD strings)."""
        return cls(date.fromisoformat(day) for day in closed_days)

    # ------------------------------------------------------------ questions

    def is_working_day(self, day: date) -> bool:
        ordinal = day.toordinal()
        return (
            day.weekday() < 5
            and ordinal not in _holiday_ordinals(day.year)
            and ordinal not in self._closed
        )

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day`.

        n >= 1 counts working days strictly after `day`, whatever `day` itself is.
        n == 0 is the first working day on or after `day`: `day` itself when it is a working
        day, so that working_days_between(day, add_working_days(day, n)) == n for working days.
        """
        if n < 0:
            raise ValueError(f"n must be 0 or more, got {n}")
        self._cover(day.year, day.year + n // _MIN_WORKING_DAYS_PER_YEAR + 1)
        ordinal = day.toordinal()
        index = (
            bisect_left(self._ordinals, ordinal) if n == 0 else self._count_upto(ordinal) + n - 1
        )
        while index >= len(self._ordinals):  # only near the end of a sparse, closed-heavy year
            self._cover(self._first_year, self._last_year + 1)
        return date.fromordinal(self._ordinals[index])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; when end < start, those in (end, start], negated."""
        low, high = sorted((start, end))
        self._cover(low.year, high.year)
        count = self._count_upto(high.toordinal()) - self._count_upto(low.toordinal())
        return count if end >= start else -count

    def due_date(self, registered: date, working_days: int = DUE_WORKING_DAYS) -> date:
        """The first response is due on the `working_days`-th working day after registration.

        Registered on a Monday: due the next Monday; registered on a Saturday: due the Friday
        after.
        """
        return self.add_working_days(registered, working_days)

    def working_days_overdue(self, due: date, as_of: date) -> int:
        """Working days after `due` up to and including `as_of`.

        0 on the due date, 1 on the next working day, -1 when due on the next working day.
        Note: a person is overdue from the day after the due date even when that day is a
        weekend (still 0 here); decide "overdue" by `as_of > due`, not by this count.
        """
        return self.working_days_between(due, as_of)

    # ------------------------------------------------------------ the ordinal table

    def _count_upto(self, ordinal: int) -> int:
        """How many working days of the table are on or before `ordinal`."""
        return bisect_right(self._ordinals, ordinal)

    def _cover(self, first_year: int, last_year: int) -> None:
        """Grow the table so that it holds every working day of the years given, contiguously."""
        if self._first_year <= first_year and last_year <= self._last_year:
            return
        if self._last_year < self._first_year:  # empty table
            self._first_year, self._last_year = first_year, first_year - 1
        before = [d for y in range(first_year, self._first_year) for d in self._year(y)]
        after = [d for y in range(self._last_year + 1, last_year + 1) for d in self._year(y)]
        self._ordinals = before + self._ordinals + after
        self._first_year = min(first_year, self._first_year)
        self._last_year = max(last_year, self._last_year)

    def _year(self, year: int) -> list[int]:
        """The working days of one year, as sorted ordinals."""
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        return [o for o in range(first, last + 1) if self.is_working_day(date.fromordinal(o))]


def purge_cutoff(as_of: date, years: int) -> date:
    """`as_of` minus `years` calendar years; 29 February becomes 28 February."""
    target = as_of.year - years
    if as_of.month == 2 and as_of.day == 29:
        return date(target, 2, 28)
    return as_of.replace(year=target)
