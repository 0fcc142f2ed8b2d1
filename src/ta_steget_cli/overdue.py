"""Who is waiting too long for a first response from a move guide (`tasteget overdue`).

The rule (spec, "Working days"): the first response is due on the fifth working day after the
Stockholm registration date; a person with no response registered by the end of that day is
overdue from the day after. A first response is an activity of the configured kinds, registered
after the person was (full timestamps: the server only compares dates), by someone who is not a
form or system user. The list is for action, so a person who has had a response by the end of
the as-of date (late or not) is not on it; how late answers were is the quarterly report's job.

Plain functions over dataclasses: the register does the reading, nothing here prints or calls
HTTP, so each rule can be tested on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from . import filters as f
from .config import NEVER_A_RESPONSE, Config
from .models import Activity, OverdueItem, Person
from .parallel import together
from .register import Register
from .who_waits import no_guidance_ids
from .workdays import Calendar, local_date

log = logging.getLogger(__name__)

OVERDUE = "overdue"
DUE_SOON = "due_soon"


@dataclass(frozen=True)
class Scope:
    """Which list: one municipality, the region (persons with none), or everyone."""

    kommun: str | None = None
    region: bool = False
    our_contact: str | None = None  # the responsible user's name as SuperOffice shows it
    associate_id: int | None = None  # or their associate id (`--our-contact me`)

    @property
    def everyone(self) -> bool:
        return self.kommun is None and not self.region


@dataclass(frozen=True)
class Rule:
    """The first-response rule from `[first_response]`, ready to apply."""

    working_days: int
    since: date  # unanswered registrations from this (Stockholm) date are listed
    kinds: tuple[str, ...]
    ignored: frozenset[str]  # casefolded logins and full names
    lookback_days: int | None = None  # retired: since = as-of minus this many days

    @classmethod
    def from_settings(
        cls,
        working_days: int,
        since: date,
        kinds: Iterable[str],
        ignore_registered_by: Iterable[str],
        lookback_days: int | None = None,
    ) -> Rule:
        return cls(
            working_days=working_days,
            since=since,
            kinds=tuple(k for k in kinds if k not in NEVER_A_RESPONSE),
            ignored=frozenset(u.strip().casefold() for u in ignore_registered_by if u.strip()),
            lookback_days=lookback_days,
        )

    def first_day(self, as_of: date) -> date:
        """The earliest registration date listed."""
        if self.lookback_days is not None:
            return as_of - timedelta(days=self.lookback_days)
        return self.since

    def listing_since(self, day: date) -> Rule:
        """The rule with `--since D`: it replaces the config's since (and a retired look-back)."""
        return replace(self, since=day, lookback_days=None)


def rule_of(config: Config) -> Rule:
    fr = config.first_response
    return Rule.from_settings(
        fr.working_days, fr.since, fr.activity_kinds, fr.ignore_registered_by, fr.lookback_days
    )


def calendar_of(config: Config) -> Calendar:
    return Calendar.from_strings(config.first_response.closed_days)


# ---------------------------------------------------------------- the rules, one question each


def by_ignored_user(activity: Activity, ignored: frozenset[str]) -> bool:
    return (
        activity.registered_by.strip().casefold() in ignored
        or activity.registered_by_full_name.strip().casefold() in ignored
    )


def is_response(activity: Activity, person: Person, rule: Rule) -> bool:
    """Counts as a first response to `person`: after the registration, by a move guide."""
    return (
        activity.kind in rule.kinds
        and activity.registered is not None
        and person.registered is not None
        and activity.registered > person.registered
        and not by_ignored_user(activity, rule.ignored)
    )


def first_responses(
    persons: Mapping[int, Person], activities: Iterable[Activity], rule: Rule
) -> dict[int, datetime]:
    """When each answered person got their first response (registered timestamp)."""
    first: dict[int, datetime] = {}
    for activity in activities:
        person = persons.get(activity.person_id)
        if person is None or not is_response(activity, person, rule):
            continue
        moment = activity.registered
        assert moment is not None  # is_response checked it
        if activity.person_id not in first or moment < first[activity.person_id]:
            first[activity.person_id] = moment
    return first


def due_date(person: Person, calendar: Calendar, working_days: int) -> date:
    assert person.registered is not None
    return calendar.due_date(local_date(person.registered), working_days)


