"""`tasteget overdue` against the sandbox tenant over real HTTP, on exact scenarios.

Every scenario is built on an empty tenant with its dates written out. AS_OF is Wednesday
2026-03-18, in a week with no holiday: registered Monday 2026-03-09 is due Monday 2026-03-16
and 2 working days overdue on AS_OF.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ta_steget_cli.models import Activity, Person
from ta_steget_cli.overdue import Rule, first_responses, is_response
from ta_steget_cli.sandbox import SandboxTenant, ids

from .conftest import AS_OF

STOCKHOLM = ZoneInfo("Europe/Stockholm")
GUIDE = ("ANLA", "Anna Lind")


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """A Stockholm wall-clock time."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), STOCKHOLM).replace(
        hour=hour, minute=minute
    )


@dataclass
class County:
    """The scenario's person ids by role."""

    late: int  # Krokom, 2026-03-09: due 03-16, 2 working days overdue
    both: int  # Krokom and Östersund, 2026-03-10: due 03-17, 1 overdue
    answered: int  # Krokom, answered by a move guide in time
    late_answer: int  # Krokom, answered after the due date: no longer waiting
    ignored: int  # Krokom, 2026-03-02: only a form user's document and a mailing; 7 overdue
    before: int  # Krokom, 2026-03-05 14:00: the only activity registered at 09:00 that day
    region_late: int  # no municipality, 23:30 UTC Sunday = Monday 00:30 in Stockholm
    region_today: int  # no municipality, 2026-03-11: due today
    are_soon: int  # Åre, 2026-03-12: due tomorrow
    old_out: int  # Berg, 2025-11-17: 121 days before AS_OF
    old_in: int  # Berg, 2025-11-18: 120 days before AS_OF
    future: int  # Krokom, registered the day after AS_OF


def build_county(tenant: SandboxTenant) -> County:
    add = tenant.add_person
    late = add(
        "Anna",
        "Berg",
        registered=at("2026-03-09"),
        kommuner=["Krokom"],
        email="anna.berg@example.se",
        phone="070-111 11 11",
        preferred="phone",
        our_contact="ELNY",
    )
    # A response registered the day after AS_OF: not known at the end of AS_OF.
    tenant.add_activity(late, "appointment", date=at("2026-03-19", 9))
    both = add(
        "Bo",
        "Nyström",
        registered=at("2026-03-10"),
        kommuner=["Krokom", "Östersund"],
        email="bo@example.se",
        preferred="email",
    )
    answered = add("Cecilia", "Holm", registered=at("2026-03-09"), kommuner=["Krokom"])
    tenant.add_activity(answered, "chat", date=at("2026-03-12"), registered_by=GUIDE)
    late_answer = add("Dan", "Ek", registered=at("2026-03-02"), kommuner=["Krokom"])
    tenant.add_activity(late_answer, "document", date=at("2026-03-17"), registered_by=GUIDE)
    ignored = add("Eva", "Formsson", registered=at("2026-03-02"), kommuner=["Krokom"])
    tenant.add_activity(ignored, "document", date=at("2026-03-03"), registered_by=ids.FORM_USER)
    tenant.add_activity(ignored, "mailing", date=at("2026-03-04"), registered_by=GUIDE)
    before = add("Frida", "Före", registered=at("2026-03-05", 14), kommuner=["Krokom"])
    tenant.add_activity(before, "appointment", date=at("2026-03-05", 9), registered_by=GUIDE)
    region_late = add("Gustav", "Ingen", registered=datetime(2026, 3, 8, 23, 30, tzinfo=UTC))
    region_today = add("Hanna", "Idag", registered=at("2026-03-11"))
    are_soon = add("Ivar", "Snart", registered=at("2026-03-12"), kommuner=["Åre"])
    old_out = add("Jon", "Gammal", registered=at("2025-11-17"), kommuner=["Berg"])
    old_in = add("Karin", "Gräns", registered=at("2025-11-18"), kommuner=["Berg"])
    future = add("Lars", "Sen", registered=at("2026-03-19"), kommuner=["Krokom"])
    return County(
        late,
        both,
        answered,
        late_answer,
        ignored,
        before,
        region_late,
        region_today,
        are_soon,
        old_out,
        old_in,
        future,
    )


@pytest.fixture
def county(sandbox_env: Callable[..., Any]) -> tuple[Any, County]:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    ids = build_county(tenant)
    return sandbox_env(tenant), ids


