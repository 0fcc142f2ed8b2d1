"""Plain dataclasses that flow between the register, the services and the output."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Person:
    """A row of the Person archive, in domain terms. Datetimes are timezone-aware UTC."""

    person_id: int
    name: str
    registered: datetime | None
    email: str | None = None
    phone: str | None = None
    our_contact: str | None = None
    updated: datetime | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """A row of the PersonActivity archive. `kind` is the $entities name of its row."""

    person_id: int
    kind: str
    date: datetime | None
    registered: datetime | None
    registered_by: str
    registered_by_full_name: str


@dataclass(frozen=True, slots=True)
class OverdueItem:
    """One line of the overdue list (spec: `tasteget overdue`)."""

    person_id: int
    name: str
    kommuner: tuple[str, ...]
    registered: date
    due: date
    working_days_overdue: int
    status: str  # "overdue" | "due_soon"
    email: str | None
    phone: str | None
    preferred_contact: str | None  # "phone" | "email" | None
    our_contact: str | None
    link: str | None = None  # the person's card in SuperOffice's web client


@dataclass(frozen=True, slots=True)
class PurgeCandidate:
    """One person the yearly purge would remove."""

    person_id: int
    name: str
    registered: date | None
    last_activity: date | None
    kommuner: tuple[str, ...] = field(default=())


# A refreshed token is fetched this long before the old one runs out, so that a call that
# starts just before the expiry is not sent with a token that dies on the way.
EXPIRY_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Identity:
    """Who signed in, from the id_token's claims. Not secret: kept beside the keyring entry."""

    tenant: str
    webapi_url: str
    associate_id: int | None
    is_administrator: bool
    email: str | None


@dataclass(frozen=True)
class Session:
    """What a login leaves: the tokens (secrets, for the keyring) and the identity."""

    access_token: str
    expires_at: float  # epoch seconds
    refresh_token: str
    identity: Identity

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - EXPIRY_MARGIN_SECONDS
