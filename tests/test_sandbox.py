"""The sandbox tenant over real HTTP on loopback and in-process: archive, filters, person writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from ta_steget_cli.sandbox import IN_PROCESS_BASE_URL, SandboxServer, SandboxTenant, ids, transport
from ta_steget_cli.sandbox.realism import Realism

NOW = datetime(2025, 9, 15, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"SOTicket {ids.TICKET}", "SO-AppToken": ids.APP_TOKEN}
# As the client asks: list texts in Swedish, not as multi-language strings.
HEADERS = {**AUTH, "Accept-Language": "sv"}


class Clock:
    """A settable clock, so tests can move time (retention, UpdatedDate)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(day: str, clock: str = "10:00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}+00:00")


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def tenant(clock: Clock) -> SandboxTenant:
    """A small exact scenario on an empty tenant."""
    t = SandboxTenant(persons=0, today=NOW.date(), clock=clock, realism=Realism.real())
    anna = t.add_person(
        "Anna",
        "Berg",
        registered=at("2025-09-01", "23:30:00"),
        kommuner=["Krokom"],
        email="anna.berg@example.com",
        phone="070-174 06 05",
        emarketing="active",
        status="interested",
        our_contact="ELNY",
    )
    t.add_person(
        "Olle",
        "O'Brien",
        registered=at("2025-09-02"),
        kommuner=["Åre", "Berg"],
        interests=[ids.NEWSLETTER_INTEREST],
        emarketing="withdrawn",
        status="moved",
        moved_to="Åre",
        move_date=date(2025, 8, 27),
        preferred="phone",
    )
    t.add_person("Zoë", "Back\\slash", registered=at("2019-01-10"))
    t.add_activity(anna, "document", date=at("2025-09-01", "23:31:00"), registered_by=ids.FORM_USER)
    t.add_activity(anna, "appointment", date=at("2025-09-03"))
    return t


@pytest.fixture
def server(tenant: SandboxTenant) -> Iterator[SandboxServer]:
    with SandboxServer(tenant) as running:
        yield running


@pytest.fixture
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, headers=HEADERS, timeout=5) as client:
        yield client


