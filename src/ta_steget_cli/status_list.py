"""Move status, read: a municipality's (or the region's) contacts with their move status,
moved-to, move date, municipalities and last activity, for `status list` and the yearly review.

Reading goes through the register: every column is read by filtering on list item ids, never by
parsing display texts, and the columns of an area are asked at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .config import fold_name
from .models import Activity, Person
from .move_status import status_key
from .parallel import in_order, together
from .register import PERSON_COLUMNS, Register
from .workdays import local_date

# What `status list` shows of a person (and the responsible user, for `--our-contact` by name):
# no addresses or phones, which only the review shows.
LIST_COLUMNS = ("personId", "fullName", "personRegisteredDate", "personAssociateId")


@dataclass(frozen=True, slots=True)
class StatusItem:
    """One line of `status list`."""

    person_id: int
    name: str
    status: str | None
    moved_to: str | None
    move_date: date | None
    registered: date | None
    kommuner: tuple[str, ...]
    last_activity: date | None


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One person of `status review`: the list line and how to reach them."""

    item: StatusItem
    email: str | None
    phone: str | None
    preferred_contact: str | None
    our_contact: str | None


@dataclass(frozen=True, slots=True)
class ContactFilter:
    """`--our-contact`: the user's name as SuperOffice shows it, or their associate id (me)."""

    name: str | None = None
    associate_id: int | None = None


def list_statuses(
    register: Register, *, kommun: str | None, status: str | None = None
) -> list[StatusItem]:
    """The contacts of `kommun` (None: the region, persons with no municipality), by id."""
    return [r.item for r in review_items(register, kommun=kommun, status=status, details=False)]


def review_items(
    register: Register,
    *,
    kommun: str | None,
    status: str | None = None,
    contact: ContactFilter | None = None,
    details: bool = True,
) -> list[ReviewItem]:
    """The contacts with their move status, moved-to and move date, by id; with `details`,
    also their preferred channel. `contact` keeps those whose "our contact" is that user."""
    config = register.config
    ms = config.move_status
    as_of = register.as_of
    area = register.kommun_filter(kommun) if kommun else register.region_filter()
    wanted = register.status_filter(status_key(config, status)) if status else None
    ours = None
    if contact is not None and contact.associate_id is not None:
        ours = register.our_contact_filter(contact.associate_id)

    def contacts() -> tuple[list[Person], dict[int, date]]:
        columns = PERSON_COLUMNS if details else LIST_COLUMNS
        rows = register.persons(area, wanted, ours, columns=columns)
        found = [p for p in rows if is_ours(p.our_contact, contact)]
        ids = [p.person_id for p in found]
        return found, last_activities(register.activities(ids, config.purge.activity_kinds), as_of)

    # Only the last activities need the contacts' ids; every other column is its own scan of
    # the same area: all asked at once.
    (persons, last), statuses, moved_to, dates, (preferred, others) = together(
        register.workers,
        contacts,
        lambda: register.move_statuses(area, wanted),
        lambda: register.list_values(ms.moved_to_field, ms.moved_to_values, area, wanted),
        lambda: register.move_records(area, wanted) if ms.move_date_field else {},
        lambda: together(
            register.workers,
            lambda: register.preferred_contacts(area, wanted) if details else {},
            lambda: other_memberships(register, kommun, wanted) if kommun else {},
        ),
    )
    order = list(config.kommuner)
    kommuner = {
        p.person_id: tuple(sorted({kommun, *others.get(p.person_id, ())}, key=order.index))
        for p in persons
        if kommun
    }
    out = []
    for p in sorted(persons, key=lambda p: p.person_id):
        record = dates.get(p.person_id)
        item = StatusItem(
            person_id=p.person_id,
            name=p.name,
            status=statuses.get(p.person_id),
            moved_to=moved_to.get(p.person_id),
            move_date=record.move_date if record else None,
            registered=local_date(p.registered) if p.registered else None,
            kommuner=kommuner.get(p.person_id, ()),
            last_activity=last.get(p.person_id),
        )
        out.append(ReviewItem(item, p.email, p.phone, preferred.get(p.person_id), p.our_contact))
    return out


def is_ours(our_contact: str | None, contact: ContactFilter | None) -> bool:
    """Whether a person's "our contact" (SuperOffice shows the user's name) is the one asked
    for by name (any case, å/ä/ö or not); by id the archive has filtered already."""
    if contact is None or contact.name is None:
        return True
    return our_contact is not None and fold_name(our_contact) == fold_name(contact.name)


def other_memberships(
    register: Register, kommun: str, *conditions: str | None
) -> dict[int, set[str]]:
    """The other municipalities `kommun`'s contacts ticked. Everyone is in `kommun` already, so
    only the other seven are asked (each scan narrowed to `kommun`, side by side): one scan of
    the largest set saved."""
    area = register.kommun_filter(kommun)
    names = [other for other in register.config.kommuner if other != kommun]

    def members(other: str) -> set[int]:
        return register.person_ids(register.kommun_filter(other), area, *conditions)

    others: dict[int, set[str]] = {}
    for other, ids in zip(names, in_order(members, names, register.workers), strict=True):
        for pid in ids:
            others.setdefault(pid, set()).add(other)
    return others


def last_activities(activities: Iterable[Activity], as_of: date) -> dict[int, date]:
    """Each person's latest activity day (Stockholm) up to as_of. A follow-up planned for a
    later day counts on the day it was registered: it has not happened yet."""
    last: dict[int, date] = {}
    for activity in activities:
        day = activity_day(activity, as_of)
        if day is not None and day > last.get(activity.person_id, date.min):
            last[activity.person_id] = day
    return last


def activity_day(activity: Activity, as_of: date) -> date | None:
    if activity.date is not None and local_date(activity.date) <= as_of:
        return local_date(activity.date)
    return local_date(activity.registered) if activity.registered is not None else None
