"""The sandbox's stored records. Slotted classes, since a benchmark tenant holds a million of them.

Times are int seconds since the epoch (UTC): cheap to store, to compare and to cut to a date part.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from . import ids

User = tuple[int, str, str]  # (associate id, login, full name)

FORM: User = (ids.FORM_ASSOCIATE_ID, *ids.FORM_USER)
MAIL: User = (ids.MAILING_ASSOCIATE_ID, *ids.MAILING_USER)
SYSTEM: User = (ids.SYSTEM_ASSOCIATE_ID, *ids.SYSTEM_USER)
GUIDES: dict[int, User] = {g[0]: (g[0], g[1], g[2]) for g in ids.MOVE_GUIDES}
USERS: dict[int, User] = {u[0]: u for u in (FORM, MAIL, SYSTEM, *GUIDES.values())}

ACTIVITY_KINDS: tuple[str, ...] = ("appointment", "document", "chat", "formSubmission", "mailing")
NEVER = "0001-01-01T00:00:00"
_EPOCH_DAY = date(1970, 1, 1).toordinal()


class Person:
    __slots__ = (
        "activities",
        "associate",
        "consent",
        "consent_at",
        "deleted_at",
        "email",
        "first",
        "form",
        "id",
        "interests",
        "last",
        "mobile",
        "move_date",
        "moved_to",
        "no_mail",
        "phone",
        "preferred",
        "registered",
        "status",
        "updated",
    )

    def __init__(self, first: str, last: str, registered: int) -> None:
        self.id = 0
        self.first = first
        self.last = last
        self.registered = registered
        self.updated = registered
        self.email: str | None = None
        self.mobile: str | None = None
        self.phone: str | None = None
        self.form: int | None = None
        self.associate: int | None = None
        self.interests: tuple[int, ...] = ()
        self.status: int | None = None
        self.moved_to: int | None = None
        self.move_date: date | None = None
        self.preferred: int | None = None
        self.consent: str | None = None  # None | "active" | "withdrawn"
        self.consent_at = registered
        self.no_mail = False
        self.deleted_at: int | None = None
        self.activities: list[Activity] = []

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def kommuner(self) -> tuple[str, ...]:
        return tuple(k for k, i in ids.KOMMUN_INTERESTS.items() if i in self.interests)

    def __repr__(self) -> str:
        return f"Person({self.id}, {self.full_name!r}, registered={iso(self.registered)})"


class Activity:
    __slots__ = ("completed", "date", "id", "kind", "person", "registered", "user")

    def __init__(
        self, person: Person, kind: str, when: int, registered: int, user: User, completed: bool
    ) -> None:
        self.id = 0
        self.person = person
        self.kind = kind
        self.date = when
        self.registered = registered
        self.user = user
        self.completed = completed

    @property
    def guest(self) -> Person:
        """The person a `personId` restriction matches this row by: its own person here, an
        invited participant on an `Invitation`."""
        return self.person

    def __repr__(self) -> str:
        return f"Activity({self.id}, {self.kind}, person={self.person.id}, date={iso(self.date)})"


class Invitation:
    """A follow-up seen from a participant invited to it: the row is the owner's activity (its
    `person/personId` is the owner), found by a restriction on the participant's id."""

    __slots__ = ("activity", "guest")

    def __init__(self, activity: Activity, guest: Person) -> None:
        self.activity = activity
        self.guest = guest

    def __getattr__(self, name: str) -> object:
        return getattr(self.activity, name)


def iso(seconds: int | None) -> str:
    """SuperOffice's datetime text: UTC, no offset; never set is year 1."""
    if seconds is None:
        return NEVER
    # Hand-rolled and cached per day: strftime dominated the time of a 1000-row page.
    day, rest = divmod(seconds, 86_400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day_text(day)}T{hour:02d}:{minute:02d}:{second:02d}"


@lru_cache(maxsize=8192)
def _day_text(day: int) -> str:
    return date.fromordinal(_EPOCH_DAY + day).isoformat()


def to_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; the sandbox needs aware datetimes")
    return int(moment.timestamp())


def day_number(day: date) -> int:
    """Days since 1970-01-01, the unit the filters compare date parts in."""
    return day.toordinal() - _EPOCH_DAY


def from_seconds(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# ---------------------------------------------------------------- lines of --sandbox's state file

PERSON_FIELDS = tuple(s for s in Person.__slots__ if s not in ("activities", "id"))


def encode(value: Any) -> Any:
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, tuple):
        return list(value)
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"date"}:
        return date.fromisoformat(value["date"])
    if isinstance(value, list):
        return tuple(value)
    return value


def person_line(person: Person) -> dict[str, Any]:
    return {
        "person": person.id,
        "fields": {name: encode(getattr(person, name)) for name in PERSON_FIELDS},
    }


def activity_line(activity: Activity) -> dict[str, Any]:
    return {
        "activity": activity.id,
        "person": activity.person.id,
        "kind": activity.kind,
        "date": activity.date,
        "registered": activity.registered,
        "user": list(activity.user),
        "completed": activity.completed,
    }