def rows(client: httpx.Client, provider: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/Archive/{provider}", params={f"${k}": v for k, v in params.items()})
    assert response.status_code == 200, response.text
    return response.json()["value"]


def ids_of(client: httpx.Client, where: str) -> list[int]:
    return [r["personId"] for r in rows(client, "Person", select="personId", filter=where)]


def bad(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["Error"] is True and body["ErrorType"] and body["ErrorSource"]
    for word in words:
        assert word in body["ErrorMessage"]


# ---------------------------------------------------------------- archive answers


def test_person_rows_have_superoffice_slim_shape(api: httpx.Client) -> None:
    select = (
        "personId,fullName,personRegisteredDate,email/emailAddress,personAssociateId,"
        "personUdef/SuperOffice:7,personUdef/SuperOffice:9,hasEmarketingConsent,"
        "withdrawnEmarketingConsent,personNoMail,phone/formattedNumber"
    )
    response = api.get("/v1/Archive/Person", params={"$select": select, "$top": "2"})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["odata.metadata"] == f"{api.base_url}v1/Archive/$metadata".replace(
        "api/v1", "api/v1"
    )
    assert body["odata.nextLink"] is None
    first, second = body["value"]
    assert first["PrimaryKey"] == str(first["personId"]) and first["EntityName"] == "person"
    assert first["personRegisteredDate"] == "2025-09-01T23:30:00"
    assert first["personAssociateId"] == "Elin Nyberg"
    assert first["personUdef/SuperOffice:7"] == "Intresserad"
    assert first["personUdef/SuperOffice:9"] == "[DT:01/01/0001 00:00:00.0000000]"
    assert first["hasEmarketingConsent"] is True and first["withdrawnEmarketingConsent"] is False
    assert first["phone/formattedNumber"] == ""
    assert second["fullName"] == "Olle O'Brien"
    assert second["personUdef/SuperOffice:9"] == "[DT:08/27/2025 00:00:00.0000000]"
    assert second["hasEmarketingConsent"] is False and second["withdrawnEmarketingConsent"] is True


def test_activity_rows_show_names_but_give_ids_in_person_personid(api: httpx.Client) -> None:
    first = ids_of(api, "personId gt 0")[0]
    found = rows(
        api,
        "PersonActivity",
        select="personId,person/personId,registeredBy,registeredByFullName,associateId,type",
        filter=f"personId oneOf ({first})",
    )
    assert [r["EntityName"] for r in found] == ["document", "appointment"]
    assert found[0]["personId"] == "Anna Berg" and found[0]["person/personId"] == first
    assert (
        found[0]["registeredBy"] == ids.FORM_USER[0]
        and found[1]["registeredByFullName"] == "Anna Lind"
    )
    assert isinstance(found[0]["PrimaryKey"], str)
    only_appointments = rows(api, "PersonActivity", select="date", entities="appointment")
    assert [r["EntityName"] for r in only_appointments] == ["appointment"]


def test_post_archive_takes_form_encoded_parameters(api: httpx.Client) -> None:
    wanted = ids_of(api, "personId gt 0")
    response = api.post(
        "/v1/Archive/Person",
        data={"$select": "personId", "$filter": f"personId in ({','.join(map(str, wanted))})"},
    )
    assert [r["personId"] for r in response.json()["value"]] == wanted


def test_in_process_transport_answers_like_the_server(tenant: SandboxTenant) -> None:
    base = f"{IN_PROCESS_BASE_URL}/{ids.CONTEXT_IDENTIFIER}/api"
    with httpx.Client(transport=transport(tenant), base_url=base, headers=AUTH) as client:
        found = rows(client, "Person", select="fullName", orderBy="fullName desc")
        assert [r["fullName"] for r in found] == ["Zoë Back\\slash", "Olle O'Brien", "Anna Berg"]
        state = client.get(f"{IN_PROCESS_BASE_URL}/api/state/{ids.CONTEXT_IDENTIFIER}").json()
        assert state["Api"] == base and state["IsRunning"] is True


# ---------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"$select": "personId,nickname"}, ["nickname"]),
        ({"$select": "personInterestIds"}, ["personInterestIds", "$filter"]),
        ({"$filter": "personId like 3"}, ["like"]),
        ({"$filter": "fullName eq 'Anna'"}, ["eq", "fullName"]),
        ({"$filter": "personInterestIds eq 104"}, ["eq"]),
        ({"$filter": "personRegisteredDate before '2025-13-01'"}, ["2025-13-01"]),
        ({"$filter": "personRegisteredDate before 2025-01-01"}, ["date"]),
        ({"$filter": "personId gt 1 and"}, ["column"]),
        ({"$filter": "(personId gt 1"}, ["')'"]),
        ({"$filter": "hasEmarketingConsent set 2"}, ["set"]),
        ({"$filter": "personRegisteredDate after 'x\\n'"}, ["escape"]),
        ({"$orderBy": "personId sideways"}, ["$orderBy"]),
        ({"$top": "-1"}, ["$top"]),
        ({"$entities": "appointment"}, ["$entities"]),
        ({"$format": "json"}, ["$format"]),
    ],
)
def test_archive_refuses_what_superoffice_refuses(
    api: httpx.Client, params: dict[str, str], words: list[str]
) -> None:
    bad(api.get("/v1/Archive/Person", params=params), *words)


def test_unknown_provider_entity_and_paths_are_400(api: httpx.Client) -> None:
    bad(api.get("/v1/Archive/Contact"), "Contact")
    bad(api.get("/v1/Archive/PersonActivity", params={"$entities": "sale"}), "sale")
    bad(api.get("/v1/Contact/1"))
    bad(api.put("/v1/Contact/1", json={}))  # PUT /v1/Person/{id} exists: tenants without PATCH
    bad(api.get("/v1/MDOList/category"))


# ---------------------------------------------------------------- filter semantics


def test_date_operators_compare_the_utc_date_part(api: httpx.Client) -> None:
    anna, olle, zoe = ids_of(api, "personId gt 0")
    # Anna registered 2025-09-01 23:30 UTC: the date part is the 1st, whatever the clock says.
    assert ids_of(api, "personRegisteredDate after '2025-08-31'") == [anna, olle]
    assert ids_of(api, "personRegisteredDate before '2025-09-02'") == [anna, zoe]
    assert ids_of(api, "personRegisteredDate between ('2025-09-01','2025-09-01')") == [anna]
    assert ids_of(api, "personRegisteredDate afterTime '2025-09-01T23:30:00'") == [olle]
    assert ids_of(api, "personRegisteredDate beforeTime '2025-09-01T23:30:01'") == [anna, zoe]
    assert ids_of(api, f"personUdef/{ids.MOVE_DATE_FIELD} after '2025-08-26'") == [olle]


