"""Reads the shared register in domain terms: which archive columns and filters answer which
question, and how rows become `Person` and `Activity` objects.

Every question is answered with keyset-paged scans or id-chunked queries, so the number of
requests grows with pages, never with persons. Slim list columns are display texts, so
membership (municipality, move status, preferred contact) is always read by filtering on ids.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from . import filters as f
from . import move_status
from .config import Config
from .models import Activity, Person
from .parallel import in_order
from .superoffice.values import parse_datetime
from .workdays import local_date

PERSON_COLUMNS = (
    "personId",
    "fullName",
    "personRegisteredDate",
    "personUpdatedDate",
    "email/emailAddress",
    "personMobilePhone/formattedNumber",
    "phone/formattedNumber",
    "personAssociateId",
)
REGISTRATION_COLUMNS = ("personId", "personRegisteredDate")
ACTIVITY_COLUMNS = (
    "person/personId",
    "date",
    "registeredDate",
    "registeredBy",
    "registeredByFullName",
)
FILL = 0.9  # the share of a page an activity chunk aims at (see Register.activities)


class ArchiveSource(Protocol):
    """What the register needs of the SuperOffice client: keyset-paged scans, id-chunked
    lookups and the page size they use. Services are tested on in-memory sources through it."""

    @property
    def page_size(self) -> int:
        """Rows per archive page (what an activity chunk is sized against)."""
        ...

    def scan(
        self,
        provider: str,
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        key: str = "personId",
    ) -> Iterator[dict[str, Any]]: ...

    def by_ids(
        self,
        provider: str,
        ids: Iterable[int],
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        id_column: str = "personId",
        chunk_size: int | None = None,
    ) -> Iterator[dict[str, Any]]: ...

    def mdo_list(self, name: str) -> list[dict[str, Any]]: ...


def parse_utc(value: Any) -> datetime | None:
    """A SuperOffice datetime (UTC, no offset) as an aware datetime; unset dates are None."""
    if not isinstance(value, str):
        return None
    return parse_datetime(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int:
    return int(value)


def _item_ids(items: Iterable[Any]) -> Iterator[int]:
    """Ids of MDO list items, headings' ChildItems included (a list can be grouped)."""
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if isinstance(item.get("Id"), int) and item["Id"] > 0:
            yield item["Id"]
        yield from _item_ids(item.get("ChildItems") or ())


def person_from_row(row: Mapping[str, Any]) -> Person:
    return Person(
        person_id=_int(row.get("personId", row.get("PrimaryKey"))),
        name=_text(row.get("fullName")) or "",
        registered=parse_utc(row.get("personRegisteredDate")),
        email=_text(row.get("email/emailAddress")),
        phone=_text(row.get("personMobilePhone/formattedNumber"))
        or _text(row.get("phone/formattedNumber")),
        our_contact=_text(row.get("personAssociateId")),
        updated=parse_utc(row.get("personUpdatedDate")),
    )


def activity_from_row(row: Mapping[str, Any]) -> Activity:
    return Activity(
        person_id=_int(row["person/personId"]),
        kind=str(row.get("EntityName") or ""),
        date=parse_utc(row.get("date")),
        registered=parse_utc(row.get("registeredDate")),
        registered_by=str(row.get("registeredBy") or ""),
        registered_by_full_name=str(row.get("registeredByFullName") or ""),
    )


@dataclass(frozen=True, slots=True)
class MoveRecord:
    """What the report needs of a moved person: when they moved and when the record changed."""

    move_date: date | None
    updated: datetime | None