def listed(env: Any, *args: str) -> list[dict[str, Any]]:
    result = env.run("overdue", "--as-of", AS_OF.isoformat(), "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)
    assert isinstance(items, list)
    return items


def ids_of(items: list[dict[str, Any]]) -> list[int]:
    return [item["person_id"] for item in items]


# ---------------------------------------------------------------- the lists


def test_kommun_list_is_exact_and_most_overdue_first(county: tuple[Any, County]) -> None:
    env, c = county
    items = listed(env, "--kommun", "krokom")
    assert ids_of(items) == [c.ignored, c.before, c.late, c.both]
    assert [i["working_days_overdue"] for i in items] == [7, 4, 2, 1]
    assert items[2] == {
        "person_id": c.late,
        "name": "Anna Berg",
        "kommuner": ["Krokom"],
        "registered": "2026-03-09",
        "due": "2026-03-16",
        "working_days_overdue": 2,
        "status": "overdue",
        "email": "anna.berg@example.se",
        "phone": "070-111 11 11",
        "preferred_contact": "phone",
        "our_contact": "Elin Nyberg",
        "link": None,
    }


def test_person_in_two_kommuner_is_on_both_lists(county: tuple[Any, County]) -> None:
    env, c = county
    items = listed(env, "--kommun", "Östersund")
    assert ids_of(items) == [c.both]
    assert items[0]["kommuner"] == ["Krokom", "Östersund"]
    assert items[0]["preferred_contact"] == "email"
    assert items[0]["phone"] is None


def test_region_list_counts_in_stockholm_dates(county: tuple[Any, County]) -> None:
    env, c = county
    items = listed(env, "--region")
    # Registered 23:30 UTC on Sunday 03-08 is Monday 03-09 in Stockholm: due 03-16, not 03-13.
    assert ids_of(items) == [c.region_late]
    assert items[0]["registered"] == "2026-03-09"
    assert items[0]["due"] == "2026-03-16"
    assert items[0]["working_days_overdue"] == 2
    assert items[0]["kommuner"] == []


def test_all_lists_everyone_once_however_long_they_waited(county: tuple[Any, County]) -> None:
    env, c = county
    items = listed(env, "--all")
    assert ids_of(items) == [
        c.old_out,
        c.old_in,
        c.ignored,
        c.before,
        c.late,
        c.region_late,
        c.both,
    ]
    assert items[1]["registered"] == "2025-11-18"
    assert items[1]["due"] == "2025-11-25"
    assert listed(env) == items  # no scope option: the whole county


def test_due_soon_adds_those_due_within_n_working_days(county: tuple[Any, County]) -> None:
    env, c = county
    assert ids_of(listed(env, "--kommun", "Åre")) == []
    assert ids_of(listed(env, "--kommun", "Åre", "--due-soon", "0")) == []
    soon = listed(env, "--kommun", "Åre", "--due-soon", "1")
    assert [(i["person_id"], i["status"], i["working_days_overdue"]) for i in soon] == [
        (c.are_soon, "due_soon", -1)
    ]
    region = listed(env, "--region", "--due-soon", "0")
    assert [(i["person_id"], i["status"], i["due"]) for i in region] == [
        (c.region_late, "overdue", "2026-03-16"),
        (c.region_today, "due_soon", "2026-03-18"),
    ]


def test_response_registered_after_as_of_does_not_count_until_then(
    county: tuple[Any, County],
) -> None:
    env, c = county
    assert c.late in ids_of(listed(env, "--kommun", "Krokom"))
    result = env.run("overdue", "--kommun", "Krokom", "--as-of", "2026-03-19", "-f", "json")
    assert result.exit_code == 0, result.stderr
    after = ids_of(json.loads(result.stdout))
    assert c.late not in after
    assert c.future not in after  # registered on 03-19: due 03-26, not yet listed
    assert c.both in after


def test_ignored_user_matches_full_name_without_case(
    sandbox_env: Callable[..., Any],
) -> None:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    by_name = tenant.add_person("Ove", "Ek", registered=at("2026-03-02"), kommuner=["Berg"])
    tenant.add_activity(
        by_name, "document", date=at("2026-03-03"), registered_by=("WEB", "Webbformulär")
    )
    by_guide = tenant.add_person("Pia", "Ek", registered=at("2026-03-02"), kommuner=["Berg"])
    tenant.add_activity(by_guide, "document", date=at("2026-03-03"), registered_by=GUIDE)
    env = sandbox_env(tenant, first_response={"ignore_registered_by": ["WEBBFORMULÄR"]})
    assert ids_of(listed(env, "--kommun", "Berg")) == [by_name]


def test_unanswered_lookback_and_kinds_follow_the_config(
    sandbox_env: Callable[..., Any],
) -> None:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    chat_only = tenant.add_person("Rut", "Ek", registered=at("2026-03-02"), kommuner=["Berg"])
    tenant.add_activity(chat_only, "chat", date=at("2026-03-03"), registered_by=GUIDE)
    old = tenant.add_person("Sam", "Ek", registered=at("2026-02-16"), kommuner=["Berg"])
    env = sandbox_env(
        tenant,
        first_response={"activity_kinds": ["appointment", "document"], "since": "2026-02-16"},
    )
    # A chat is not a response under this config; 2026-02-16 is the first day listed.
    assert ids_of(listed(env, "--kommun", "Berg")) == [old, chat_only]
    env_short = sandbox_env(tenant, first_response={"since": "2026-02-17"})
    assert ids_of(listed(env_short, "--kommun", "Berg")) == []  # and a chat answers by default


def test_retired_lookback_days_warns_once_and_still_takes_effect(
    sandbox_env: Callable[..., Any],
) -> None:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    old = tenant.add_person("Sam", "Ek", registered=at("2026-02-16"), kommuner=["Berg"])
    newer = tenant.add_person("Rut", "Ek", registered=at("2026-03-02"), kommuner=["Berg"])
    env = sandbox_env(tenant, first_response={"lookback_days": 29})
    result = env.run("overdue", "-k", "Berg", "--as-of", AS_OF.isoformat(), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert ids_of(json.loads(result.stdout)) == [newer]
    warnings = [line for line in result.stderr.splitlines() if "lookback_days" in line]
    assert warnings == [
        f"varning: {env.config_path}: [first_response] lookback_days används inte längre; "
        "använd [first_response] since i stället"
    ]
    # Nobody is dropped silently: the one before the look-back is counted, with how to see it.
    assert "--since 2026-02-16" in result.stderr
    both = env.run("overdue", "-k", "Berg", "--as-of", AS_OF.isoformat(), "-f", "json",
                   "--since", "2026-02-01")  # fmt: skip
    assert ids_of(json.loads(both.stdout)) == [old, newer]


def test_requests_grow_with_pages_not_persons(sandbox_env: Callable[..., Any]) -> None:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    kommuner = ["Berg", "Krokom", "Åre", "Östersund"]
    for n in range(300):
        pid = tenant.add_person(
            f"P{n}", "Test", registered=at("2026-03-02"), kommuner=[kommuner[n % 4]]
        )
        if n % 3 == 0:
            tenant.add_activity(pid, "appointment", date=at("2026-03-04"), registered_by=GUIDE)
    env = sandbox_env(tenant)  # page_size 100
    tenant.requests.clear()
    items = listed(env, "--all")
    assert len(items) == 200
    archive = [r for r in tenant.requests if "/Archive/" in r[1]]
    # Person: 4 pages; 8 municipalities: 1-2 pages each; 2 preferred-contact values; the
    # activities of 300 persons in chunks: about 30 in all, never one per person.
    assert len(archive) <= 30, archive


# ---------------------------------------------------------------- formats and awkward data


@pytest.fixture
def awkward(sandbox_env: Callable[..., Any]) -> tuple[Any, dict[str, int]]:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    ids = {
        "quotes": tenant.add_person(
            "Zoë", "O'Brien \"Bee\"", registered=at("2026-03-02"), kommuner=["Berg"]
        ),
        "cyrillic": tenant.add_person(
            "Ольга", "Иванова", registered=at("2026-03-03"), kommuner=["Berg"],
            email="olga@example.ru", phone="+46 70 222 22 22", preferred="phone",
        ),
        "formula": tenant.add_person(
            "=HYPERLINK(\"http://evil.example\")", "[/x]", registered=at("2026-03-04"),
            kommuner=["Berg"], email="@evil.example",
        ),
        "soon": tenant.add_person("Åsa", "Öberg", registered=at("2026-03-12"), kommuner=["Berg"]),
    }  # fmt: skip
    return sandbox_env(tenant), ids


def test_json_is_one_array_with_names_intact(awkward: tuple[Any, dict[str, int]]) -> None:
    env, _ = awkward
    result = env.run("overdue", "-k", "berg", "--as-of", "2026-03-18", "-f", "json")
    assert result.exit_code == 0
    items = json.loads(result.stdout)  # the whole of stdout is one JSON array
    assert [i["name"] for i in items] == [
        'Zoë O\'Brien "Bee"',
        "Ольга Иванова",
        '=HYPERLINK("http://evil.example") [/x]',
    ]
    quotes = items[0]
    assert quotes["email"] is None and quotes["phone"] is None
    assert quotes["preferred_contact"] is None and quotes["our_contact"] is None
    assert result.stderr.strip() == "3 personer försenade"


def test_csv_keys_and_formula_cells_made_safe(awkward: tuple[Any, dict[str, int]]) -> None:
    env, ids = awkward
    result = env.run(
        "overdue", "-k", "Berg", "--as-of", "2026-03-18", "--due-soon", "2", "-f", "csv"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "person_id", "name", "kommuner", "registered", "due", "working_days_overdue",
        "status", "email", "phone", "preferred_contact", "our_contact", "link",
    ]  # fmt: skip
    by_id = {int(r["person_id"]): r for r in rows}
    formula = by_id[ids["formula"]]
    assert formula["name"] == '\'=HYPERLINK("http://evil.example") [/x]'
    assert formula["email"] == "'@evil.example"
    assert by_id[ids["cyrillic"]]["name"] == "Ольга Иванова"
    assert by_id[ids["cyrillic"]]["phone"] == "'+46 70 222 22 22"
    assert by_id[ids["quotes"]]["name"] == 'Zoë O\'Brien "Bee"'
    assert by_id[ids["quotes"]]["email"] == ""
    soon = by_id[ids["soon"]]
    assert (soon["status"], soon["working_days_overdue"]) == ("due_soon", "-1")
    assert result.stderr.strip() == "4 personer: 3 försenade, 1 förfaller snart"


def test_csv_to_file(awkward: tuple[Any, dict[str, int]], tmp_path: Any) -> None:
    env, _ = awkward
    out = tmp_path / "berg.csv"
    result = env.run("overdue", "-k", "Berg", "--as-of", "2026-03-18", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("person_id,name,")
    assert "Ольга Иванова" in text


def test_table_in_swedish_with_count_caption(awkward: tuple[Any, dict[str, int]]) -> None:
    env, _ = awkward
    env.env["COLUMNS"] = "250"
    result = env.run("overdue", "-k", "Berg", "--as-of", "2026-03-18", "-f", "table")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for heading in (
        "Arbetsdagar sen",
        "Registrerad",
        "Namn",
        "Kontaktväg",
        "Telefon / e-post",
        "Svar senast",
    ):
        assert heading in out
    # Markup-like names are shown as they are, never read as rich markup.
    assert '=HYPERLINK("http://evil.example") [/x]' in out
    assert "Ольга Иванова" in out and 'Zoë O\'Brien "Bee"' in out
    assert "telefon" in out and "+46 70 222 22 22" in out
    assert out.rstrip().endswith("3 personer försenade")
    english = env.run(
        "--lang", "en", "overdue", "-k", "Berg", "--as-of", "2026-03-18", "-f", "table"
    )
    assert "Due" in english.stdout and "Svar senast" not in english.stdout
    assert english.stdout.rstrip().endswith("3 people overdue")


def test_table_colours_overdue_red_and_due_today_yellow(
    county: tuple[Any, County],
) -> None:
    env, _ = county
    env.env.update({"COLUMNS": "250", "FORCE_COLOR": "1", "TERM": "xterm"})
    result = env.run("overdue", "--all", "--as-of", "2026-03-18", "--due-soon", "1", "-f", "table")
    assert result.exit_code == 0, result.stderr
    lines = {name: line for line in result.stdout.splitlines() for name in
             ("Anna Berg", "Hanna Idag", "Ivar Snart") if name in line}  # fmt: skip
    assert "\x1b[31m" in lines["Anna Berg"]
    assert "\x1b[33m" in lines["Hanna Idag"] and "\x1b[31m" not in lines["Hanna Idag"]
    assert "\x1b[31m" not in lines["Ivar Snart"] and "\x1b[33m" not in lines["Ivar Snart"]
    assert "9 personer: 7 försenade, 2 förfaller snart" in result.stdout


# ---------------------------------------------------------------- bad input


def test_unknown_kommun_exits_2_listing_valid_names(county: tuple[Any, County]) -> None:
    env, _ = county
    result = env.run("overdue", "--kommun", "Stockholm", "--as-of", "2026-03-18")
    assert result.exit_code == 2
    assert result.stderr == (
        "tasteget: --kommun: okänd kommun 'Stockholm'; ange en av "
        "Berg, Bräcke, Härjedalen, Krokom, Ragunda, Strömsund, Åre, Östersund\n"
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("--as-of", "2026-02-30"),
        ("--as-of", "18/03/2026"),
        ("--due-soon", "-1"),
        ("--region", "--all"),
        ("--kommun", "Berg", "--region"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    county: tuple[Any, County], args: tuple[str, ...]
) -> None:
    env, _ = county
    result = env.run("overdue", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("tasteget: ") and result.stderr.count("\n") == 1


def test_bad_as_of_says_what_was_expected(county: tuple[Any, County]) -> None:
    env, _ = county
    result = env.run("overdue", "--as-of", "2026-02-30")
    assert result.stderr == (
        "tasteget: --as-of: '2026-02-30' är inget datum; ange ett datum som ÅÅÅÅ-MM-DD\n"
    )


# ---------------------------------------------------------------- the rule on its own


def _person(registered: datetime | None) -> Person:
    return Person(person_id=1, name="X", registered=registered)


def _activity(registered: datetime | None, by: str = "ANLA", kind: str = "document") -> Activity:
    return Activity(1, kind, registered, registered, by, "")


RULE = Rule.from_settings(5, 120, ("appointment", "document", "chat", "mailing"), [" Form "])


def test_unset_dates_and_mailings_are_never_a_response() -> None:
    person = _person(datetime(2026, 3, 2, 9, tzinfo=UTC))
    later = datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert is_response(_activity(later), person, RULE)
    assert not is_response(_activity(None), person, RULE)  # 0001-01-01 parses to None
    assert not is_response(_activity(later), _person(None), RULE)
    assert not is_response(_activity(later, kind="mailing"), person, RULE)  # even if configured
    assert not is_response(_activity(later, by="form"), person, RULE)
    assert not is_response(_activity(person.registered), person, RULE)  # same second: not after


def test_first_response_is_the_earliest() -> None:
    person = _person(datetime(2026, 3, 2, 9, tzinfo=UTC))
    moments = [datetime(2026, 3, d, 9, tzinfo=UTC) for d in (6, 3, 4)]
    found = first_responses({1: person}, [_activity(m) for m in moments], RULE)
    assert found == {1: datetime(2026, 3, 3, 9, tzinfo=UTC)}


# ---------------------------------------------------------------- due soon and links (issue 12)

WEB = "https://sod2.superoffice.com/Cust00000/default.aspx"


def test_table_never_shows_a_negative_number_and_says_when_it_falls_due(
    county: tuple[Any, County],
) -> None:
    env, _ = county
    env.env["COLUMNS"] = "250"
    result = env.run("overdue", "--all", "--as-of", "2026-03-18", "--due-soon", "1", "-f", "table")
    assert result.exit_code == 0, result.stderr
    lines = {name: line for line in result.stdout.splitlines() for name in
             ("Anna Berg", "Hanna Idag", "Ivar Snart") if name in line}  # fmt: skip
    assert "förfaller torsdag 19 mars" in lines["Ivar Snart"]
    assert "förfaller idag" in lines["Hanna Idag"]
    assert "försenad" in lines["Anna Berg"]
    assert not re.search(r"(?<![\d-])-\d", result.stdout)  # no negative number anywhere
    assert "Arbetsdagar sen" in result.stdout


def test_links_to_the_persons_card_in_json_csv_and_the_table(
    county: tuple[Any, County], sandbox_env: Callable[..., Any]
) -> None:
    plain_env, c = county
    env = sandbox_env(plain_env.tenant, superoffice={"web_url": WEB})
    items = listed(env, "--kommun", "Krokom")
    assert items[2]["person_id"] == c.late
    assert items[2]["link"] == f"{WEB}?person.main?person_id={c.late}"
    csv_out = env.run("overdue", "-k", "Krokom", "--as-of", AS_OF.isoformat(), "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert rows[2]["link"] == f"{WEB}?person.main?person_id={c.late}"
    env.env.update({"COLUMNS": "250", "FORCE_COLOR": "1", "TERM": "xterm"})
    table = env.run("overdue", "-k", "Krokom", "--as-of", AS_OF.isoformat(), "-f", "table")
    # An OSC 8 terminal hyperlink around the name (and the id) opens the card.
    assert "\x1b]8;id=" in table.stdout
    assert f";{WEB}?person.main?person_id={c.late}\x1b\\" in table.stdout
    bad = sandbox_env(plain_env.tenant, superoffice={"web_url": "sod2.superoffice.com"})
    refused = bad.run("overdue", "--as-of", AS_OF.isoformat(), "-f", "json")
    assert refused.exit_code == 2
    assert "[superoffice] web_url: värdet 'sod2.superoffice.com'" in refused.stderr