def test_list_operators_on_multi_and_single_valued_fields(api: httpx.Client) -> None:
    anna, olle, zoe = ids_of(api, "personId gt 0")
    krokom, are, berg = (ids.KOMMUN_INTERESTS[k] for k in ("Krokom", "Åre", "Berg"))
    assert ids_of(api, f"personInterestIds oneOf ({krokom},{are})") == [anna, olle]
    assert ids_of(api, f"personInterestIds notOneOf ({krokom},{berg})") == [zoe]
    assert ids_of(api, f"personInterestIds equals {ids.NEWSLETTER_INTEREST}") == [olle]
    status = f"personUdef/{ids.MOVE_STATUS_FIELD}"
    moved = ids.MOVE_STATUS_VALUES["moved"]
    assert ids_of(api, f"{status} oneOf ({moved})") == [olle]
    assert ids_of(api, f"{status} notOneOf ({moved})") == [anna, zoe]  # no value: notOneOf holds
    assert ids_of(api, f"{status} equals {ids.MOVE_STATUS_VALUES['interested']}") == [anna]
    assert ids_of(api, "hasEmarketingConsent set 1") == [anna]
    assert ids_of(api, "withdrawnEmarketingConsent set 1 or personNoMail set 1") == [olle]


def test_and_binds_tighter_than_or_and_brackets_regroup(api: httpx.Client) -> None:
    anna, olle, zoe = ids_of(api, "personId gt 0")
    assert ids_of(api, f"personId eq {zoe} or personId eq {anna} and personId eq {olle}") == [zoe]
    assert ids_of(api, f"(personId eq {zoe} or personId eq {anna}) and personId ne {zoe}") == [anna]
    assert ids_of(api, f"personId ne {anna} and (personId lt {olle} or personId gt {olle})") == [
        zoe
    ]


def test_quoted_values_take_escaped_quotes_and_backslashes(tenant: SandboxTenant) -> None:
    from ta_steget_cli.sandbox.query import PERSON_COLUMNS, tokens

    found = [t.text for t in tokens(r"x after 'O\'Brien \\' and")]
    assert found == ["x", "after", "O'Brien \\", "and", ""]
    with pytest.raises(ValueError, match="Unterminated"):
        tokens("x after 'open")
    assert "fullName" in PERSON_COLUMNS


def test_keyset_paging_returns_every_person_once() -> None:
    tenant = SandboxTenant(persons=700, seed=3, today=NOW.date(), clock=Clock(NOW))
    with httpx.Client(
        transport=transport(tenant), base_url=f"{IN_PROCESS_BASE_URL}/Cust00000/api", headers=AUTH
    ) as client:
        seen: list[int] = []
        last = 0
        while True:
            page = rows(
                client,
                "Person",
                select="personId",
                filter=f"personId gt {last}",
                orderBy="personId",
                top="100",
            )
            seen += [r["personId"] for r in page]
            if len(page) < 100:
                break
            last = page[-1]["personId"]
        assert seen == sorted(set(seen))
        assert seen == [p.id for p in tenant.persons()]
        skipped = rows(
            client, "Person", select="personId", orderBy="personId desc", skip="5", top="3"
        )
        assert [r["personId"] for r in skipped] == seen[::-1][5:8]


def test_id_ranges_and_highest_first_answer_as_a_full_walk_would() -> None:
    """The sandbox seeks `personId gt/lt` bounds and walks backwards for `personId desc`
    instead of filtering every person; the answers are those of a full walk, with other
    conditions, deleted persons and $skip/$top applied the same way."""
    tenant = SandboxTenant(persons=700, seed=3, today=NOW.date(), clock=Clock(NOW))
    everyone = [p.id for p in tenant.persons()]
    tenant.delete(tenant.person(everyone[10]))
    live = [p.id for p in tenant.persons() if p.deleted_at is None]
    krokom = ids.KOMMUN_INTERESTS["Krokom"]
    low, high = everyone[5], everyone[300]
    with httpx.Client(
        transport=transport(tenant), base_url=f"{IN_PROCESS_BASE_URL}/Cust00000/api", headers=AUTH
    ) as client:

        def answer(where: str, order: str = "personId", **more: str) -> list[int]:
            page = rows(client, "Person", select="personId", filter=where, orderBy=order, **more)
            return [r["personId"] for r in page]

        in_krokom = set(answer(f"personInterestIds oneOf ({krokom})", top="1000"))
        assert 0 < len(in_krokom) < len(live)
        ranged = answer(
            f"personInterestIds oneOf ({krokom}) and personId lt {high} and personId gt {low}",
            top="1000",
        )
        assert ranged == [i for i in live if low < i < high and i in in_krokom]
        assert answer(f"personId lt {high} and personId lt {low + 3}", top="1000") == [
            i for i in live if i < low + 3
        ]
        assert answer(f"personId gt {high}", order="personId desc", top="1") == [live[-1]]
        assert (
            answer(f"personId lt {high}", order="personId desc", top="2", skip="1")
            == [i for i in reversed(live) if i < high][1:3]
        )