def status_on(due: date, as_of: date, calendar: Calendar, due_soon: int | None) -> str | None:
    """overdue, due_soon or None (not listed) for an unanswered person due on `due`."""
    if as_of > due:
        return OVERDUE
    if due_soon is not None and calendar.working_days_between(as_of, due) <= due_soon:
        return DUE_SOON
    return None


def card_link(web_url: str | None, person_id: int) -> str | None:
    """The SoProtocol link that opens the person's card in SuperOffice's web client (contract
    section 8): `{web_url}?person.main?person_id=N`; None without `[superoffice] web_url`."""
    if not web_url:
        return None
    return f"{web_url}?person.main?person_id={person_id}"


def overdue_item(
    person: Person,
    *,
    due: date,
    status: str,
    kommuner: tuple[str, ...],
    preferred: str | None,
    as_of: date,
    calendar: Calendar,
    web_url: str | None = None,
) -> OverdueItem:
    """The list line of an unanswered person whose answer was (or is soon) due on `due`."""
    assert person.registered is not None
    return OverdueItem(
        person_id=person.person_id,
        name=person.name,
        kommuner=kommuner,
        registered=local_date(person.registered),
        due=due,
        working_days_overdue=calendar.working_days_overdue(due, as_of),
        status=status,
        email=person.email,
        phone=person.phone,
        preferred_contact=preferred,
        our_contact=person.our_contact,
        link=card_link(web_url, person.person_id),
    )


def sort_key(item: OverdueItem) -> tuple[int, date, date, int]:
    """Most overdue first; then the longest waiting, then by id so the order is stable."""
    return (-item.working_days_overdue, item.due, item.registered, item.person_id)


# ---------------------------------------------------------------- reading and combining


@dataclass(frozen=True)
class Older:
    """An unanswered (and past due) registration before `since`: counted, not listed."""

    person_id: int
    registered: date
    kommuner: tuple[str, ...] = ()  # filled only when asked (notify cuts the count per list)


@dataclass(frozen=True)
class OverdueList:
    """The list, and the unanswered registrations before `since` it leaves out."""

    items: list[OverdueItem]
    since: date
    left_out: tuple[Older, ...] = ()

    @property
    def older(self) -> int:
        return len(self.left_out)

    @property
    def earliest(self) -> date | None:
        """The registration date of the longest waiting of those left out."""
        return min((o.registered for o in self.left_out), default=None)


def scope_filter(register: Register, scope: Scope) -> str | None:
    if scope.kommun is not None:
        return register.kommun_filter(scope.kommun)
    if scope.region:
        return register.region_filter()
    return None


def responsible(person: Person, scope: Scope) -> bool:
    """Whether `scope` asks for this person's responsible user (our contact), or for anyone."""
    if scope.our_contact is None:
        return True
    return (person.our_contact or "").strip().casefold() == scope.our_contact.strip().casefold()


def waiting_persons(register: Register, scope: Scope) -> dict[int, Person]:
    """Persons of the scope registered by the end of as-of who wait for a first response.
    The scope's persons and those who asked for no guidance are independent questions: asked
    at once."""
    ours = None if scope.associate_id is None else register.our_contact_filter(scope.associate_id)
    found, no_guidance = together(
        register.workers,
        lambda: list(
            register.registrations(
                scope_filter(register, scope), ours, contact=scope.our_contact is not None
            )
        ),
        lambda: no_guidance_ids(register),
    )
    return {
        p.person_id: p for p in found if responsible(p, scope) and p.person_id not in no_guidance
    }


def response_activities(
    register: Register, persons: Mapping[int, Person], rule: Rule
) -> Iterable[Activity]:
    """Candidate responses: activities of these persons, in id chunks. Nothing registered
    before the earliest registration can be a response, so the server need not send it."""
    earliest = min(p.registered for p in persons.values() if p.registered is not None)
    # The server compares UTC date parts, and a Stockholm date is at most a day ahead of UTC.
    not_before = f.after("registeredDate", earliest.date() - timedelta(days=1))
    return register.activities(persons.keys(), rule.kinds, not_before)


