"""The sandbox's promise: on any day, every municipality and the region have something to show."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from ta_steget_cli.sandbox import IN_PROCESS_BASE_URL, SandboxTenant, ids, transport
from ta_steget_cli.sandbox.records import Person
from ta_steget_cli.sandbox.workdays import add_working_days, is_working_day

STOCKHOLM = ZoneInfo("Europe/Stockholm")
RESPONSES = ("appointment", "document", "chat")
PURGE_KINDS = ("appointment", "document", "chat", "formSubmission")
AREAS = (*ids.KOMMUN_INTERESTS, "region")
AUTH = {"Authorization": f"SOTicket {ids.TICKET}", "SO-AppToken": ids.APP_TOKEN}


def local_day(seconds: int) -> date:
    return datetime.fromtimestamp(seconds, UTC).astimezone(STOCKHOLM).date()


def area_of(person: Person, area: str) -> bool:
    kommun_ids = set(ids.KOMMUN_INTERESTS.values())
    if area == "region":
        return not kommun_ids & set(person.interests)
    return ids.KOMMUN_INTERESTS[area] in person.interests


def answered(person: Person) -> bool:
    return any(
        a.kind in RESPONSES and a.registered > person.registered and a.user[1] != ids.FORM_USER[0]
        for a in person.activities
    )


def working_days_between(first: date, last: date) -> int:
    count, day = 0, first
    while day < last:
        day = add_working_days(day, 1)
        count += 1
    return count


def five_years_before(day: date) -> date:
    return day.replace(year=day.year - 5, day=28 if (day.month, day.day) == (2, 29) else day.day)


def census(tenant: SandboxTenant, area: str) -> dict[str, int]:
    today = tenant.today
    cutoff = five_years_before(today)
    soon = add_working_days(today, 3)
    counts = dict.fromkeys(("overdue", "due_soon", "purge", "kept_subscriber", "kept_active"), 0)
    for person in tenant.persons():
        if not area_of(person, area):
            continue
        registered = local_day(person.registered)
        if not answered(person) and registered < today:
            due = add_working_days(registered, 5)
            if 8 <= working_days_between(registered, today) <= 40 and due < today:
                counts["overdue"] += 1
            elif today <= due <= soon:
                counts["due_soon"] += 1
        if registered < cutoff:
            recent = any(
                a.kind in PURGE_KINDS and max(local_day(a.date), local_day(a.registered)) >= cutoff
                for a in person.activities
            )
            subscriber = person.consent == "active" or ids.NEWSLETTER_INTEREST in person.interests
            if recent:
                counts["kept_active"] += 1
            elif subscriber:
                counts["kept_subscriber"] += 1
            else:
                counts["purge"] += 1
    return counts


@pytest.mark.parametrize(
    "today",
    [date(2025, 9, 15), date(2025, 12, 27), date(2026, 6, 22), date(2028, 2, 29), None],
)
def test_every_area_has_something_to_show(today: date | None) -> None:
    tenant = SandboxTenant(persons=200, seed=11, today=today)
    for area in AREAS:
        counts = census(tenant, area)
        assert counts["overdue"] >= 2, (area, counts)
        assert counts["due_soon"] >= 2, (area, counts)
        assert counts["purge"] >= 2, (area, counts)
        assert counts["kept_subscriber"] >= 1, (area, counts)
        assert counts["kept_active"] >= 1, (area, counts)


def test_small_tenants_have_no_scenario_and_empty_ones_nothing() -> None:
    assert len(SandboxTenant(persons=0)) == 0
    assert len(SandboxTenant(persons=50, seed=1)) == 50


def test_waiting_scenario_persons_registered_on_working_days() -> None:
    tenant = SandboxTenant(persons=200, seed=1, today=date(2025, 12, 29))
    waiting = [p for p in tenant.persons() if not answered(p)]
    recent = [p for p in waiting if (tenant.today - local_day(p.registered)).days < 60]
    assert recent and all(is_working_day(local_day(p.registered)) for p in recent[-36:])


def test_the_data_looks_like_the_register() -> None:
    tenant = SandboxTenant(persons=2000, seed=1, today=date(2025, 9, 15))
    people = list(tenant.persons())
    names = " ".join(p.full_name for p in people)
    assert any(c in names for c in "åäö") and "'" in names and "-" in names
    assert any(not p.email for p in people) and any(not p.mobile for p in people)
    regions = sum(1 for p in people if area_of(p, "region"))
    assert 0.08 < regions / len(people) < 0.25
    consents = sum(1 for p in people if p.consent) / len(people)
    assert 0.2 < consents < 0.4
    first_year = min(local_day(p.registered) for p in people)
    assert first_year >= date(2019, 9, 1)
    kinds = {a.kind for p in people for a in p.activities}
    assert kinds == {"appointment", "document", "chat", "formSubmission", "mailing"}
    assert all(local_day(a.registered) < tenant.today for p in people for a in p.activities)


def test_overdue_scenario_is_found_through_the_archive() -> None:
    tenant = SandboxTenant(persons=200, seed=4, today=date(2025, 9, 15))
    since = add_working_days(tenant.today, -40).isoformat()
    until = add_working_days(tenant.today, -8).isoformat()
    krokom = ids.KOMMUN_INTERESTS["Krokom"]
    base = f"{IN_PROCESS_BASE_URL}/{ids.CONTEXT_IDENTIFIER}/api"
    with httpx.Client(transport=transport(tenant), base_url=base, headers=AUTH) as client:
        persons = client.get(
            "/v1/Archive/Person",
            params={
                "$select": "personId",
                "$filter": f"personInterestIds oneOf ({krokom}) and "
                f"personRegisteredDate between ('{since}','{until}')",
            },
        ).json()["value"]
        chosen = ",".join(str(r["personId"]) for r in persons)
        answers = client.get(
            "/v1/Archive/PersonActivity",
            params={
                "$select": "person/personId,registeredBy",
                "$filter": f"personId oneOf ({chosen})",
                "$entities": "appointment,document,chat",
            },
        ).json()["value"]
    responded = {r["person/personId"] for r in answers if r["registeredBy"] != ids.FORM_USER[0]}
    assert len({r["personId"] for r in persons} - responded) >= 2