# ---------------------------------------------------------------- one person


def test_patch_merges_custom_fields_and_moves_updated_date(api: httpx.Client, clock: Clock) -> None:
    anna = ids_of(api, "personId gt 0")[0]
    before = api.get(f"/v1/Person/{anna}").json()
    moved = ids.MOVE_STATUS_VALUES["moved"]
    patch = [
        {"op": "test", "path": "UpdatedDate", "value": before["UpdatedDate"]},
        {"op": "replace", "path": "/CustomFields", "value": {"SuperOffice:7": f"[I:{moved}]"}},
    ]
    after = api.patch(f"/v1/Person/{anna}", json=patch).json()
    assert after["CustomFields"]["SuperOffice:7"] == f"[I:{moved}]"
    assert after["CustomFields"]["SuperOffice:7:DisplayText"] == "Har flyttat"
    assert after["CustomFields"]["SuperOffice:10"] == before["CustomFields"]["SuperOffice:10"]
    assert after["UpdatedDate"] == "2025-09-15T10:00:00"
    again = api.patch(f"/v1/Person/{anna}", json=patch[1:]).json()  # same second: still later
    assert again["UpdatedDate"] == "2025-09-15T10:00:01"
    stale = api.patch(f"/v1/Person/{anna}", json=patch)
    assert stale.status_code == 409 and stale.json()["Error"] is True


def test_patch_refuses_bad_custom_fields(api: httpx.Client) -> None:
    anna = ids_of(api, "personId gt 0")[0]
    for value in (
        {"SuperOffice:7:org": "[I:201]"},
        {"SuperOffice:7": "[I:999]"},
        {"SuperOffice:99": "x"},
        {"SuperOffice:9": "[D:2025.02.30]"},
    ):
        bad(
            api.patch(
                f"/v1/Person/{anna}",
                json=[{"op": "replace", "path": "CustomFields", "value": value}],
            )
        )
    bad(api.patch(f"/v1/Person/{anna}", json=[{"op": "replace", "path": "PersonId", "value": 1}]))
    bad(api.patch(f"/v1/Person/{anna}", json=[{"op": "move", "path": "Firstname", "value": "x"}]))


def test_if_unmodified_since_gives_412_when_changed_later(api: httpx.Client) -> None:
    anna = ids_of(api, "personId gt 0")[0]
    updated = datetime.fromisoformat(api.get(f"/v1/Person/{anna}").json()["UpdatedDate"] + "+00:00")
    earlier = {"If-Unmodified-Since": format_datetime(updated - timedelta(seconds=1), usegmt=True)}
    same = {"If-Unmodified-Since": format_datetime(updated, usegmt=True)}
    body = [{"op": "replace", "path": "NoMailing", "value": True}]
    assert api.patch(f"/v1/Person/{anna}", json=body, headers=earlier).status_code == 412
    assert api.delete(f"/v1/Person/{anna}", headers=earlier).status_code == 412
    assert api.patch(f"/v1/Person/{anna}", json=body, headers=same).status_code == 200


def test_delete_is_soft_and_undelete_brings_back_within_retention(
    api: httpx.Client, clock: Clock
) -> None:
    anna, olle, _ = ids_of(api, "personId gt 0")
    assert api.delete(f"/v1/Person/{anna}").status_code == 204
    assert api.delete(f"/v1/Person/{anna}").status_code == 404
    assert api.get(f"/v1/Person/{anna}").json()["ErrorType"] == "SoNotFoundException"
    assert anna not in ids_of(api, "personId gt 0")
    assert rows(api, "PersonActivity", select="date", filter=f"personId oneOf ({anna})") == []
    undeleted = api.post("/v1/Agents/Person/Undelete", json={"Id": anna})
    assert undeleted.status_code == 204 and undeleted.content == b""
    assert anna in ids_of(api, "personId gt 0")
    assert len(rows(api, "PersonActivity", select="date", filter=f"personId oneOf ({anna})")) == 2
    api.delete(f"/v1/Person/{olle}")
    clock.now += timedelta(days=15)
    assert api.post("/v1/Agents/Person/Undelete", json={"Id": olle}).status_code == 404


