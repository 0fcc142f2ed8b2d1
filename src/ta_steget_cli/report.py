"""The quarterly report: per municipality and for the region, how many registered, how fast they
got a first response, and how many households moved.

The figures, and the choices behind them:
- registrations: persons whose Stockholm registration date lies in the period (up to as_of),
  split by what they asked for (who_waits' rule on `[first_response] no_response_interests`):
  move guidance; only the newsletter (`[purge] newsletter_interest`); only the magazine (the
  other no-response interests); both. Only those who asked for guidance wait for a first
  response, so only they count in the first-response figures below.
- answered_within_limit / assessed: of the registrations whose due date (the fifth working day)
  has come by as_of, those whose first response was registered by the end of the due date.
  Persons still inside their five days are left out of the share, not counted as failures.
- median_working_days: over the registrations that have had a first response, working days
  from the registration date to the response date (same day: 0).
- unanswered: registrations with no first response by as_of, due or not.
- households_moved: persons with the "moved" status whose move date lies in the period; a
  person without a move date counts on the day the record was last updated (the status change
  is the last thing a move guide does on a moved contact). A move counts for the municipality
  moved to; without one, for each municipality the person ticked, else for the region.
- moved_this_year: the same count from 1 January of the period's year up to its end (or
  as_of).
- subscribers: newsletter subscribers (active EMARKETING consent, or the newsletter interest:
  the purge's rule) among the persons registered by the end of the period (or as_of). Consent
  has no history in the register, so a past period counts who is subscribed now.
- A municipality's row counts the persons who ticked it, so a person who ticked two counts in
  both; the region's row those who ticked none; the total counts every person once.
- goals: `[report] goals` maps a period ("2026", "2026Q1") to a number of households moved; a
  goal is shown only for a period that has one (no built-in goal).

The first-response rule is overdue.py's, so the report and the overdue list never disagree.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from . import filters as f
from .errors import UsageError
from .i18n import _
from .models import Person
from .move_status import MOVED
from .overdue import Rule, answered_persons, calendar_of, rule_of
from .parallel import in_order, together
from .register import MoveRecord, Register
from .who_waits import no_guidance_ids
from .workdays import EARLIEST_DAY, Calendar, latest_day, local_date

REGION = "region"
TOTAL = "total"
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    label: str  # "2025Q3" or "2025"

    @property
    def year(self) -> int:
        return self.last.year


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One line of the report: a municipality, the region (persons with none), or the total."""

    kommun: str
    registrations: int
    guidance: int  # of the registrations: those who asked for move guidance (they wait)
    newsletter_only: int  # asked for no guidance, only the newsletter
    magazine_only: int  # ... only the magazine (the other no_response_interests)
    newsletter_and_magazine: int  # ... both
    assessed: int
    answered_within_limit: int
    share_within_limit: float | None
    median_working_days: float | None
    unanswered: int
    households_moved: int
    moved_this_year: int
    subscribers: int = 0
    goal: int | None = None  # the total row's: `[report] goals` for the report's own period
    share_of_goal: float | None = None


@dataclass(frozen=True, slots=True)
class Goal:
    """A configured goal and how far the period (or its year so far) has come."""

    period: str  # "2026" or "2026Q1"
    goal: int
    moved: int
    through: date  # the moves counted are those up to this day

    @property
    def share(self) -> float:
        return self.moved / self.goal


@dataclass(frozen=True)
class Report:
    period: Period
    as_of: date
    working_days: int
    rows: list[ReportRow]
    goals: tuple[Goal, ...] = ()

    @property
    def total(self) -> ReportRow:
        return self.rows[-1]


# ---------------------------------------------------------------- the period