@dataclass(frozen=True)
class Register:
    """The register as it stood at the end of `as_of` (Europe/Stockholm)."""

    source: ArchiveSource
    config: Config
    as_of: date

    # ------------------------------------------------------------ filters

    def registered_by_as_of(self) -> str:
        # The server compares UTC date parts; a Stockholm date is never before the UTC date,
        # so this keeps everyone registered by the end of as_of (and a few hours more, which
        # `known_by_as_of` drops exactly).
        return f.before("personRegisteredDate", self.as_of + timedelta(days=1))

    def registered_between(self, first: date, last: date) -> str:
        """Persons registered (Stockholm date) from `first` to `last`, with a day's margin."""
        return (
            f.all_of(
                f.after("personRegisteredDate", first - timedelta(days=2)),
                f.before("personRegisteredDate", min(last, self.as_of) + timedelta(days=1)),
            )
            or ""
        )

    def kommun_filter(self, kommun: str) -> str:
        return f.one_of("personInterestIds", [self.config.kommuner[kommun]])

    def our_contact_filter(self, associate_id: int) -> str:
        """Persons whose responsible user ("our contact") is this associate (read by id)."""
        return f.equals("personAssociateId", associate_id)

    def region_filter(self) -> str:
        return f.not_one_of("personInterestIds", self.config.kommuner.values())

    def known_by_as_of(self, moment: datetime | None) -> bool:
        return moment is not None and local_date(moment) <= self.as_of

    # ------------------------------------------------------------ persons

    def persons(
        self, *conditions: str | None, columns: Sequence[str] = PERSON_COLUMNS
    ) -> Iterator[Person]:
        """Persons matching all conditions, registered by the end of as_of, with `columns`
        (personId and personRegisteredDate among them); the rest of a Person stays empty."""
        query = f.all_of(self.registered_by_as_of(), *conditions)
        for row in self.source.scan("Person", select=columns, filter=query):
            person = person_from_row(row)
            if self.known_by_as_of(person.registered):
                yield person

    def registrations(self, *conditions: str | None, contact: bool = False) -> Iterator[Person]:
        """Like `persons`, with the id and registration only (and the responsible user with
        `contact`): what a rule over many persons needs. Names and addresses are read for the
        few a list shows (`with_details`), so the register's personal data is neither sent nor
        held for everyone."""
        select = REGISTRATION_COLUMNS + (("personAssociateId",) if contact else ())
        return self.persons(*conditions, columns=select)

    def with_details(self, persons: Mapping[int, Person]) -> dict[int, Person]:
        """The same persons with every column a list shows, read by id; one the archive no
        longer answers (deleted meanwhile) stays as it was."""
        read = {
            person.person_id: person
            for person in map(
                person_from_row, self.source.by_ids("Person", persons, select=PERSON_COLUMNS)
            )
        }
        return {pid: read.get(pid, person) for pid, person in persons.items()}

    def person_ids(self, *conditions: str | None) -> set[int]:
        """Ids only: the cheapest answer to "who matches"."""
        query = f.all_of(self.registered_by_as_of(), *conditions)
        rows = self.source.scan("Person", select=("personId",), filter=query)
        return {_int(row["personId"]) for row in rows}

    def interest_ids(self) -> set[int]:
        """Every interest (persint) id the tenant has, deleted ones too: a person can still
        have a deleted interest ticked."""
        return set(_item_ids(self.source.mdo_list("persint")))

    @property
    def workers(self) -> int:
        """Independent questions asked at once (the client's limiter keeps them in the rate)."""
        return self.config.superoffice.max_in_flight

    def memberships(self, *conditions: str | None) -> dict[int, tuple[str, ...]]:
        """Municipalities of each person matching the conditions (absent: the region)."""
        kommuner = list(self.config.kommuner)

        def members(kommun: str) -> set[int]:
            return self.person_ids(self.kommun_filter(kommun), *conditions)

        out: dict[int, list[str]] = {}
        # One scan per municipality, side by side; added up in the configured order.
        for kommun, ids in zip(kommuner, in_order(members, kommuner, self.workers), strict=True):
            for person_id in ids:
                out.setdefault(person_id, []).append(kommun)
        return {pid: tuple(names) for pid, names in out.items()}

    def memberships_of(self, person_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """Municipalities of the given persons (absent: the region), asked in id chunks: for a
        few persons scattered over the register, cheaper than scanning each municipality."""
        ids = sorted(set(person_ids))
        out: dict[int, list[str]] = {}
        if not ids:
            return {}
        kommuner = list(self.config.kommuner)

        def members(kommun: str) -> list[dict[str, Any]]:
            where = self.kommun_filter(kommun)
            return list(self.source.by_ids("Person", ids, select=("personId",), filter=where))

        for kommun, rows in zip(kommuner, in_order(members, kommuner, self.workers), strict=True):
            for row in rows:
                out.setdefault(_int(row["personId"]), []).append(kommun)
        return {pid: tuple(names) for pid, names in out.items()}

    def list_values(
        self, field: str | None, values: Mapping[str, int], *conditions: str | None
    ) -> dict[int, str]:
        """Which key of `values` each person has in the UDEF list `field`, read by item id."""
        out: dict[int, str] = {}
        if not field:
            return out
        column = f"personUdef/{field}"
        keys = list(values)

        def holders(key: str) -> set[int]:
            return self.person_ids(f.equals(column, values[key]), *conditions)

        for key, ids in zip(keys, in_order(holders, keys, self.workers), strict=True):
            for person_id in ids:
                out[person_id] = key
        return out

    def status_filter(self, key: str) -> str:
        """The archive condition for persons whose move status is `key` (read by item id)."""
        return move_status.archive_condition(self.config.move_status, key)

    def move_statuses(self, *conditions: str | None) -> dict[int, str]:
        ms = self.config.move_status
        return self.list_values(ms.field, ms.values, *conditions)

    def preferred_contacts(self, *conditions: str | None) -> dict[int, str]:
        pc = self.config.preferred_contact
        return self.list_values(pc.field, pc.values, *conditions)

    def subscribers(self, *conditions: str | None) -> set[int]:
        """Newsletter subscribers: active EMARKETING consent, and/or the newsletter interest."""
        ids: set[int] = set()
        if self.config.purge.keep_emarketing_consent:
            consent = f.all_of(
                f.is_set("hasEmarketingConsent", True),
                f.is_set("withdrawnEmarketingConsent", False),
            )
            ids |= self.person_ids(consent, *conditions)
        interest = self.config.purge.newsletter_interest
        if interest:
            ids |= self.person_ids(f.one_of("personInterestIds", [interest]), *conditions)
        return ids

    def move_records(self, *conditions: str | None) -> dict[int, MoveRecord]:
        """Move date (the UDEF date field, when configured) and last update of each person
        matching the conditions. A date field's Slim value is a date, not a display text."""
        field = self.config.move_status.move_date_field
        column = f"personUdef/{field}" if field else None
        select = ("personId", "personUpdatedDate", *((column,) if column else ()))
        from .superoffice.values import decode_date

        query = f.all_of(self.registered_by_as_of(), *conditions)
        out: dict[int, MoveRecord] = {}
        for row in self.source.scan("Person", select=select, filter=query):
            out[_int(row["personId"])] = MoveRecord(
                # A date field holds the date itself (`[DT:08/27/2025 00:00:00.0000000]`, or an
                # ISO midnight): no time zone shift.
                move_date=decode_date(row.get(column)) if column else None,
                updated=parse_utc(row.get("personUpdatedDate")),
            )
        return out

    # ------------------------------------------------------------ activities

    # ------------------------------------------------------------ the purge

    def registered_before(self, day: date) -> str:
        """Persons whose UTC registration date is before `day`: a superset of those whose
        Stockholm date is (Stockholm is never behind UTC), refined by the caller."""
        return f.before("personRegisteredDate", day)

    def activity_on_or_after(self, day: date) -> str:
        """Activities dated or registered on or after `day` (Stockholm), with a day's margin:
        the server compares UTC date parts, which can be a day behind Stockholm's."""
        margin = day - timedelta(days=2)
        return f.any_of(f.after("date", margin), f.after("registeredDate", margin)) or ""

    def count_persons(self) -> int:
        """Every person in the register now (ids only, keyset-paged), for the purge's share."""
        rows = self.source.scan("Person", select=("personId",))
        return sum(1 for _ in rows)

    def activities(
        self,
        person_ids: Iterable[int],
        kinds: Iterable[str],
        *conditions: str | None,
    ) -> Iterator[Activity]:
        """Activities of the given kinds on these persons, registered by the end of as_of.

        Activities have no common key to page by, so they are asked in id chunks. An answer
        that fills a page must be split and asked again (two more requests), so a small first
        chunk learns the rows per person and later chunks aim at FILL of a page: requests stay
        near rows / page_size, never one per person."""
        for _asked, found in self.activity_chunks(sorted(set(person_ids)), kinds, *conditions):
            yield from found

    def activity_chunks(
        self,
        person_ids: Iterable[int],
        kinds: Iterable[str],
        *conditions: str | None,
    ) -> Iterator[tuple[list[int], list[Activity]]]:
        """As `activities`, chunk by chunk: the ids each chunk asked about, with every activity
        of theirs. `person_ids` must be ascending and unique; they are taken only as chunks
        are made, so they may come from a read still under way (the purge asks for the last
        activities of a chunk's leavers while later chunks' recent ones are being read)."""
        kinds = tuple(kinds)
        if not kinds:
            return
        query = f.all_of(f.before("registeredDate", self.as_of + timedelta(days=1)), *conditions)
        seen = _ChunkSizes()

        def read(chunk: list[int]) -> tuple[list[int], list[Activity]]:
            try:
                rows = list(
                    self.source.by_ids(
                        "PersonActivity", chunk, select=ACTIVITY_COLUMNS, filter=query,
                        entities=kinds, chunk_size=len(chunk),
                    )
                )  # fmt: skip
                seen.answered(len(chunk), len(rows))
            finally:
                seen.first_done.set()
            found = (activity_from_row(row) for row in rows)
            return chunk, [a for a in found if self.known_by_as_of(a.registered)]

        # Chunks side by side, each sized by the rows per person seen so far, in the ids' order.
        yield from in_order(read, self._activity_chunks(iter(person_ids), seen), self.workers)

    def _activity_chunks(self, ids: Iterator[int], seen: _ChunkSizes) -> Iterator[list[int]]:
        while True:
            size = seen.next_size(self.source.page_size)  # a capping server can lower it
            chunk = list(itertools.islice(ids, size))
            if not chunk:
                return
            yield chunk

    # ------------------------------------------------------------ status import

    def holding(
        self,
        person_ids: Iterable[int],
        status: str,
        moved_to: str | None = None,
        *,
        with_date: bool = False,
    ) -> dict[int, Any]:
        """Those of `person_ids` whose move status is `status` and, when given, whose moved-to
        is `moved_to` (both read by item id), each with its move date field's archive value
        when `with_date` (a date's Slim value is the date, not a display text), else None.
        Not limited to as_of: an import writes to whoever the tenant has now."""
        ms = self.config.move_status
        where = [self.status_filter(status)]
        if moved_to is not None and ms.moved_to_field:
            where.append(f.equals(f"personUdef/{ms.moved_to_field}", ms.moved_to_values[moved_to]))
        column = f"personUdef/{ms.move_date_field}" if with_date and ms.move_date_field else None
        select = ("personId", column) if column else ("personId",)
        rows = self.source.by_ids("Person", person_ids, select=select, filter=f.all_of(*where))
        return {_int(row["personId"]): row.get(column) if column else None for row in rows}


class _ChunkSizes:
    """How many persons the next activity chunk asks for. The first is small (a tenth of a
    page) and is waited for: it teaches the rows per person, and every later chunk aims at
    FILL of a page by what all answers so far have shown."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.asked = self.rows = 0
        self.first_out = False
        self.first_done = threading.Event()

    def answered(self, asked: int, rows: int) -> None:
        with self._lock:
            self.asked += asked
            self.rows += rows

    def next_size(self, page: int) -> int:
        if not self.first_out:
            self.first_out = True
            return max(1, page // 10)
        self.first_done.wait()
        with self._lock:
            if not self.asked:
                return max(1, page // 10)
            density = max(self.rows / self.asked, 1e-9)
        return max(1, min(page, int(page * FILL / density)))


# ---------------------------------------------------------------- one PersonEntity


def entity_updated(entity: Mapping[str, Any]) -> datetime | None:
    """The entity's UpdatedDate (UTC), None when never set."""
    return parse_utc(entity.get("UpdatedDate"))


def entity_registered(entity: Mapping[str, Any]) -> datetime | None:
    return parse_utc(entity.get("CreatedDate"))


def entity_has_emarketing(entity: Mapping[str, Any]) -> bool:
    """An EMARKETING consent whose legal base is not WITHDRAWN."""
    for consent in entity.get("Consents") or ():
        if not isinstance(consent, Mapping):
            continue
        if str(consent.get("ConsentPurposeKey", "")).upper() != "EMARKETING":
            continue
        if str(consent.get("LegalBaseKey", "")).upper() != "WITHDRAWN":
            return True
    return False


def entity_has_interest(entity: Mapping[str, Any], interest_id: int) -> bool:
    for interest in entity.get("Interests") or ():
        if isinstance(interest, Mapping) and interest.get("Selected"):
            try:
                if int(interest["Id"]) == interest_id:
                    return True
            except (KeyError, TypeError, ValueError):
                continue
    return False
