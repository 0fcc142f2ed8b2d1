"""Keyset scans and id-chunked queries against a fake archive (respx): request counts, the split
of a full page, the POST of a long id list, and a repeated page."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from ta_steget_cli.errors import PageRepeated
from tests.superoffice_fakes import API, FakeArchive, FakeClock, client, query

ARCHIVE = f"{API}/v1/Archive/Person"
ACTIVITIES = f"{API}/v1/Archive/PersonActivity"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def scan_ids(archive: FakeArchive, mock: respx.MockRouter, page_size: int, **kw: object) -> list:
    mock.route(url=ARCHIVE).mock(side_effect=archive)
    so = client(FakeClock(), page_size=page_size)
    rows = list(so.scan("Person", select=["fullName"], **kw))  # type: ignore[arg-type]
    return [r["personId"] for r in rows]


def test_scan_stops_on_a_short_page(mock: respx.MockRouter) -> None:
    archive = FakeArchive([1, 2, 3, 5, 8, 13, 21])
    assert scan_ids(archive, mock, 3) == [1, 2, 3, 5, 8, 13, 21]
    assert len(archive.requests) == 3


def test_scan_of_an_exact_multiple_costs_one_empty_request(mock: respx.MockRouter) -> None:
    archive = FakeArchive([1, 2, 3, 4, 5, 6])
    assert scan_ids(archive, mock, 3) == [1, 2, 3, 4, 5, 6]
    assert len(archive.requests) == 3


def test_scan_pages_by_key_with_the_callers_filter(mock: respx.MockRouter) -> None:
    archive = FakeArchive([1, 2, 3, 4])
    scan_ids(archive, mock, 3, filter="personInterestIds oneOf (104)", entities=None)
    first, second = (query(r) for r in archive.requests)
    assert first["$select"] == "fullName,personId"
    assert first["$orderBy"] == "personId" and first["$top"] == "3"
    assert first["$filter"] == "personInterestIds oneOf (104)"
    assert second["$filter"] == "personInterestIds oneOf (104) and personId gt 3"
    assert "$skip" not in first and "$skip" not in second


def test_scan_brackets_an_or_filter(mock: respx.MockRouter) -> None:
    archive = FakeArchive([1, 2, 3, 4])
    scan_ids(archive, mock, 3, filter="personId lt 3 or personId eq 4")
    assert query(archive.requests[1])["$filter"] == (
        "(personId lt 3 or personId eq 4) and personId gt 3"
    )


def test_scan_of_nothing_is_one_request(mock: respx.MockRouter) -> None:
    archive = FakeArchive([])
    assert scan_ids(archive, mock, 3) == []
    assert len(archive.requests) == 1


def test_repeated_page_is_detected(mock: respx.MockRouter) -> None:
    page = {"value": [{"PrimaryKey": str(i), "personId": i, "fullName": ""} for i in (1, 2, 3)]}
    route = mock.get(ARCHIVE).mock(return_value=httpx.Response(200, json=page))
    so = client(FakeClock(), page_size=3)
    with pytest.raises(PageRepeated, match="personId 3"):
        list(so.scan("Person", select=["fullName"]))
    assert route.call_count == 2


def test_next_link_is_followed(mock: respx.MockRouter) -> None:
    pages = [
        httpx.Response(
            200,
            json={
                "odata.nextLink": "v1/Archive/Person?$skiptoken=abc",
                "value": [{"PrimaryKey": "1", "personId": 1, "fullName": ""}],
            },
        ),
        httpx.Response(200, json={"value": [{"PrimaryKey": "2", "personId": 2, "fullName": ""}]}),
    ]
    route = mock.get(url__startswith=ARCHIVE).mock(side_effect=pages)
    so = client(FakeClock(), page_size=3)
    assert [r["personId"] for r in so.scan("Person", select=["fullName"])] == [1, 2]
    assert route.calls[1].request.url.params["$skiptoken"] == "abc"


def test_key_falls_back_to_primary_key() -> None:
    rows = {"value": [{"PrimaryKey": "7", "fullName": ""}, {"PrimaryKey": 9, "fullName": ""}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=rows))
    so = client(FakeClock(), page_size=3, transport=transport)
    assert len(list(so.scan("Person", select=["fullName"], key="personId"))) == 2


def test_by_ids_chunks_and_dedupes(mock: respx.MockRouter) -> None:
    archive = FakeArchive(list(range(1, 11)))
    mock.route(url=ACTIVITIES).mock(side_effect=archive)
    so = client(FakeClock(), page_size=5)
    rows = list(
        so.by_ids(
            "PersonActivity",
            [3, 1, 2, 2, 9, 3],
            select=["date"],
            filter="registeredDate before '2026-03-19'",
            entities=["appointment", "document"],
        )
    )
    assert sorted(r["personId"] for r in rows) == [1, 2, 3, 9]
    (only,) = archive.requests
    params = query(only)
    assert params["$filter"] == "personId oneOf (1,2,3,9) and registeredDate before '2026-03-19'"
    assert params["$entities"] == "appointment,document"
    assert params["$top"] == "5"
    assert so.stats.by_kind["archive:PersonActivity"] == 1


def test_by_ids_on_person_uses_in(mock: respx.MockRouter) -> None:
    archive = FakeArchive([1, 2, 3])
    mock.route(url=ARCHIVE).mock(side_effect=archive)
    so = client(FakeClock(), page_size=5)
    assert len(list(so.by_ids("Person", [1, 2], select=["fullName"]))) == 2
    assert query(archive.requests[0])["$filter"] == "personId in (1,2)"


def test_by_ids_splits_a_full_page(mock: respx.MockRouter) -> None:
    # Two rows per person: four persons fill a page of 4 rows... and more.
    archive = FakeArchive([1, 2, 3, 4], per_id=2)
    mock.route(url=ACTIVITIES).mock(side_effect=archive)
    so = client(FakeClock(), page_size=4)
    rows = list(so.by_ids("PersonActivity", [1, 2, 3, 4], select=["date"], chunk_size=4))
    assert len(rows) == 8
    assert len({r["PrimaryKey"] for r in rows}) == 8
    filters = [query(r)["$filter"] for r in archive.requests]
    assert filters[0] == "personId oneOf (1,2,3,4)"
    # The full answer is split in halves; each half fills a page again and is split once more.
    assert "personId oneOf (1,2)" in filters and "personId oneOf (3,4)" in filters
    assert "personId oneOf (1)" in filters


def test_single_id_with_a_full_page_is_read_with_skip(mock: respx.MockRouter) -> None:
    archive = FakeArchive([7], per_id=7)
    mock.route(url=ACTIVITIES).mock(side_effect=archive)
    so = client(FakeClock(), page_size=3)
    rows = list(so.by_ids("PersonActivity", [7], select=["date"]))
    assert len(rows) == 7 and len({r["PrimaryKey"] for r in rows}) == 7
    skips = [query(r).get("$skip") for r in archive.requests]
    assert skips == [None, "3", "6"]


def test_long_id_list_goes_as_form_post(mock: respx.MockRouter) -> None:
    ids = list(range(100_000, 100_600))
    archive = FakeArchive(ids[:10])
    mock.route(url=ACTIVITIES).mock(side_effect=archive)
    so = client(FakeClock(), page_size=1000)
    rows = list(so.by_ids("PersonActivity", ids, select=["date"]))
    assert len(rows) == 10
    (request,) = archive.requests
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert query(request)["$filter"].startswith("personId oneOf (100000,100001,")
    assert len(str(request.url)) < 200


def test_by_ids_of_nothing_sends_nothing(mock: respx.MockRouter) -> None:
    route = mock.route(url=ACTIVITIES)
    so = client(FakeClock())
    assert list(so.by_ids("PersonActivity", [], select=["date"])) == []
    assert route.call_count == 0
