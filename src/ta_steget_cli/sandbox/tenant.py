"""The sandbox tenant: its persons and activities, its login state, faults and request stats."""

from __future__ import annotations

import random
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from operator import attrgetter
from typing import Any

from . import ids
from .auth import KeyPair, fresh_ticket, keys_for
from .faults import Faults
from .generate import SCENARIO_MIN_PERSONS, STOCKHOLM, Generator
from .oidc import OidcProvider
from .query import Query
from .realism import Realism
from .records import (
    ACTIVITY_KINDS,
    GUIDES,
    USERS,
    Activity,
    Invitation,
    Person,
    User,
    activity_line,
    person_line,
    to_seconds,
)

Clock = Callable[[], datetime]
Recorder = Callable[[dict[str, Any]], None]


def real_clock() -> datetime:
    return datetime.now(UTC)


class SandboxTenant:
    """A SuperOffice tenant in memory, with deterministic made-up data.

    `persons` random persons (plus scenario persons when at least 200) laid out relative to
    `today` (default: today in Europe/Stockholm by `clock`). `clock` gives the time used for
    UpdatedDate, deletes, tickets and JWTs.
    """

    def __init__(
        self,
        persons: int = 3000,
        seed: int = 1,
        today: date | None = None,
        latency: float = 0.0,
        clock: Clock | None = None,
        realism: Realism | None = None,
    ) -> None:
        self.seed = seed
        # How it answers where SuperOffice is strange or undocumented (see realism.py).
        self.realism = realism or Realism()
        # Follow-ups a person is invited to, by the invited person's id.
        self.invitations: dict[int, list[Activity]] = {}
        self.clock: Clock = clock or real_clock
        self.today = today or self.clock().astimezone(STOCKHOLM).date()
        self.latency = latency
        # (least, most): each API answer waits a time drawn between them instead (benchmarks
        # of a tenant whose answers vary, as SuperOffice Online's do).
        self.latency_spread: tuple[float, float] | None = None
        self._latency_draws = random.Random(seed)
        self.state = "Running"
        self.retention_days = ids.RETENTION_DAYS
        self.timeout_sleep = 2.0
        self.trickle_seconds = 1.0  # between two bytes of a `trickle` fault's answer
        self.faults = Faults()
        self.requests: list[tuple[str, str, int]] = []
        # When each request arrived (time.monotonic()), and the most answered at once: what
        # SuperOffice's rate limit would see of a client.
        self.arrivals: list[float] = []
        self.busy = 0
        self.most_busy = 0
        self.authentications = 0
        self.valid_tickets: set[str] = {ids.TICKET}
        self.oidc = OidcProvider()
        self.lock = threading.RLock()
        self.last_archive_answer: bytes | None = None
        self._tickets_issued = 0
        self._persons: list[Person] = []  # sorted by id
        self._ids: list[int] = []
        self._by_id: dict[int, Person] = {}
        self._next_activity_id = 1
        self._populate(persons)
        # Told of every change once populated (sandbox/store.py keeps --sandbox's state with it).
        self.recorder: Recorder | None = None

    # ---------------------------------------------------------------- building

    def _populate(self, count: int) -> None:
        if count <= 0:
            return
        generator = Generator(self.seed, self.today)
        people = generator.random_persons(count)
        if count >= SCENARIO_MIN_PERSONS:
            people += generator.scenario_persons()
        people.sort(key=attrgetter("registered"))
        gaps = random.Random(self.seed * 7919 + 1)
        next_id = 1000
        for person in people:
            next_id += gaps.choice((1, 1, 1, 2, 3))
            self._insert(person, next_id)
            person.activities.sort(key=attrgetter("registered"))
            for activity in person.activities:
                activity.id = self._next_activity_id
                self._next_activity_id += 1
        self._invite_some()

    def _invite_some(self) -> None:
        """Every seventh follow-up has another person invited to it (the next one registered),
        so that a tenant answering rows of invited participants shows some."""
        for number, person in enumerate(self._persons[:-1]):
            guest = self._persons[number + 1]
            for activity in person.activities:
                if activity.kind == "appointment" and activity.id % 7 == 0:
                    self.invitations.setdefault(guest.id, []).append(activity)

    def _insert(self, person: Person, person_id: int) -> None:
        person.id = person_id
        self._persons.append(person)
        self._ids.append(person_id)
        self._by_id[person_id] = person

    def add_person(
        self,
        first: str,
        last: str,
        *,
        registered: datetime,
        kommuner: Iterable[str] = (),
        email: str | None = None,
        phone: str | None = None,
        landline: str | None = None,
        emarketing: str | None = None,
        interests: Iterable[int] = (),
        status: str | None = None,
        moved_to: str | None = None,
        move_date: date | None = None,
        preferred: str | None = None,
        our_contact: str | None = None,
        updated: datetime | None = None,
        form: int | None = None,
        no_mail: bool = False,
    ) -> int:
        """Add one person for a test's exact scenario; returns its id (ids only increase).

        `phone` is the mobile number; `status`, `preferred` are keys of ids.MOVE_STATUS_VALUES and
        ids.PREFERRED_CONTACT_VALUES; `moved_to` and `kommuner` are municipality names;
        `our_contact` a move guide's login (e.g. "ANLA"); `emarketing` None, "active", "withdrawn".
        """
        person = Person(first, last, to_seconds(registered))
        person.email, person.mobile, person.phone = email, phone, landline
        person.interests = tuple(sorted({*(ids.KOMMUN_INTERESTS[k] for k in kommuner), *interests}))
        if emarketing not in (None, "active", "withdrawn"):
            raise ValueError(
                f"emarketing must be None, 'active' or 'withdrawn', not {emarketing!r}"
            )
        person.consent = emarketing
        person.status = ids.MOVE_STATUS_VALUES[status] if status else None
        person.moved_to = ids.MOVED_TO_VALUES[moved_to] if moved_to else None
        person.move_date = move_date
        person.preferred = ids.PREFERRED_CONTACT_VALUES[preferred] if preferred else None
        person.associate = self._associate(our_contact) if our_contact else None
        person.updated = to_seconds(updated) if updated else person.registered
        person.form = form
        person.no_mail = no_mail
        with self.lock:
            self._insert(person, (self._ids[-1] if self._ids else 1000) + 1)
        return person.id

    def add_activity(
        self,
        person_id: int,
        kind: str,
        *,
        date: datetime,
        registered: datetime | None = None,
        registered_by: tuple[str, str] = ("ANLA", "Anna Lind"),
        completed: bool = True,
        invited: Iterable[int] = (),
    ) -> int:
        """Add an activity to a person; `registered` defaults to `date`; `invited` are ids of
        other persons invited to it. Returns its id."""
        if kind not in ACTIVITY_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ACTIVITY_KINDS)}, not {kind!r}")
        person = self._by_id[person_id]
        moment = to_seconds(date)
        stamp = to_seconds(registered) if registered else moment
        activity = Activity(person, kind, moment, stamp, self._user(registered_by), completed)
        with self.lock:
            activity.id = self._next_activity_id
            self._next_activity_id += 1
            person.activities.append(activity)
            for guest in invited:
                self.invitations.setdefault(guest, []).append(activity)
            self._record_activity(activity)
        return activity.id

    def respond(
        self, person_id: int, kind: str = "appointment", login: str | None = None, at: int = 0
    ) -> int:
        """A move guide registers a first response, as in SuperOffice: an activity on the person,
        dated and registered at `at` (epoch seconds; 0: now), by `login` (default: a guide of the
        person's first municipality, or of the region). Returns the activity's id."""
        person = self.live_person(person_id)
        if person is None:
            raise KeyError(person_id)
        if kind not in ("appointment", "document", "chat"):
            raise ValueError(f"kind must be appointment, document or chat, not {kind!r}")
        area = person.kommuner[0] if person.kommuner else "region"
        if login is None:
            guide = next(g for g in ids.MOVE_GUIDES if g[3] == area)
            login = guide[1]
        user = next((u for u in GUIDES.values() if u[1].casefold() == login.casefold()), None)
        if user is None:
            raise LookupError(login)
        moment = max(at or self.now_seconds(), person.registered + 60)
        when = datetime.fromtimestamp(moment, UTC)
        return self.add_activity(person_id, kind, date=when, registered_by=(user[1], user[2]))

    def next_activity_id_after(self, activity_id: int) -> None:
        self._next_activity_id = max(self._next_activity_id, activity_id + 1)

    def _record_person(self, person: Person) -> None:
        if self.recorder is not None:
            self.recorder(person_line(person))

    def _record_activity(self, activity: Activity) -> None:
        if self.recorder is not None:
            self.recorder(activity_line(activity))

    def _associate(self, login: str) -> int:
        for user in USERS.values():
            if login in (user[1], user[2]):
                return user[0]
        raise ValueError(f"no sandbox user {login!r}; move guides: {_guide_logins()}")

    def _user(self, registered_by: tuple[str, str]) -> User:
        login, full_name = registered_by
        for user in USERS.values():
            if user[1] == login:
                return user
        return (900 + sum(map(ord, login)) % 99, login, full_name)  # an ad-hoc user

    # ---------------------------------------------------------------- reading

    def person(self, person_id: int) -> Person:
        """The stored person, deleted or not (KeyError if it never existed)."""
        return self._by_id[person_id]

    def live_person(self, person_id: int) -> Person | None:
        person = self._by_id.get(person_id)
        return person if person is not None and person.deleted_at is None else None

    def persons(self) -> Iterator[Person]:
        """Every person not in the recycle bin, by id."""
        return (p for p in self._persons if p.deleted_at is None)

    def __len__(self) -> int:
        return sum(1 for _ in self.persons())

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def now_seconds(self) -> int:
        return int(self.now().timestamp())

    @property
    def keys(self) -> KeyPair:
        return keys_for(self.seed)

    @property
    def app_private_key_pem(self) -> bytes:
        """The private key of "the app": write it to a file as TASTEGET_PRIVATE_KEY_FILE."""
        return self.keys.app_private_pem

    # ---------------------------------------------------------------- archive

    def run(self, query: Query) -> list[Any]:
        """The rows of an archive query, after $skip and $top."""
        rows = self._candidates(query)
        if query.natural:
            end = None if query.top is None else query.skip + query.top
            return list(islice(rows, query.skip, end))
        found = list(rows)
        for column, descending in reversed(query.order):
            found.sort(key=column.sort_key(), reverse=descending)
        end = None if query.top is None else query.skip + query.top
        return found[query.skip : end]

    def _candidates(self, query: Query) -> Iterator[Any]:
        persons = self._scope(query)
        keep = query.predicate
        if query.provider == "Person":
            live = (p for p in persons if p.deleted_at is None)
            return live if keep is None else filter(keep, live)
        kinds = query.entities
        everything = len(kinds) == len(ACTIVITY_KINDS)
        rows: Iterator[Any] = (
            a
            for p in persons
            if p.deleted_at is None
            for a in self._activities_of(p)
            if everything or a.kind in kinds
        )
        return rows if keep is None else filter(keep, rows)

    def _activities_of(self, person: Person) -> Iterable[Any]:
        if not self.realism.invited_participants or person.id not in self.invitations:
            return person.activities
        invited = [
            Invitation(a, person)
            for a in self.invitations[person.id]
            if a.person.deleted_at is None
        ]
        return [*person.activities, *invited]

    def _scope(self, query: Query) -> Iterable[Person]:
        """The persons a query can touch: all, from a key on, or a given few."""
        if query.only_ids is not None:
            chosen = sorted(
                i for i in query.only_ids if query.after_id is None or i > query.after_id
            )
            return [self._by_id[i] for i in chosen if i in self._by_id]
        start = 0 if query.after_id is None else bisect_right(self._ids, query.after_id)
        end = len(self._ids) if query.before_id is None else bisect_left(self._ids, query.before_id)
        if query.backwards:
            return (self._persons[i] for i in range(end - 1, start - 1, -1))
        return islice(self._persons, start, end)

    # ---------------------------------------------------------------- writing

    def touch(self, person: Person) -> None:
        """UpdatedDate = now, and strictly later than before so every write is visible."""
        person.updated = max(self.now_seconds(), person.updated + 1)
        self._record_person(person)

    def delete(self, person: Person) -> None:
        person.deleted_at = self.now_seconds()
        self._record_person(person)

    def undelete(self, person_id: int) -> bool:
        person = self._by_id.get(person_id)
        if person is None or person.deleted_at is None:
            return False
        if self.now_seconds() - person.deleted_at > self.retention_days * 86_400:
            return False
        person.deleted_at = None
        self._record_person(person)
        return True

    # ---------------------------------------------------------------- login and stats

    def expire_ticket(self) -> None:
        """Every ticket handed out so far stops working; the next Authenticate gives a new one."""
        self.valid_tickets.clear()

    def issue_ticket(self) -> str:
        if ids.TICKET in self.valid_tickets:
            return ids.TICKET
        if not self.valid_tickets:
            self._tickets_issued += 1
            self.valid_tickets.add(fresh_ticket(self._tickets_issued))
        return sorted(self.valid_tickets)[0]

    def answer_delay(self) -> float:
        """Seconds the next API answer waits: the latency, or a draw from the spread."""
        if self.latency_spread is None:
            return self.latency
        least, most = self.latency_spread
        with self.lock:
            return self._latency_draws.uniform(least, most)

    def reset_stats(self) -> None:
        self.requests.clear()
        self.arrivals.clear()
        self.most_busy = 0
        self.authentications = 0

    def guides(self) -> dict[int, User]:
        return dict(GUIDES)


def _guide_logins() -> str:
    return ", ".join(g[1] for g in ids.MOVE_GUIDES)
