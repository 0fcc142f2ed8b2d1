"""Who waits for a first response, and nobody dropped silently (issue 12, items 1 and 2):
`overdue` through the CLI against the sandbox tenant over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.who_waits import asks_for_guidance

from .conftest import AS_OF
from .test_overdue import at, ids_of, listed

NEWSLETTER, MAGAZINE = ids.NEWSLETTER_INTEREST, ids.MAGAZINE_INTEREST
JOBS = 111  # another interest of the sandbox's form: it asks for guidance


@pytest.fixture
def asked(sandbox_env: Callable[..., Any]) -> tuple[Any, dict[str, int]]:
    """Everyone registered 2026-03-02 (7 working days overdue on AS_OF), nobody answered."""
    tenant = SandboxTenant(persons=0, today=AS_OF)
    day = at("2026-03-02")

    def add(name: str, kommuner: list[str], interests: list[int]) -> int:
        return tenant.add_person(
            name, "Test", registered=day, kommuner=kommuner, interests=interests
        )

    people = {
        "nothing": add("Ingen", [], []),
        "kommun_only": add("Bara", ["Krokom"], []),
        "newsletter_region": add("Nyhet", [], [NEWSLETTER]),
        "newsletter_krokom": add("Nyhetkrokom", ["Krokom"], [NEWSLETTER]),
        "magazine_region": add("Tidning", [], [MAGAZINE]),
        "magazine_krokom": add("Tidningkrokom", ["Krokom"], [MAGAZINE]),
        "both_no_response": add("Bada", ["Krokom"], [NEWSLETTER, MAGAZINE]),
        "newsletter_and_jobs": add("Jobb", ["Krokom"], [NEWSLETTER, JOBS]),
        "jobs_region": add("Jobbregion", [], [JOBS]),
    }
    return sandbox_env(tenant), people


def test_newsletter_or_magazine_only_are_not_listed_everyone_else_is(
    asked: tuple[Any, dict[str, int]],
) -> None:
    env, p = asked
    waiting = {p[k] for k in ("nothing", "kommun_only", "newsletter_and_jobs", "jobs_region")}
    assert set(ids_of(listed(env, "--all"))) == waiting
    assert set(ids_of(listed(env, "--region"))) == {p["nothing"], p["jobs_region"]}
    assert set(ids_of(listed(env, "--kommun", "Krokom"))) == {
        p["kommun_only"],
        p["newsletter_and_jobs"],
    }


def test_without_no_response_interests_everyone_waits(
    asked: tuple[Any, dict[str, int]], sandbox_env: Callable[..., Any]
) -> None:
    env, p = asked
    plain = sandbox_env(env.tenant, first_response={"no_response_interests": []})
    assert set(ids_of(listed(plain, "--all"))) == set(p.values())


def test_the_rule_on_one_persons_interests() -> None:
    kommuner, no_response = {101, 104}, {110, 113}
    assert asks_for_guidance((), kommuner, no_response)
    assert asks_for_guidance((104,), kommuner, no_response)
    assert asks_for_guidance((104, 110, 111), kommuner, no_response)
    assert not asks_for_guidance((110,), kommuner, no_response)
    assert not asks_for_guidance((104, 113), kommuner, no_response)
    assert not asks_for_guidance((101, 110, 113), kommuner, no_response)
    assert asks_for_guidance((110,), kommuner, ())  # nothing configured: everyone waits


@pytest.fixture
def long_waits(sandbox_env: Callable[..., Any]) -> tuple[Any, dict[str, int]]:
    tenant = SandboxTenant(persons=0, today=AS_OF)

    def add(name: str, day: str, kommuner: tuple[str, ...] = ("Berg",), **more: Any) -> int:
        return tenant.add_person(name, "Test", registered=at(day), kommuner=kommuner, **more)

    people = {
        "before_since": add("Före", "2024-09-02"),
        "region_before": add("Också", "2024-11-04", ()),
        "answered_before": add("Svarad", "2024-10-01"),
        "news_before": add("Nyhet", "2024-10-01", (), interests=[NEWSLETTER]),
        "two_hundred": add("Länge", "2025-05-19"),
        "recent": add("Nyss", "2026-03-02"),
    }
    tenant.add_activity(
        people["answered_before"],
        "document",
        date=at("2024-10-02"),
        registered_by=("ANLA", "Anna Lind"),
    )
    return sandbox_env(tenant), people


def test_two_hundred_working_days_unanswered_is_listed(
    long_waits: tuple[Any, dict[str, int]],
) -> None:
    env, p = long_waits
    items = listed(env, "--kommun", "Berg")
    assert ids_of(items) == [p["two_hundred"], p["recent"]]
    assert items[0]["working_days_overdue"] >= 200


def test_registrations_before_since_are_counted_and_listed_with_since(
    long_waits: tuple[Any, dict[str, int]],
) -> None:
    env, p = long_waits
    args = ("overdue", "--as-of", AS_OF.isoformat(), "--all")
    result = env.run(*args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert ids_of(json.loads(result.stdout)) == [p["two_hundred"], p["recent"]]
    assert result.stderr.splitlines() == [
        "2 personer försenade",
        "Dessutom väntar 2 personer som registrerades före 2025-01-01 (den första 2024-09-02); "
        "visa dem med --since 2024-09-02",
    ]
    csv_out = env.run(*args, "-f", "csv")
    assert "visa dem med --since 2024-09-02" in csv_out.stderr
    assert "--since" not in csv_out.stdout
    region = env.run("overdue", "--as-of", AS_OF.isoformat(), "--region", "-f", "json")
    assert "Dessutom väntar 1 person som registrerades före 2025-01-01 (den första 2024-11-04)" in (
        region.stderr
    )
    everyone = listed(env, "--all", "--since", "2024-09-02")
    assert ids_of(everyone) == [
        p["before_since"],
        p["region_before"],
        p["two_hundred"],
        p["recent"],
    ]
    all_listed = env.run(*args, "-f", "json", "--since", "2024-09-02")
    assert "Dessutom" not in all_listed.stderr


def test_table_shows_the_note_under_the_table(long_waits: tuple[Any, dict[str, int]]) -> None:
    env, _ = long_waits
    env.env["COLUMNS"] = "200"
    result = env.run("overdue", "--as-of", AS_OF.isoformat(), "--all", "-f", "table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.rstrip().splitlines()
    assert lines[-1] == (
        "Dessutom väntar 2 personer som registrerades före 2025-01-01 (den första 2024-09-02); "
        "visa dem med --since 2024-09-02"
    )
    assert "2 personer försenade" in lines[-2]
    english = env.run("--lang", "en", "overdue", "--as-of", AS_OF.isoformat(), "-f", "table")
    assert english.stdout.rstrip().splitlines()[-1] == (
        "Also waiting: 2 people registered before 2025-01-01 (the first on 2024-09-02); "
        "list them with --since 2024-09-02"
    )


def test_bad_since_is_one_line_exit_2(long_waits: tuple[Any, dict[str, int]]) -> None:
    env, _ = long_waits
    result = env.run("overdue", "--since", "2024-13-01")
    assert result.exit_code == 2
    assert result.stderr == (
        "tasteget: --since: '2024-13-01' är inget datum; ange ett datum som ÅÅÅÅ-MM-DD\n"
    )


def test_config_since_as_a_toml_date_and_bad_values(tmp_path: Any) -> None:
    from ta_steget_cli.config import load_config
    from ta_steget_cli.errors import ConfigError

    from .conftest import merge, sandbox_document, to_toml

    base = sandbox_document("http://127.0.0.1:1/Cust00000/api", tmp_path)
    path = tmp_path / "c.toml"

    def write(**first_response: Any) -> None:
        text = to_toml(merge(base, {"first_response": first_response}))
        path.write_text(text.replace('since = "2024-06-01"', "since = 2024-06-01"))

    write(since="2024-06-01")  # a bare TOML date
    assert str(load_config(path).first_response.since) == "2024-06-01"
    write(since="juni")
    with pytest.raises(ConfigError, match=r"\[first_response\] since: found 'juni'"):
        load_config(path)
    write(no_response_interests=[0])
    with pytest.raises(ConfigError, match="no_response_interests: found"):
        load_config(path)


def test_the_generated_sandbox_has_newsletter_and_magazine_only_people_not_listed(
    sandbox_env: Callable[..., Any],
) -> None:
    tenant = SandboxTenant(persons=200, today=AS_OF)
    kommun_ids = set(ids.KOMMUN_INTERESTS.values())
    only = {
        interest: {p.id for p in tenant.persons() if set(p.interests) - kommun_ids == {interest}}
        for interest in (NEWSLETTER, MAGAZINE)
    }
    with_kommun = {p.id for p in tenant.persons() if set(p.interests) & kommun_ids}
    for group in only.values():
        assert group & with_kommun and group - with_kommun  # with and without a municipality
    env = sandbox_env(tenant)
    listed_ids = set(ids_of(listed(env, "--all", "--since", "2019-01-01")))
    assert listed_ids and not listed_ids & (only[NEWSLETTER] | only[MAGAZINE])
    # Without the setting the same people would be on the list: the scenario shows the rule.
    plain = sandbox_env(tenant, first_response={"no_response_interests": []})
    assert set(ids_of(listed(plain, "--all"))) & (only[NEWSLETTER] | only[MAGAZINE])
