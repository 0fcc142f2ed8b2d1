"""The client against the sandbox tenant over real HTTP on 127.0.0.1 (and in-process): paging,
chunked id queries, a repeated page, system-user login end to end, 401 -> re-auth."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.config import Secrets, SuperOfficeSettings
from ta_steget_cli.errors import AuthError, NotFound, PageRepeated
from ta_steget_cli.superoffice import SuperOfficeClient, parse_datetime
from tests.superoffice_fakes import FakeClock

sandbox = pytest.importorskip("ta_steget_cli.sandbox")
ids = sandbox.ids
if not all(hasattr(sandbox, name) for name in ("SandboxTenant", "SandboxServer", "transport")):
    pytest.skip("the sandbox does not export its server yet", allow_module_level=True)

TODAY = datetime(2026, 3, 18, tzinfo=UTC).date()
PERSONS = 23


@pytest.fixture
def tenant() -> Any:
    tenant = sandbox.SandboxTenant(persons=0, seed=5, today=TODAY)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for n in range(PERSONS):
        tenant.add_person("Test", f"Person{n}", registered=start + timedelta(hours=n))
    return tenant


@pytest.fixture
def server(tenant: Any) -> Iterator[Any]:
    with sandbox.SandboxServer(tenant) as running:
        yield running


def ticket_client(api_url: str, page_size: int = 5, **kw: Any) -> SuperOfficeClient:
    # One request at a time unless a test asks for more: these tests count requests exactly
    # as one-page-at-a-time paging makes them (tests/test_concurrency.py runs several).
    kw.setdefault("max_in_flight", 1)
    settings = SuperOfficeSettings(
        api_url=api_url, auth="ticket", page_size=page_size, requests_per_second=100.0, **kw
    )
    values = Secrets({"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN})
    clock = FakeClock()
    return SuperOfficeClient(
        settings, values, sleep=clock.sleep, monotonic=clock.monotonic, rng=random.Random(1)
    )


def archive_requests(tenant: Any, provider: str = "Person") -> list[tuple[str, str, int]]:
    return [r for r in tenant.requests if r[1].endswith(f"/v1/Archive/{provider}")]


def test_scan_with_a_short_last_page(tenant: Any, server: Any) -> None:
    with ticket_client(server.api_url, page_size=5) as so:
        rows = list(so.scan("Person", select=["fullName", "personRegisteredDate"]))
    person_ids = [int(r["personId"]) for r in rows]
    assert len(person_ids) == PERSONS and person_ids == sorted(set(person_ids))
    assert len(archive_requests(tenant)) == 5  # 5+5+5+5+3
    assert parse_datetime(rows[0]["personRegisteredDate"]) == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_scan_of_an_exact_multiple(tenant: Any, server: Any) -> None:
    tenant.add_person("Test", "Extra", registered=datetime(2026, 2, 1, tzinfo=UTC))
    tenant.add_person("Test", "Extra2", registered=datetime(2026, 2, 2, tzinfo=UTC))
    with ticket_client(server.api_url, page_size=5) as so:
        rows = list(so.scan("Person", select=["fullName"]))
        assert so.stats.by_kind["archive:Person"] == 6  # 25 rows: 5 full pages and one empty
    assert len(rows) == 25


def test_repeated_page_is_detected(tenant: Any, server: Any) -> None:
    with ticket_client(server.api_url, page_size=5) as so:
        rows = so.scan("Person", select=["fullName"])
        first_page = [next(rows) for _ in range(5)]
        # The server now answers the page it gave last time, as a broken cursor would.
        tenant.faults.add("repeat_page")
        with pytest.raises(PageRepeated):
            list(rows)
    assert len(first_page) == 5


def test_by_ids_splits_a_full_page_and_posts_a_long_list(tenant: Any, server: Any) -> None:
    person_ids = [p.id for p in tenant.persons()]
    when = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    for person_id in person_ids[:3]:
        for n in range(3):
            tenant.add_activity(person_id, "appointment", date=when + timedelta(days=n))
    tenant.reset_stats()
    with ticket_client(server.api_url, page_size=4) as so:
        rows = list(
            so.by_ids(
                "PersonActivity",
                person_ids,
                select=["person/personId", "date"],
                entities=["appointment"],
                chunk_size=len(person_ids),
            )
        )
    assert len(rows) == 9
    got = sorted(int(r["person/personId"]) for r in rows)
    assert got == sorted(person_ids[:3] * 3)
    assert len(archive_requests(tenant, "PersonActivity")) > 1  # the full page was split

    # A long list goes as a POST with a form body.
    many = list(range(1, 800)) + person_ids
    tenant.reset_stats()
    with ticket_client(server.api_url, page_size=1000) as so:
        rows = list(so.by_ids("PersonActivity", many, select=["date"], entities=["appointment"]))
    assert len(rows) == 9
    methods = {r[0] for r in archive_requests(tenant, "PersonActivity")}
    assert methods == {"POST"}


def test_by_ids_of_persons(tenant: Any, server: Any) -> None:
    wanted = [p.id for p in tenant.persons()][::4]
    with ticket_client(server.api_url, page_size=3) as so:
        rows = list(so.by_ids("Person", [*wanted, wanted[0]], select=["personId", "fullName"]))
    assert sorted(int(r["personId"]) for r in rows) == wanted


def test_person_calls_and_errors(tenant: Any, server: Any) -> None:
    person_id = next(iter(tenant.persons())).id
    with ticket_client(server.api_url) as so:
        entity = so.get_person(person_id)
        assert entity["PersonId"] == person_id
        so.delete_person(person_id)
        with pytest.raises(NotFound):
            so.get_person(person_id)
        so.undelete_person(person_id)
        assert so.get_person(person_id)["PersonId"] == person_id
        assert so.consent(person_id) is False
        # Interests come under headings, as on a real tenant.
        interests = [i for h in so.mdo_list("persint") for i in h["ChildItems"]]
        assert any(item["Id"] == ids.KOMMUN_INTERESTS["Krokom"] for item in interests)
        assert so.udef_layout()
        assert so.list_items(ids.MOVE_STATUS_LIST)
        assert so.current_principal()


def test_transient_faults_are_retried(tenant: Any, server: Any) -> None:
    tenant.faults.add("status", status=503, body="html", times=2)
    tenant.faults.add("drop")
    tenant.faults.add("truncated", path="/v1/Archive/Person")
    with ticket_client(server.api_url, page_size=50) as so:
        assert len(list(so.scan("Person", select=["fullName"]))) == PERSONS
        assert so.stats.retries == 4


def system_user_client(
    tenant: Any, base_url: str, tmp_path: Path, transport: Any = None
) -> SuperOfficeClient:
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(tenant.app_private_key_pem)
    settings = SuperOfficeSettings(
        tenant=ids.CONTEXT_IDENTIFIER,
        login_url=base_url,
        auth="system_user",
        page_size=10,
        requests_per_second=100.0,
    )
    values = Secrets(
        {
            "TASTEGET_SYSTEM_TOKEN": ids.SYSTEM_TOKEN,
            "TASTEGET_PRIVATE_KEY_FILE": str(key_file),
            "TASTEGET_APP_TOKEN": ids.APP_TOKEN,
        }
    )
    clock = FakeClock()
    return SuperOfficeClient(
        settings, values, transport=transport, sleep=clock.sleep, monotonic=clock.monotonic
    )


def test_system_user_end_to_end(tenant: Any, server: Any, tmp_path: Path) -> None:
    tenant.expire_ticket()
    with system_user_client(tenant, server.base_url, tmp_path) as so:
        assert so.api_url == server.api_url
        assert len(list(so.scan("Person", select=["fullName"]))) == PERSONS
        assert tenant.authentications == 1
        # The ticket expires on the server: one 401, one new login, then success.
        tenant.expire_ticket()
        assert len(list(so.scan("Person", select=["fullName"]))) == PERSONS
        assert tenant.authentications == 2
        state = so.tenant_state()
        assert state is not None and state.context == ids.CONTEXT_IDENTIFIER


def test_system_user_in_process(tenant: Any, tmp_path: Path) -> None:
    transport = sandbox.transport(tenant)
    with system_user_client(tenant, "http://sandbox.invalid", tmp_path, transport) as so:
        assert so.current_principal()


def test_wrong_handed_in_ticket_is_auth_error(server: Any) -> None:
    settings = SuperOfficeSettings(api_url=server.api_url, auth="ticket")
    values = Secrets({"TASTEGET_TICKET": "7T:wrong", "TASTEGET_APP_TOKEN": ids.APP_TOKEN})
    with SuperOfficeClient(settings, values) as so, pytest.raises(AuthError) as caught:
        so.current_principal()
    assert caught.value.exit_code == 4