def quarter_period(text: str) -> Period:
    """`2025Q3` (also `2025-Q3`, `2025q3`) as its first and last day; else a usage error."""
    match = _QUARTER.match(text)
    if not match:
        text = _("--quarter: found {text}, expected a year and quarter 1-4 like 2025Q3").format(
            text=repr(text)
        )
        raise UsageError(text)
    year, quarter = int(match.group(1)), int(match.group(2))
    check_year(year, "--quarter", text, "Q1", "Q4")
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1) - timedelta(1)
    return Period(first, last, f"{year}Q{quarter}")


def year_period(year: int) -> Period:
    check_year(year, "--year", str(year))
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


def check_year(year: int, option: str, text: str, first: str = "", last: str = "") -> None:
    """A period within the dates a command can be asked about (see workdays.day_in_range)."""
    low, high = EARLIEST_DAY.year, latest_day().year
    if not low <= year <= high:
        raise UsageError(
            _("{option}: found {text}, expected {low} to {high}").format(
                option=option, text=text, low=f"{low}{first}", high=f"{high}{last}"
            )
        )


def last_full_quarter(as_of: date) -> Period:
    """The default: the latest quarter that has ended by as_of (the one being reported on)."""
    quarter = (as_of.month - 1) // 3 + 1
    candidate = quarter_period(f"{as_of.year}Q{quarter}")
    if candidate.last <= as_of:
        return candidate
    if quarter == 1:
        return quarter_period(f"{as_of.year - 1}Q4")
    return quarter_period(f"{as_of.year}Q{quarter - 1}")


def previous_quarters(period: Period, count: int = 4) -> list[Period]:
    """The `count` quarters ending with the one `period` ends in, oldest first (`--trend`)."""
    quarter = (period.last.month - 1) // 3 + 1
    year = period.last.year
    out = []
    for _quarter in range(count):
        out.append(quarter_period(f"{year}Q{quarter}"))
        quarter, year = (quarter - 1, year) if quarter > 1 else (4, year - 1)
    return out[::-1]


def choose_period(quarter: str | None, year: int | None, as_of: date) -> Period:
    if quarter and year is not None:
        raise UsageError(_("give either --quarter or --year, not both"))
    period = (
        quarter_period(quarter)
        if quarter
        else year_period(year)
        if year is not None
        else last_full_quarter(as_of)
    )
    if period.first > as_of:
        text = _("the period {period} starts after the as-of date {as_of}")
        raise UsageError(text.format(period=period.label, as_of=as_of))
    return period


# ---------------------------------------------------------------- one registration


@dataclass(frozen=True, slots=True)
class Registration:
    """One person registered in the period and what became of their first response."""

    person_id: int
    due: date
    answered: date | None  # Stockholm date of the first response
    working_days: int | None  # from registration to the response


def registration(
    person: Person, response_day: date | None, calendar: Calendar, working_days: int
) -> Registration:
    assert person.registered is not None
    day = local_date(person.registered)
    spent = calendar.working_days_between(day, response_day) if response_day else None
    return Registration(person.person_id, calendar.due_date(day, working_days), response_day, spent)


def first_response_figures(
    registrations: Iterable[Registration], as_of: date
) -> tuple[int, int, int, float | None, int, float | None]:
    """(count, assessed, within limit, share, unanswered, median working days)."""
    regs = list(registrations)
    assessed = [r for r in regs if r.due <= as_of]
    within = sum(1 for r in assessed if r.answered is not None and r.answered <= r.due)
    share = within / len(assessed) if assessed else None
    spent = [r.working_days for r in regs if r.working_days is not None]
    median = float(statistics.median(spent)) if spent else None
    unanswered = sum(1 for r in regs if r.answered is None)
    return len(regs), len(assessed), within, share, unanswered, median


# ---------------------------------------------------------------- moves


def move_day(record: MoveRecord) -> date | None:
    """When the household moved: the move date, else the day the record last changed."""
    if record.move_date is not None:
        return record.move_date
    return local_date(record.updated) if record.updated is not None else None


def moved_between(records: Mapping[int, MoveRecord], first: date, last: date) -> set[int]:
    return {pid for pid, rec in records.items() if (d := move_day(rec)) and first <= d <= last}