def test_consent_and_reference_lists(api: httpx.Client) -> None:
    anna, olle, _ = ids_of(api, "personId gt 0")
    assert api.get(f"/v1/Person/{anna}/Consent/EMARKETING").json() is True
    assert api.get(f"/v1/Person/{olle}/Consent/EMARKETING").json() is False
    assert api.get(f"/v1/Person/{olle}/Consent/STORE").json() is True
    persint = api.get("/v1/MDOList/persint").json()
    items = [child for heading in persint for child in heading["ChildItems"]]
    assert {i["Id"] for i in items} >= set(ids.KOMMUN_INTERESTS.values()) | {110}
    layout = api.get("/v1/Person/UdefLayout/Published").json()
    assert [f["ProgId"] for f in layout] == [
        "SuperOffice:7",
        "SuperOffice:8",
        "SuperOffice:9",
        "SuperOffice:10",
    ]
    items = api.get(f"/v1/List/{ids.MOVE_STATUS_LIST}/Items").json()
    assert {i["Id"]: i["Name"] for i in items} == ids.MOVE_STATUS_NAMES
    assert api.get("/v1/User/currentPrincipal").json()["FullName"] == "Systemanvändare Sandbox"


def test_entity_holds_interests_consents_and_custom_fields(api: httpx.Client) -> None:
    olle = ids_of(api, "personId gt 0")[1]
    entity = api.get(f"/v1/Person/{olle}").json()
    selected = {i["Id"] for i in entity["Interests"] if i["Selected"]}
    assert selected == {ids.KOMMUN_INTERESTS["Åre"], ids.KOMMUN_INTERESTS["Berg"], 110}
    keys = {(c["ConsentPurposeKey"], c["LegalBaseKey"]) for c in entity["Consents"]}
    assert keys == {("STORE", "CONSENT"), ("EMARKETING", "WITHDRAWN")}
    assert entity["CustomFields"]["SuperOffice:8"] == f"[I:{ids.MOVED_TO_VALUES['Åre']}]"
    assert entity["CustomFields"]["SuperOffice:9"] == "[DT:08/27/2025 00:00:00.0000000]"
    assert entity["UserDefinedFields"]["SuperOffice:9"] == "[D:08/27/2025 00:00:00.0000000]"
    assert entity["CustomFields"]["SuperOffice:10:DisplayText"] == "Telefon"
    assert entity["FullName"] == "Olle O'Brien" and entity["CreatedDate"] == "2025-09-02T10:00:00"


# ---------------------------------------------------------------- tenant state


def test_state_answers_the_api_url_of_the_port_asked(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    state = httpx.get(f"{server.base_url}/api/state/{ids.CONTEXT_IDENTIFIER}").json()
    assert state["Api"] == server.api_url and state["State"] == "Running"
    tenant.state = "Offline"
    down = httpx.get(f"{server.api_url}/v1/User/currentPrincipal", headers=AUTH)
    assert down.status_code == 503 and down.headers["content-type"].startswith("text/html")
    tenant.state = "OnlineMaintenance"
    assert httpx.get(f"{server.api_url}/v1/User/currentPrincipal", headers=AUTH).status_code == 200


def test_determinism_same_seed_same_data() -> None:
    def snapshot(seed: int) -> list[tuple[Any, ...]]:
        tenant = SandboxTenant(persons=300, seed=seed, today=date(2025, 9, 15), clock=Clock(NOW))
        return [
            (p.id, p.full_name, p.registered, p.email, p.interests, p.status, p.consent,
             [(a.id, a.kind, a.date, a.user) for a in p.activities])
            for p in tenant.persons()
        ]  # fmt: skip

    assert snapshot(5) == snapshot(5)
    assert snapshot(5) != snapshot(6)


def test_serve_forever_announces_its_urls_and_stops_on_ctrl_c() -> None:
    from ta_steget_cli.sandbox import serve_forever

    seen: list[tuple[str, str]] = []

    def announce(base_url: str, api_url: str) -> None:
        seen.append((base_url, api_url))
        raise KeyboardInterrupt  # what Ctrl-C does in the CLI's serve loop

    serve_forever(SandboxTenant(persons=0), "127.0.0.1", 0, announce)
    ((base_url, api_url),) = seen
    assert base_url.startswith("http://127.0.0.1:") and api_url == f"{base_url}/Cust00000/api"
