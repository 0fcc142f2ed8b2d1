"""`Register` on an in-memory source, through the `ArchiveSource` Protocol only: no client, no
HTTP. The source answers every question with its rows (it ignores filters), so what is checked
is what the register itself does: the as-of refinement and the activity chunk sizes, which
follow the source's own page size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from ta_steget_cli.overdue import Scope, calendar_of, overdue_list, rule_of
from ta_steget_cli.register import ArchiveSource, Register
from ta_steget_cli.report import build_report, quarter_period
from ta_steget_cli.sandbox.tool_config import sandbox_config

AS_OF = date(2026, 3, 18)


@dataclass
class MemorySource:
    persons: list[dict[str, Any]]
    activities: dict[int, list[dict[str, Any]]]
    page_size: int = 100
    chunks: list[int] = field(default_factory=list)

    def scan(
        self,
        provider: str,
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        key: str = "personId",
    ) -> Iterator[dict[str, Any]]:
        assert provider == "Person"
        for row in self.persons:
            yield {column: row.get(column) for column in select}

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
    ) -> Iterator[dict[str, Any]]:
        chunk = list(ids)
        if provider == "Person":  # names and addresses of the listed persons
            wanted = set(chunk)
            for row in self.persons:
                if row["personId"] in wanted:
                    yield {column: row.get(column) for column in select}
            return
        assert provider == "PersonActivity"
        self.chunks.append(len(chunk))
        for person_id in chunk:
            yield from self.activities.get(person_id, [])

    def mdo_list(self, name: str) -> list[dict[str, Any]]:
        return []  # the interests list: only who_waits asks, and these tests do not


def person(person_id: int, registered: str) -> dict[str, Any]:
    return {"personId": person_id, "fullName": f"Test Person {person_id}",
            "personRegisteredDate": registered}  # fmt: skip


def activity(person_id: int, registered: str) -> dict[str, Any]:
    return {
        "person/personId": person_id,
        "EntityName": "appointment",
        "date": registered,
        "registeredDate": registered,
        "registeredBy": "AB",
        "registeredByFullName": "A B",
    }


def register(source: ArchiveSource) -> Register:
    return Register(source, sandbox_config(), AS_OF)


def test_persons_registered_after_the_end_of_as_of_stockholm_are_dropped() -> None:
    source = MemorySource(
        persons=[
            person(1, "2026-03-18T22:59:59"),  # 23:59:59 in Stockholm on as_of: kept
            person(2, "2026-03-18T23:00:00"),  # midnight in Stockholm: the next day
            person(3, "0001-01-01T00:00:00"),  # never set: not known by as_of
        ],
        activities={},
    )
    assert [p.person_id for p in register(source).persons()] == [1]


def test_activity_chunks_are_sized_by_the_sources_page_size() -> None:
    ids = range(1, 51)
    source = MemorySource(
        persons=[],
        activities={i: [activity(i, "2026-01-10T10:00:00")] * 2 for i in ids},
        page_size=100,
    )
    found = list(register(source).activities(ids, ["appointment"]))
    assert len(found) == 100
    # A tenth of a page first; then, at 2 rows a person, 90 % of a page: 45 persons a chunk.
    assert source.chunks == [10, 40]
    source.chunks.clear()
    source.page_size = 20
    list(register(source).activities(ids, ["appointment"]))
    assert source.chunks == [2, 9, 9, 9, 9, 9, 3]


def test_the_report_asks_for_responses_as_the_overdue_list_does() -> None:
    """One first-response rule: the report's question for candidate responses is the overdue
    list's, filter and all (it used to build its own, with another date margin)."""
    persons = [person(i, f"2026-01-{10 + i}T08:00:00") for i in range(1, 6)]
    answers = {1: [activity(1, "2026-01-12T09:00:00")], 3: [activity(3, "2026-02-01T09:00:00")]}
    asked: dict[str, list[str | None]] = {}
    for name in ("overdue", "report"):
        source = RecordingSource(persons=persons, activities=answers, page_size=100)
        # The in-memory source ignores filters: no interest may leave anyone off the list here.
        config = sandbox_config()
        config = replace(
            config, first_response=replace(config.first_response, no_response_interests=())
        )
        reg = Register(source, config, date(2026, 3, 31))
        rule = rule_of(reg.config)
        if name == "overdue":
            overdue_list(reg, Scope(), rule, calendar_of(reg.config))
        else:
            build_report(reg, quarter_period("2026Q1"))
        asked[name] = source.activity_filters
    assert asked["report"] == asked["overdue"]
    assert asked["overdue"] and all(f and "registeredDate" in f for f in asked["overdue"])


@dataclass
class RecordingSource(MemorySource):
    activity_filters: list[str | None] = field(default_factory=list)

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
    ) -> Iterator[dict[str, Any]]:
        if provider == "PersonActivity":
            self.activity_filters.append(filter)
        return super().by_ids(provider, ids, select=select, filter=filter, entities=entities)