def move_areas(
    moved_to: Mapping[int, str], kommuner: Mapping[int, tuple[str, ...]], person_id: int
) -> tuple[str, ...]:
    """Where a move counts: the municipality moved to, else those ticked, else the region."""
    if person_id in moved_to:
        return (moved_to[person_id],)
    return kommuner.get(person_id) or (REGION,)


# ---------------------------------------------------------------- reading and combining


def period_persons(register: Register, period: Period) -> dict[int, Person]:
    """Persons whose Stockholm registration date lies in the period, up to as_of."""
    last = min(period.last, register.as_of)
    return {
        p.person_id: p
        for p in register.registrations(register.registered_between(period.first, last))
        if p.registered is not None and period.first <= local_date(p.registered) <= last
    }


def response_days(register: Register, persons: Mapping[int, Person], rule: Rule) -> dict[int, date]:
    """The Stockholm day of each answered person's first response (overdue's rule)."""
    return {pid: local_date(m) for pid, m in answered_persons(register, persons, rule).items()}


@dataclass(frozen=True)
class Moved:
    """The persons with the moved status: move date and last update, the municipality moved
    to, and the municipalities they ticked."""

    records: Mapping[int, MoveRecord]
    to: Mapping[int, str]
    kommuner: Mapping[int, tuple[str, ...]]


def moves(register: Register) -> Moved:
    """The moved persons (none when the move status has no moved value configured); their
    records, where they moved and what they ticked are asked at once."""
    ms = register.config.move_status
    if MOVED not in ms.values:
        return Moved({}, {}, {})
    moved = register.status_filter(MOVED)
    records, to, kommuner = together(
        register.workers,
        lambda: register.move_records(moved),
        lambda: register.list_values(ms.moved_to_field, ms.moved_to_values, moved),
        lambda: register.memberships(moved),
    )
    return Moved(records, to, kommuner)


@dataclass(frozen=True)
class Asked:
    """Of the persons registered in the period: who asked for no move guidance, and of those,
    who ticked the newsletter and who the magazine (ids)."""

    no_guidance: set[int]
    newsletter: set[int]
    magazine: set[int]

    def of(self, persons: Collection[int]) -> Asked:
        """The same, for these persons only."""
        ids = set(persons)
        return Asked(self.no_guidance & ids, self.newsletter & ids, self.magazine & ids)


def what_they_asked(register: Register, window: str) -> Asked:
    """Who of those registered in the window asked for no guidance, and of those who ticked
    the newsletter and who the magazine; the three scans at once. `Asked.of` narrows it to
    the period's persons."""
    config = register.config
    no_response = set(config.first_response.no_response_interests)
    if not no_response:
        return Asked(set(), set(), set())
    newsletter_id = config.purge.newsletter_interest
    magazine_ids = sorted(no_response - {newsletter_id})

    def ticked(items: list[int]) -> set[int]:
        if not items:
            return set()
        return register.person_ids(f.one_of("personInterestIds", items), window)

    none, newsletter, magazine = together(
        register.workers,
        lambda: no_guidance_ids(register, window),
        lambda: ticked([newsletter_id] if newsletter_id in no_response else []),
        lambda: ticked(magazine_ids),
    )
    return Asked(none, newsletter & none, magazine & none)


def subscriber_counts(register: Register, last: date, areas: list[str]) -> dict[str, int]:
    """Newsletter subscribers registered by `last`, per municipality (those who ticked it),
    for the region (none ticked) and in total (each once); the areas side by side."""
    at_end = replace(register, as_of=last)
    wheres: dict[str, str | None] = {k: at_end.kommun_filter(k) for k in areas}
    wheres[REGION] = at_end.region_filter()
    wheres[TOTAL] = None
    found = in_order(lambda where: len(at_end.subscribers(where)), wheres.values(), at_end.workers)
    return dict(zip(wheres, found, strict=True))