def answered_persons(
    register: Register, persons: Mapping[int, Person], rule: Rule
) -> dict[int, datetime]:
    """The first-response rule over the register: when each of `persons` who has had a first
    response got it. The overdue list and the quarterly report both ask this question here."""
    if not persons:
        return {}
    return first_responses(persons, response_activities(register, persons, rule), rule)


def registered_on_or_after(person: Person, first: date) -> bool:
    return person.registered is not None and local_date(person.registered) >= first


def overdue_list(
    register: Register,
    scope: Scope,
    rule: Rule,
    calendar: Calendar,
    *,
    due_soon: int | None = None,
    older_kommuner: bool = False,
) -> OverdueList:
    """The overdue list (and due-soon, when asked) of the scope, most overdue first, with the
    unanswered registrations before the rule's first day: nobody drops off silently.
    `older_kommuner` also reads the municipalities of those (for a count per list)."""
    as_of = register.as_of
    first = rule.first_day(as_of)
    persons = waiting_persons(register, scope)
    recent = {pid: p for pid, p in persons.items() if registered_on_or_after(p, first)}
    # Who has been answered, and the municipalities and channels of those who may be listed
    # (everyone waiting since the first day, a superset of the unanswered), do not depend on
    # each other: asked at once.
    answered, details = together(
        register.workers,
        lambda: answered_persons(register, persons, rule),
        lambda: line_details(register, scope, recent),
    )
    log.info("overdue: %d of %d persons have had a first response", len(answered), len(persons))
    waiting = {pid: p for pid, p in persons.items() if pid not in answered}
    listed = {pid: p for pid, p in waiting.items() if pid in recent}
    older = {
        pid: local_date(p.registered)
        for pid, p in waiting.items()
        if p.registered is not None
        and pid not in recent
        and status_on(due_date(p, calendar, rule.working_days), as_of, calendar, None)
    }
    log.info("overdue: %d unanswered since %s, %d before", len(listed), first, len(older))
    items = item_list(register, listed, details, rule, calendar, due_soon)
    kommuner = {}
    if older_kommuner and not scope.region:
        kommuner = register.memberships_of(older)
    left_out = tuple(Older(pid, day, kommuner.get(pid, ())) for pid, day in sorted(older.items()))
    return OverdueList(items, first, left_out)


@dataclass(frozen=True)
class LineDetails:
    """What a list line shows besides the person: municipalities and preferred channel."""

    memberships: Mapping[int, tuple[str, ...]]
    preferred: Mapping[int, str]


def line_details(register: Register, scope: Scope, persons: Mapping[int, Person]) -> LineDetails:
    """Municipalities (none for the region's list) and preferred channels of `persons`, read by
    scanning the window of their registrations, side by side."""
    if not persons:
        return LineDetails({}, {})
    first = min(local_date(p.registered) for p in persons.values() if p.registered)
    window = register.registered_between(first, register.as_of)
    narrow = scope_filter(register, scope)
    # Only these persons are wanted: the scans can start at the first of them instead of
    # walking the whole register's older ids (a key range the server can seek).
    from_first = f.gt("personId", min(persons) - 1)
    memberships, preferred = together(
        register.workers,
        lambda: {} if scope.region else register.memberships(window, narrow, from_first),
        lambda: register.preferred_contacts(window, narrow, from_first),
    )
    return LineDetails(memberships, preferred)


def item_list(
    register: Register,
    persons: Mapping[int, Person],
    details: LineDetails,
    rule: Rule,
    calendar: Calendar,
    due_soon: int | None,
) -> list[OverdueItem]:
    """The lines of the unanswered `persons` that are due (or due soon), most overdue first;
    the names and addresses are read for those only."""
    judged: dict[int, tuple[date, str]] = {}
    for pid, person in persons.items():
        due = due_date(person, calendar, rule.working_days)
        status = status_on(due, register.as_of, calendar, due_soon)
        if status is not None:
            judged[pid] = (due, status)
    listed = register.with_details({pid: persons[pid] for pid in judged})
    items = [
        overdue_item(
            person,
            due=judged[pid][0],
            status=judged[pid][1],
            kommuner=details.memberships.get(pid, ()),
            preferred=details.preferred.get(pid),
            as_of=register.as_of,
            calendar=calendar,
            web_url=register.config.superoffice.web_url,
        )
        for pid, person in listed.items()
    ]
    return sorted(items, key=sort_key)
