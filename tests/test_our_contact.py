"""`overdue --our-contact NAME|me` (issue 12, item 5) through the CLI against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.sandbox.oidc import USERS, _Access

from .conftest import AS_OF
from .test_overdue import at, ids_of, listed


@pytest.fixture
def guided(sandbox_env: Callable[..., Any]) -> tuple[Any, dict[str, int]]:
    tenant = SandboxTenant(persons=0, today=AS_OF)

    def add(name: str, our_contact: str | None, day: str = "2026-03-02") -> int:
        return tenant.add_person(
            name, "Test", registered=at(day), kommuner=["Berg"], our_contact=our_contact
        )

    people = {
        "anna": add("Ett", "ANLA"),  # Anna Lind, the sandbox's personal login
        "anna_old": add("Gammal", "ANLA", "2024-09-02"),
        "elin": add("Tva", "ELNY"),  # Elin Nyberg
        "nobody": add("Tre", None),
    }
    return sandbox_env(tenant), people


def test_our_contact_by_name_without_regard_to_case(guided: tuple[Any, dict[str, int]]) -> None:
    env, p = guided
    assert ids_of(listed(env, "--our-contact", "elin nyberg")) == [p["elin"]]
    assert ids_of(listed(env, "--our-contact", "Anna Lind", "--since", "2024-01-01")) == [
        p["anna_old"],
        p["anna"],
    ]
    assert listed(env, "--our-contact", "Ingen Alls") == []


def test_our_contact_me_is_the_signed_in_person(
    guided: tuple[Any, dict[str, int]], sandbox_env: Callable[..., Any]
) -> None:
    env, p = guided
    # Anna Lind's own access token, as the sandbox's OpenID Connect login would hand it out.
    token = "8A:Cust00000.anna-lind-test-token"
    env.tenant.oidc.access[token] = _Access(USERS["anla"], env.tenant.now().timestamp() + 3600)
    personal = sandbox_env(env.tenant, superoffice={"auth": "bearer"})
    personal.env = {"TASTEGET_ACCESS_TOKEN": token, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
    result = personal.run(
        "overdue", "--our-contact", "me", "--as-of", AS_OF.isoformat(), "-f", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert ids_of(json.loads(result.stdout)) == [p["anna"]]
    # Anna's registration from before `since` is counted for her, not listed.
    assert "Dessutom väntar 1 person som registrerades före 2025-01-01" in result.stderr


def test_our_contact_me_with_the_system_user_is_one_line_exit_2(
    guided: tuple[Any, dict[str, int]],
) -> None:
    env, _ = guided
    result = env.run("overdue", "--our-contact", "me", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2
    assert result.stderr.startswith("tasteget: --our-contact me: inloggad som systemanvändare")
    assert result.stderr.count("\n") == 1
