"""The sandbox answers as SuperOffice does, not friendlier (issue 11, item 2), and each
undocumented semantic has a switch that answers it the other way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from ta_steget_cli.sandbox import SandboxServer, SandboxTenant, ids
from ta_steget_cli.sandbox.realism import Realism

NOW = datetime(2025, 9, 15, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"SOTicket {ids.TICKET}", "SO-AppToken": ids.APP_TOKEN}


def at(day: str, clock: str = "10:00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}+00:00")


def small_tenant(realism: Realism | None = None) -> SandboxTenant:
    t = SandboxTenant(persons=0, today=NOW.date(), clock=lambda: NOW, realism=realism)
    anna = t.add_person(
        "Anna", "Berg", registered=at("2025-09-01"), kommuner=["Krokom"], status="interested"
    )
    olle = t.add_person(
        "Olle",
        "Ek",
        registered=at("2025-09-02"),
        kommuner=["Åre"],
        interests=[ids.NEWSLETTER_INTEREST],
        status="moved",
        moved_to="Åre",
        move_date=date(2025, 8, 27),
    )
    t.add_person("Zoë", "Utan", registered=at("2025-09-03"))  # no interests at all
    t.add_activity(anna, "document", date=at("2025-09-01", "10:01:00"), registered_by=ids.FORM_USER)
    t.add_activity(olle, "appointment", date=at("2025-07-01", "22:30:00"), invited=[anna])
    return t


class Api:
    def __init__(self, tenant: SandboxTenant) -> None:
        self.tenant = tenant
        self.server = SandboxServer(tenant).__enter__()
        self.http = httpx.Client(base_url=self.server.api_url, headers=AUTH, timeout=5)

    def close(self) -> None:
        self.http.close()
        self.server.close()

    def rows(self, provider: str, headers: dict[str, str] | None = None, **params: str) -> Any:
        answer = self.http.get(
            f"/v1/Archive/{provider}",
            params={f"${k}": v for k, v in params.items()},
            headers=headers,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def ids(self, where: str) -> list[int]:
        body = self.rows("Person", select="personId", filter=where, orderBy="personId")
        return [r["personId"] for r in body["value"]]


@pytest.fixture
def serve() -> Iterator[Any]:
    opened: list[Api] = []

    def make(realism: Realism | None = None) -> Api:
        api = Api(small_tenant(realism or Realism.real()))
        opened.append(api)
        return api

    yield make
    for api in opened:
        api.close()


# ---------------------------------------------------------------- documented forms


def test_date_udefs_are_encoded_as_superoffice_writes_them(serve: Any) -> None:
    """CustomFields carry `[DT:MM/dd/yyyy HH:mm:ss.fffffff]` (CultureDataFormatter.EncodeDateTime,
    SuperOfficeDocs/superoffice-docs docs/api/netserver/erp-connectors/api/
    field-value-formats-and-conventions.md: "[DT:12/31/2013 23:59:59.0000000]"), unset is year 1
    (`[DT:01/01/0001 00:00:00.0000000]`, e.g. `dbi_last_syncronized` in SuperOffice's own
    Table/ReadRow example); UserDefinedFields use the D marker (`[D:01/26/2022 00:01:00.0000000]`
    from a real tenant's recorded answer, superoffice-contract.md section 4)."""
    api = serve()
    anna, olle, _ = api.ids("personId gt 0")
    moved = api.http.get(f"/v1/Person/{olle}").json()
    assert moved["CustomFields"][ids.MOVE_DATE_FIELD] == "[DT:08/27/2025 00:00:00.0000000]"
    assert moved["UserDefinedFields"][ids.MOVE_DATE_FIELD] == "[D:08/27/2025 00:00:00.0000000]"
    unset = api.http.get(f"/v1/Person/{anna}").json()
    assert unset["CustomFields"][ids.MOVE_DATE_FIELD] == "[DT:01/01/0001 00:00:00.0000000]"
    assert unset["CustomFields"][f"{ids.MOVE_STATUS_FIELD}:DisplayTooltip"] == ""
    column = f"personUdef/{ids.MOVE_DATE_FIELD}"
    body = api.rows("Person", select=f"personId,{column}", orderBy="personId")
    assert [r[column] for r in body["value"][:2]] == [
        "[DT:01/01/0001 00:00:00.0000000]",
        "[DT:08/27/2025 00:00:00.0000000]",
    ]


@pytest.mark.parametrize(
    "sent",
    [
        "[D:09.11.2017]",  # the "Encoded values" page (docs/api/netserver/archive-providers/
        "[DT:11/09/2017 14:53:18]",  # encoded-values.md in SuperOfficeDocs/superoffice-docs)
        "[DT:11/09/2017 00:00:00.0000000]",  # CultureDataFormatter.EncodeDateTime's layout
        "[D:11/09/2017 00:01:00.0000000]",  # UserDefinedFields on a real tenant
        "[D:2017.11.09]",  # the layout the contract used to name
        "2017-11-09",  # "Data values passed into NetServer do not need to be encoded"
    ],
)
def test_patch_takes_every_date_layout_and_answers_the_encoder_form(serve: Any, sent: str) -> None:
    api = serve()
    anna = api.ids("personId gt 0")[0]
    patch = [{"op": "replace", "path": "CustomFields", "value": {ids.MOVE_DATE_FIELD: sent}}]
    answer = api.http.patch(f"/v1/Person/{anna}", json=patch)
    assert answer.status_code == 200, answer.text
    assert answer.json()["CustomFields"][ids.MOVE_DATE_FIELD] == (
        "[DT:11/09/2017 00:00:00.0000000]"
    )
    assert api.tenant.person(anna).move_date == date(2017, 11, 9)


def test_list_texts_are_multi_language_unless_a_language_is_asked_for(serve: Any) -> None:
    """Swagger-v1-Archive.json (SuperOffice's own, in superoffice-openapi/): Accept-Language
    "Convert string references and multi-language values into a specified language"; without
    it the stored `SV:"…";US:"…";` string comes back (CultureDataFormatter's page shows
    `US:"Legal";NO:"Lovlig";`)."""
    api = serve()
    column = f"personUdef/{ids.MOVE_STATUS_FIELD}"
    raw = api.rows("Person", select=column, orderBy="personId")["value"][0][column]
    assert raw == 'SV:"Intresserad";US:"Interested";NO:"Interessert";'
    sv = api.rows("Person", {"Accept-Language": "sv"}, select=column, orderBy="personId")
    assert sv["value"][0][column] == "Intresserad"
    en = api.rows("Person", {"Accept-Language": "en"}, select=column, orderBy="personId")
    assert en["value"][0][column] == "Interested"
    items = api.http.get(f"/v1/List/{ids.MOVE_STATUS_LIST}/Items").json()
    assert items[0]["Name"].startswith('SV:"')
    friendly = serve(Realism.friendly())
    assert friendly.rows("Person", select=column, orderBy="personId")["value"][0][column] == (
        "Intresserad"
    )


def test_forms_register_as_a_system_login(serve: Any) -> None:
    """A real tenant shows `sysCust25708` in registeredBy for forms (superoffice-contract.md)."""
    api = serve()
    anna = api.ids("personId gt 0")[0]
    body = api.rows(
        "PersonActivity", select="person/personId,registeredBy", filter=f"personId oneOf ({anna})"
    )
    assert [r["registeredBy"] for r in body["value"]] == ["sysCust00000"]


def test_top_is_capped_and_next_link_leads_to_the_rest(serve: Any) -> None:
    """superoffice-contract.md section 3: `$top` may be capped by the server; then
    `odata.nextLink` is filled."""
    api = serve(Realism(max_top=2))
    first = api.rows("Person", select="personId", orderBy="personId", top="3")
    assert len(first["value"]) == 2 and first["odata.nextLink"]
    rest = api.http.get(first["odata.nextLink"]).json()
    assert len(rest["value"]) == 1 and rest["odata.nextLink"] is None
    seen = [r["personId"] for r in first["value"] + rest["value"]]
    assert seen == [p.id for p in api.tenant.persons()]
    unbounded = api.rows("Person", select="personId", orderBy="personId")
    assert len(unbounded["value"]) == 2 and "%24skip=2" in unbounded["odata.nextLink"]


def test_interests_come_under_headings(serve: Any) -> None:
    api = serve()
    persint = api.http.get("/v1/MDOList/persint", headers={"Accept-Language": "sv"}).json()
    assert all(item["Id"] < 0 and item["ChildItems"] for item in persint)
    children = {c["Id"]: c["Name"] for h in persint for c in h["ChildItems"]}
    assert children[ids.KOMMUN_INTERESTS["Krokom"]] == "Krokom"
    assert children[ids.NEWSLETTER_INTEREST] == "Nyhetsbrev"


def test_archive_post_can_be_refused_and_long_urls_are_refused(serve: Any) -> None:
    """superoffice-contract.md section 3: POST on the archive is recent; older NetServers answer
    404. IIS refuses a query string over 2048 characters (maxQueryString) with 404."""
    api = serve(Realism(archive_post=False))
    form = {"$select": "personId", "$filter": "personId gt 0"}
    assert api.http.post("/v1/Archive/Person", data=form).status_code == 404
    assert api.http.get("/v1/Archive/Person", params=form).status_code == 200
    long = {"$select": "personId", "$filter": f"personId in ({','.join(['1000'] * 500)})"}
    assert api.http.get("/v1/Archive/Person", params=long).status_code == 404
    accepting = serve()
    assert accepting.http.post("/v1/Archive/Person", data=long).status_code == 200


# ---------------------------------------------------------------- undocumented semantics


def test_not_one_of_with_and_without_persons_without_interests(serve: Any) -> None:
    where = f"personInterestIds notOneOf ({ids.KOMMUN_INTERESTS['Krokom']})"
    including = serve()
    excluding = serve(Realism.real().flipped("not_one_of_includes_empty"))
    assert len(including.ids(where)) == 2
    assert len(excluding.ids(where)) == 1  # Zoë, with no interests at all, is left out


def test_two_interest_restrictions_anded_or_ored(serve: Any) -> None:
    where = (
        f"personInterestIds oneOf ({ids.KOMMUN_INTERESTS['Krokom']}) "
        f"and personInterestIds oneOf ({ids.NEWSLETTER_INTEREST})"
    )
    assert serve().ids(where) == []
    assert len(serve(Realism.real().flipped("interest_restrictions")).ids(where)) == 2


def test_activities_of_invited_participants(serve: Any) -> None:
    plain = serve()
    anna, olle, _ = plain.ids("personId gt 0")
    where = f"personId oneOf ({anna})"
    select = "person/personId,date"
    assert {r["person/personId"] for r in plain.rows("PersonActivity", select=select,
                                                      filter=where)["value"]} == {anna}  # fmt: skip
    inviting = serve(Realism.real().flipped("invited_participants"))
    found = inviting.rows("PersonActivity", select=select, filter=where)["value"]
    assert {r["person/personId"] for r in found} == {anna, olle}


def test_activity_date_in_utc_or_local_time(serve: Any) -> None:
    where = "personId oneOf ({})"
    utc = serve()
    olle = utc.ids("personId gt 0")[1]
    select = "date,registeredDate"
    row = utc.rows("PersonActivity", select=select, filter=where.format(olle))["value"][0]
    assert row["date"] == "2025-07-01T22:30:00"
    local = serve(Realism.real().flipped("activity_date_zone"))
    row = local.rows("PersonActivity", select=select, filter=where.format(olle))["value"][0]
    assert row["date"] == "2025-07-02T00:30:00" and row["registeredDate"] == "2025-07-01T22:30:00"
    after = f"personId oneOf ({olle}) and date after '2025-07-01'"
    assert utc.rows("PersonActivity", select=select, filter=after)["value"] == []
    assert len(local.rows("PersonActivity", select=select, filter=after)["value"]) == 1


def test_updated_date_with_fractions_of_a_second(serve: Any) -> None:
    api = serve(Realism.real().flipped("update_precision"))
    anna = api.ids("personId gt 0")[0]
    entity = api.http.get(f"/v1/Person/{anna}").json()
    whole, fraction = entity["UpdatedDate"].split(".")
    assert len(fraction) == 7 and int(fraction) > 0
    same_second = datetime.fromisoformat(whole + "+00:00")
    header = {"If-Unmodified-Since": format_datetime(same_second, usegmt=True)}
    body = [{"op": "replace", "path": "NoMailing", "value": True}]
    assert api.http.patch(f"/v1/Person/{anna}", json=body, headers=header).status_code == 412
    seconds = [{"op": "test", "path": "UpdatedDate", "value": whole}, *body]
    assert api.http.patch(f"/v1/Person/{anna}", json=seconds).status_code == 409
    exact = [{"op": "test", "path": "UpdatedDate", "value": entity["UpdatedDate"]}, *body]
    assert api.http.patch(f"/v1/Person/{anna}", json=exact).status_code == 200