def goals_for(config_goals: Mapping[str, int], period: Period, moved: int, in_year: int,
              last: date) -> tuple[Goal, ...]:  # fmt: skip
    """The period's own goal, and for a quarter its year's goal so far; only those configured."""
    out = []
    if period.label in config_goals:
        out.append(Goal(period.label, config_goals[period.label], moved, last))
    year = str(period.year)
    if year != period.label and year in config_goals:
        out.append(Goal(year, config_goals[year], in_year, last))
    return tuple(out)


def build_report(register: Register, period: Period) -> Report:
    """The report for `period` as the register stood at the end of as_of."""
    config = register.config
    rule = rule_of(config)
    calendar = calendar_of(config)
    as_of = register.as_of
    last = min(period.last, as_of)
    window = register.registered_between(period.first, last)

    def registrations() -> tuple[dict[int, Person], dict[int, Registration]]:
        persons = period_persons(register, period)
        answered = response_days(register, persons, rule)
        return persons, {
            pid: registration(p, answered.get(pid), calendar, rule.working_days)
            for pid, p in persons.items()
        }

    # Every question but the responses (which need the period's persons) asks about the
    # period's window or the moved status alone: asked at once.
    (persons, regs), kommuner, moved, subscribers, asked = together(
        register.workers,
        registrations,
        lambda: register.memberships(window),
        lambda: moves(register),
        lambda: subscriber_counts(register, last, list(config.kommuner)),
        lambda: what_they_asked(register, window),
    )
    asked = asked.of(persons)
    records = moved.records
    in_period = moved_between(records, period.first, last)
    in_year = moved_between(records, date(period.year, 1, 1), last)

    def area_row(area: str, members: set[int]) -> ReportRow:
        waiting = (regs[p] for p in members - asked.no_guidance if p in regs)
        figures = first_response_figures(waiting, as_of)
        _count, assessed, within, share, unanswered, median = figures
        mine = {p for p in records if area in move_areas(moved.to, moved.kommuner, p)}
        newsletter, magazine = members & asked.newsletter, members & asked.magazine
        return ReportRow(
            kommun=area,
            registrations=len(members),
            guidance=len(members - asked.no_guidance),
            newsletter_only=len(newsletter - magazine),
            magazine_only=len(magazine - newsletter),
            newsletter_and_magazine=len(newsletter & magazine),
            assessed=assessed,
            answered_within_limit=within,
            share_within_limit=share,
            median_working_days=median,
            unanswered=unanswered,
            households_moved=len(mine & in_period),
            moved_this_year=len(mine & in_year),
            subscribers=subscribers[area],
        )

    rows = [area_row(k, {p for p in persons if k in kommuner.get(p, ())}) for k in config.kommuner]
    rows.append(area_row(REGION, {p for p in persons if not kommuner.get(p)}))
    goals = goals_for(config.report.goals, period, len(in_period), len(in_year), last)
    own = next((g for g in goals if g.period == period.label), None)
    total = replace(
        area_row(TOTAL, set(persons)),
        # Distinct households: one who ticked two municipalities moved once.
        households_moved=len(in_period),
        moved_this_year=len(in_year),
        goal=own.goal if own else None,
        share_of_goal=own.share if own else None,
    )
    rows.append(total)
    return Report(period, as_of, rule.working_days, rows, goals)


def build_trend(register: Register, period: Period, known: Report | None = None) -> list[Report]:
    """The reports of the last four quarters up to `period`'s end, oldest first; a quarter that
    starts after as_of is left out. `known` is a report already built (not read again). The
    quarters are independent: built side by side."""

    def report_of(quarter: Period) -> Report:
        if known is not None and known.period == quarter:
            return known
        return build_report(register, quarter)

    quarters = [q for q in previous_quarters(period) if q.first <= register.as_of]
    return list(in_order(report_of, quarters, register.workers))
