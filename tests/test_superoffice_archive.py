"""The archive paginator on its own: it pages and chunks through whatever `fetch` it is given,
with no HTTP, so its rules can be checked on a list in memory."""

from __future__ import annotations

from typing import Any

import pytest

from ta_steget_cli.errors import PageRepeated
from ta_steget_cli.superoffice.archive import Paginator

API = "https://sod2.superoffice.com/Cust12345/api"


class Pages:
    """An archive of persons 1..n that answers `personId gt k` and `personId in (...)`."""

    def __init__(self, n: int) -> None:
        self.rows = [{"personId": i, "PrimaryKey": str(i)} for i in range(1, n + 1)]
        self.asked: list[dict[str, str]] = []

    def __call__(
        self, provider: str, params: dict[str, str], url: str | None = None
    ) -> dict[str, Any]:
        self.asked.append(params)
        where = params.get("$filter", "")
        top = int(params["$top"])
        rows = self.rows
        if " gt " in where:
            last = int(where.rsplit(" gt ", 1)[1])
            rows = [r for r in rows if r["personId"] > last]
        if " in (" in where:
            wanted = {int(x) for x in where.split("(", 1)[1].rstrip(")").split(",")}
            rows = [r for r in rows if r["personId"] in wanted]
        # Like SuperOffice, every row carries every column asked for.
        columns = [c for c in params.get("$select", "").split(",") if c]
        return {"value": [{**dict.fromkeys(columns, ""), **row} for row in rows[:top]]}


def test_scan_pages_by_key_until_a_short_page() -> None:
    pages = Pages(7)
    paginator = Paginator(pages, 3, lambda: API)
    rows = list(paginator.scan("Person", select=["fullName"]))
    assert [r["personId"] for r in rows] == list(range(1, 8))
    assert len(pages.asked) == 3  # 3 + 3 + 1
    assert all(p["$orderBy"] == "personId" and "$skip" not in p for p in pages.asked)


def test_scan_stops_on_a_page_that_does_not_move_on() -> None:
    def same_page(provider: str, params: dict[str, str], url: str | None = None) -> Any:
        return {"value": [{"personId": 1, "fullName": ""}, {"personId": 2, "fullName": ""}]}

    with pytest.raises(PageRepeated, match="does not move past personId 2"):
        list(Paginator(same_page, 2, lambda: API).scan("Person", select=["fullName"]))


def test_by_ids_chunks_by_page_size_and_asks_each_id_once() -> None:
    pages = Pages(10)
    rows = list(Paginator(pages, 4, lambda: API).by_ids("Person", [9, 2, 2, 5], select=["x"]))
    assert sorted(r["personId"] for r in rows) == [2, 5, 9]
    assert len(pages.asked) == 1
    assert pages.asked[0]["$filter"].startswith("personId in (2,5,9)")
