"""The Swedish working-day calendar, checked against real dates written out."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ta_steget_cli.workdays import (
    Calendar,
    local_date,
    purge_cutoff,
    today_stockholm,
)

CAL = Calendar()


# ---------------------------------------------------------------- which days are working days


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 4, 3),  # långfredag
        date(2026, 4, 6),  # annandag påsk
        date(2026, 5, 1),  # första maj, a Friday
        date(2026, 5, 14),  # Kristi himmelsfärdsdag
        date(2026, 6, 19),  # midsommarafton (de facto)
        date(2025, 12, 24),  # julafton (de facto)
        date(2025, 12, 25),  # juldagen
        date(2025, 12, 26),  # annandag jul
        date(2025, 12, 31),  # nyårsafton (de facto)
        date(2026, 1, 1),  # nyårsdagen
        date(2026, 1, 6),  # trettondedag jul
    ],
)
def test_holidays_on_weekdays_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 4, 2),  # skärtorsdag is an ordinary working day
        date(2026, 4, 7),
        date(2026, 5, 15),  # klämdag after Ascension: working unless configured closed
        date(2026, 6, 5),  # the Friday before National Day
        date(2026, 6, 8),  # the Monday after National Day
        date(2025, 12, 23),
        date(2025, 12, 29),
        date(2026, 1, 2),
        date(2026, 1, 7),
    ],
)
def test_ordinary_weekdays_are_working_days(day: date) -> None:
    assert CAL.is_working_day(day)


def test_weekends_are_not_working_days() -> None:
    assert not CAL.is_working_day(date(2026, 11, 21))  # Saturday
    assert not CAL.is_working_day(date(2026, 11, 22))  # Sunday


def test_a_configured_closed_day_is_not_a_working_day() -> None:
    closed = Calendar([date(2026, 5, 15)])  # klämdag the office keeps closed
    assert not closed.is_working_day(date(2026, 5, 15))
    # Registered Wednesday 13 May: Thu 14 is Ascension, Fri 15 closed -> Mon 18 .. Fri 22.
    assert closed.due_date(date(2026, 5, 13)) == date(2026, 5, 22)
    assert CAL.due_date(date(2026, 5, 13)) == date(2026, 5, 21)


def test_closed_days_from_config_strings() -> None:
    closed = Calendar.from_strings(["2026-05-15"])
    assert not closed.is_working_day(date(2026, 5, 15))


# ---------------------------------------------------------------- due dates


def test_registered_monday_is_due_next_monday() -> None:
    assert CAL.due_date(date(2026, 11, 16)) == date(2026, 11, 23)


def test_registered_saturday_is_due_the_friday_after() -> None:
    assert CAL.due_date(date(2026, 11, 21)) == date(2026, 11, 27)


def test_registered_sunday_is_due_the_friday_after() -> None:
    assert CAL.due_date(date(2026, 11, 22)) == date(2026, 11, 27)


def test_due_date_over_easter_2026() -> None:
    # Registered Wed 1 April: Thu 2, (Fri 3 Good Friday), (Mon 6 Easter Monday), Tue 7, Wed 8,
    # Thu 9, Fri 10.
    assert CAL.due_date(date(2026, 4, 1)) == date(2026, 4, 10)


def test_due_date_over_first_of_may_2026() -> None:
    # Registered Mon 27 April: Tue 28, Wed 29, Thu 30, (Fri 1 May), Mon 4, Tue 5.
    assert CAL.due_date(date(2026, 4, 27)) == date(2026, 5, 5)


def test_due_date_over_ascension_day_2026() -> None:
    # Registered Mon 11 May: Tue 12, Wed 13, (Thu 14), Fri 15, Mon 18, Tue 19.
    assert CAL.due_date(date(2026, 5, 11)) == date(2026, 5, 19)


def test_national_day_on_a_saturday_loses_no_working_day() -> None:
    # Registered Mon 1 June: due Mon 8 June as in any ordinary week.
    assert CAL.due_date(date(2026, 6, 1)) == date(2026, 6, 8)


def test_due_date_over_midsommar_2026() -> None:
    # Registered Tue 16 June: Wed 17, Thu 18, (Fri 19 midsommarafton), Mon 22, Tue 23, Wed 24.
    assert CAL.due_date(date(2026, 6, 16)) == date(2026, 6, 24)


def test_due_date_over_christmas_and_new_year_2025_26() -> None:
    # Registered Mon 22 Dec 2025: Tue 23, (24, 25, 26), Mon 29, Tue 30, (31), (1 Jan), Fri 2,
    # Mon 5 -> the fifth working day is Mon 5 January 2026.
    assert CAL.due_date(date(2025, 12, 22)) == date(2026, 1, 5)
    # Registered Tue 23 Dec: 29, 30, 2, 5, (Tue 6 trettondedag jul), Wed 7.
    assert CAL.due_date(date(2025, 12, 23)) == date(2026, 1, 7)


def test_working_days_between_christmas_and_new_year() -> None:
    # (Fri 19 Dec 2025, Fri 9 Jan 2026]: 22, 23, 29, 30, 2, 5, 7, 8, 9.
    assert CAL.working_days_between(date(2025, 12, 19), date(2026, 1, 9)) == 9
    assert CAL.working_days_between(date(2026, 1, 9), date(2025, 12, 19)) == -9


def test_due_date_honours_a_configured_count() -> None:
    assert CAL.due_date(date(2026, 11, 16), working_days=1) == date(2026, 11, 17)
    assert CAL.due_date(date(2026, 11, 16), working_days=10) == date(2026, 11, 30)


# ---------------------------------------------------------------- Stockholm local dates


def test_registered_late_friday_evening_utc_in_summer_registered_saturday() -> None:
    moment = datetime(2026, 6, 26, 23, 30, tzinfo=UTC)  # Fri 23:30 UTC = Sat 01:30 CEST
    assert local_date(moment) == date(2026, 6, 27)
    assert CAL.due_date(local_date(moment)) == date(2026, 7, 3)  # the Friday after


def test_naive_datetimes_are_utc() -> None:
    assert local_date(datetime(2026, 6, 26, 23, 30)) == date(2026, 6, 27)


def test_winter_offset_is_one_hour() -> None:
    assert local_date(datetime(2026, 1, 16, 22, 59, tzinfo=UTC)) == date(2026, 1, 16)
    assert local_date(datetime(2026, 1, 16, 23, 0, tzinfo=UTC)) == date(2026, 1, 17)


def test_other_offsets_are_converted() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert local_date(datetime(2026, 1, 16, 18, 30, tzinfo=new_york)) == date(2026, 1, 17)


def test_today_stockholm_is_a_date_near_utc_today() -> None:
    utc_today = datetime.now(UTC).date()
    assert abs((today_stockholm() - utc_today).days) <= 1


# ---------------------------------------------------------------- working days overdue


def test_due_date_itself_is_zero_and_the_day_after_one() -> None:
    due = date(2026, 11, 23)  # Monday
    assert CAL.working_days_overdue(due, due) == 0
    assert CAL.working_days_overdue(due, date(2026, 11, 24)) == 1
    assert CAL.working_days_overdue(due, date(2026, 11, 30)) == 5


def test_due_tomorrow_is_minus_one() -> None:
    assert CAL.working_days_overdue(date(2026, 11, 24), date(2026, 11, 23)) == -1
    assert CAL.working_days_overdue(date(2026, 11, 26), date(2026, 11, 23)) == -3


def test_weekend_after_a_friday_due_date_counts_no_working_day() -> None:
    due = date(2026, 11, 27)  # Friday
    assert CAL.working_days_overdue(due, date(2026, 11, 28)) == 0
    assert CAL.working_days_overdue(due, date(2026, 11, 30)) == 1


def test_overdue_counts_skip_holidays() -> None:
    due = date(2026, 4, 2)  # skärtorsdag
    assert CAL.working_days_overdue(due, date(2026, 4, 7)) == 1  # 3 and 6 April are holidays


# ---------------------------------------------------------------- add_working_days edges


def test_zero_working_days_is_the_day_itself_or_the_next_working_day() -> None:
    assert CAL.add_working_days(date(2026, 11, 23), 0) == date(2026, 11, 23)
    assert CAL.add_working_days(date(2026, 11, 21), 0) == date(2026, 11, 23)
    assert CAL.add_working_days(date(2025, 12, 24), 0) == date(2025, 12, 29)


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 11, 23), -1)


def test_far_ahead_and_across_years() -> None:
    start = date(2026, 1, 2)
    later = CAL.add_working_days(start, 1000)
    assert CAL.working_days_between(start, later) == 1000
    assert CAL.is_working_day(later)


def test_calendar_grows_backwards_after_forwards() -> None:
    cal = Calendar()
    assert cal.due_date(date(2030, 3, 4)) == date(2030, 3, 11)
    assert cal.due_date(date(2025, 12, 22)) == date(2026, 1, 5)
    assert cal.working_days_between(date(2020, 1, 1), date(2030, 1, 1)) == (
        CAL.working_days_between(date(2020, 1, 1), date(2030, 1, 1))
    )


def test_a_year_of_working_days_takes_microseconds() -> None:
    cal = Calendar()
    cal.add_working_days(date(2026, 1, 1), 250)  # builds the table once
    rounds = 10_000
    started = time.perf_counter()
    for i in range(rounds):
        cal.add_working_days(date(2026, 1, 1 + i % 28), 250)
        cal.working_days_between(date(2026, 1, 1), date(2026, 12, 1 + i % 28))
    per_call = (time.perf_counter() - started) / (2 * rounds)
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per call"


# ---------------------------------------------------------------- purge cut-off


def test_purge_cutoff_subtracts_years() -> None:
    assert purge_cutoff(date(2026, 11, 23), 5) == date(2021, 11, 23)


def test_purge_cutoff_leap_day_counts_as_28_february() -> None:
    assert purge_cutoff(date(2028, 2, 29), 5) == date(2023, 2, 28)
    assert purge_cutoff(date(2028, 2, 29), 4) == date(2024, 2, 28)


def test_purge_cutoff_first_of_march() -> None:
    assert purge_cutoff(date(2029, 3, 1), 1) == date(2028, 3, 1)
    assert purge_cutoff(date(2028, 3, 1), 1) == date(2027, 3, 1)


# ---------------------------------------------------------------- properties

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31))
counts = st.integers(min_value=0, max_value=600)


@given(days, counts)
def test_add_working_days_lands_on_a_working_day(day: date, n: int) -> None:
    assert CAL.is_working_day(CAL.add_working_days(day, n))


@given(days, counts)
def test_add_then_count_gives_n_back_from_a_working_day(day: date, n: int) -> None:
    start = CAL.add_working_days(day, 0)  # the first working day on or after `day`
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


@given(days, counts)
def test_add_working_days_from_any_day_counts_n_when_n_positive(day: date, n: int) -> None:
    if n > 0:
        assert CAL.working_days_between(day, CAL.add_working_days(day, n)) == n


@given(days, counts, counts)
def test_add_working_days_is_monotonic(day: date, n: int, m: int) -> None:
    low, high = sorted((n, m))
    assert CAL.add_working_days(day, low) <= CAL.add_working_days(day, high)
    assert CAL.add_working_days(day, n) <= CAL.add_working_days(day + timedelta(days=1), n)


@given(days, days)
def test_working_days_between_is_antisymmetric(a: date, b: date) -> None:
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)


@given(days, st.integers(min_value=0, max_value=400))
def test_working_days_between_agrees_with_counting_day_by_day(a: date, span: int) -> None:
    b = a + timedelta(days=span)
    expected = sum(CAL.is_working_day(a + timedelta(days=i)) for i in range(1, span + 1))
    assert CAL.working_days_between(a, b) == expected
