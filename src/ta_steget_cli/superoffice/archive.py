"""Reading SuperOffice archive providers page by page: one paginator owns the page size, keyset
paging (`key gt last`, never $skip), id chunking (`id oneOf (...)`) and the checks that an
answer is the one asked for (a repeated page, a chunk answered with other persons' rows).

It does not send anything itself: `fetch` asks for one page (the client's `_archive`), so the
paginator can be tested and driven without HTTP.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from .. import filters
from ..errors import ApiError, PageRepeated
from ..i18n import _
from ..parallel import in_order
from .values import primary_key

logger = logging.getLogger("ta_steget_cli.superoffice")

Row = dict[str, Any]

# Archive columns that are plain ints (operators eq/in/gt); other id columns are lists (oneOf).
_INT_ID_COLUMNS = frozenset({("Person", "personId")})

# Where an id-chunked answer says whose row it is: PersonActivity filters on `personId` (a list
# column whose Slim value is the person's name) but carries the id in `person/personId`.
_ROW_ID_COLUMNS = {"PersonActivity": "person/personId", "Person": "personId"}


class PostRefused(ApiError):
    """A query too long for a GET URL, on a tenant without archive POST: ask in pieces."""


class FetchPage(Protocol):
    def __call__(
        self, provider: str, params: dict[str, str], url: str | None = None
    ) -> dict[str, Any]:
        """One archive page: a body whose "value" is a list of rows."""
        ...


def archive_params(
    select: Sequence[str],
    filter: str | None,
    entities: Sequence[str] | None,
    **extra: str,
) -> dict[str, str]:
    params = {"$select": ",".join(select)}
    if filter:
        params["$filter"] = filter
    if entities:
        params["$entities"] = ",".join(entities)
    params.update(extra)
    return params


class Paginator:
    """Every row of an archive question, however many pages or chunks it takes."""

    def __init__(
        self,
        fetch: FetchPage,
        page_size: int,
        api_url: Callable[[], str],
        workers: int = 1,
        pace: float = 0.0,
        last_answer: Callable[[], float] = lambda: math.inf,
    ) -> None:
        self._fetch = fetch
        self.page_size = page_size
        self._api_url = api_url
        self.workers = workers  # pages asked for at once (the client's max_in_flight)
        self.pace = pace  # seconds the rate limit gives one request (1 / requests_per_second)
        # Seconds the tenant took to answer this thread's last request (limiter wait excluded).
        self.last_answer = last_answer

    # -- keyset paging

    def scan(
        self,
        provider: str,
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        key: str = "personId",
    ) -> Iterator[Row]:
        """Every row of `provider` matching `filter`, paged by `key` (never $skip), in key order.

        Stops on a short page, so a result that is an exact multiple of page_size costs one
        more (empty) request. Raises PageRepeated when a page does not move past the last key.
        One page at a time; `ranges.split_scan` reads a long scan in id ranges side by side."""
        for rows, _more in self.pages(provider, select, filter, entities, key, None):
            yield from rows

    def pages(
        self,
        provider: str,
        select: Sequence[str],
        filter: str | None,
        entities: Sequence[str] | None,
        key: str,
        after: int | None,
    ) -> Generator[tuple[list[Row], bool], None, None]:
        """The pages of a keyset scan from past `after`, each with whether more may follow."""
        columns = list(select) if key in select else [*select, key]
        last = after
        next_link: str | None = None
        asked = answered = 0  # $top of the last keyset request, rows answered to it so far
        while True:
            if next_link:
                body = self._fetch(provider, {}, url=next_link)
            else:
                asked, answered = self.page_size, 0
                where = filters.all_of(filter, filters.gt(key, last) if last is not None else None)
                params = archive_params(
                    columns, where, entities, **{"$orderBy": key, "$top": str(asked)}
                )
                body = self._fetch(provider, params)
            rows: list[Row] = body["value"]
            # The caller's columns: the key may come back empty or missing (PrimaryKey stands in).
            _check_columns(provider, rows, select)
            last = _check_page(provider, rows, key, last)
            answered += len(rows)
            next_link = self._next_link(body)
            if next_link and answered == len(rows):
                # The first answer to this $top was cut: ranges and later scans are then sized
                # by the server's page, so that each is one request, not a request and a link.
                self._learn_cap(len(rows))
            # A server that caps $top answers in several pages linked by nextLink: the question
            # is answered in full only when all its pages together fall short of $top.
            more = bool(next_link) or answered >= asked
            yield rows, more
            if not more:
                return

    def highest(
        self, provider: str, filter: str | None, entities: Sequence[str] | None, key: str
    ) -> int | None:
        """The highest `key` of the rows matching `filter` (None: no rows)."""
        params = archive_params([key], filter, entities, **{"$orderBy": f"{key} desc", "$top": "1"})
        rows: list[Row] = self._fetch(provider, params)["value"]
        return max((_row_key(row, key) for row in rows), default=None)

    def _learn_cap(self, rows: int) -> None:
        """A page cut short with a nextLink shows the server's most rows per answer: ask for no
        more from now on, so that a short page keeps meaning "the last one"."""
        if 0 < rows < self.page_size:
            logger.info(
                "SuperOffice answers at most %d rows at a time; page size now %d", rows, rows
            )
            self.page_size = rows

    def _next_link(self, body: dict[str, Any]) -> str | None:
        link = body.get("odata.nextLink")
        if not isinstance(link, str) or not link:
            return None
        api_url = self._api_url()
        absolute = urljoin(api_url + "/", link)
        # A nextLink must stay on the tenant's host: the ticket goes with it.
        if urlsplit(absolute).netloc != urlsplit(api_url).netloc:
            text = _("SuperOffice's odata.nextLink points to another host: {url}")
            raise ApiError(text.format(url=absolute))
        return absolute

    # -- id chunking

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
        id_operator: str | None = None,
    ) -> Iterator[Row]:
        """Rows of `provider` for the given ids, asked in chunks (`id_column oneOf (...)`).

        A chunk whose answer fills a whole page may have been cut: it is split in halves and
        asked again; a single id that still fills a page is read with $skip pages.
        `id_operator` defaults to `in` for an int key column (Person's personId) and `oneOf`
        for list columns (PersonActivity's personId)."""
        unique = sorted({int(i) for i in ids})
        size = max(1, chunk_size or self.page_size)
        match = _id_match(id_column, id_operator or _id_operator(provider, id_column))
        chunks = [unique[start : start + size] for start in range(0, len(unique), size)]

        def read(chunk: list[int]) -> list[Row]:
            return list(self._chunk(provider, chunk, match, select, filter, entities))

        # The chunks are independent questions: asked at once, answered in the ids' order.
        for rows in in_order(read, chunks, self.workers):
            yield from rows

    def _chunk(
        self,
        provider: str,
        ids: list[int],
        match: Callable[[list[int]], str],
        select: Sequence[str],
        filter: str | None,
        entities: Sequence[str] | None,
    ) -> Iterator[Row]:
        where = filters.all_of(match(ids), filter)
        params = archive_params(select, where, entities, **{"$top": str(self.page_size)})
        try:
            body = self._fetch(provider, params)
        except PostRefused:
            if len(ids) == 1:
                raise
            half = len(ids) // 2
            yield from self._chunk(provider, ids[:half], match, select, filter, entities)
            yield from self._chunk(provider, ids[half:], match, select, filter, entities)
            return
        answered: list[Row] = body["value"]
        _check_columns(provider, answered, select)
        if self._next_link(body):
            self._learn_cap(len(answered))
        rows = _own_rows(provider, answered, ids, select)
        if len(answered) < self.page_size:
            yield from rows
            return
        if len(ids) > 1:
            half = len(ids) // 2
            yield from self._chunk(provider, ids[:half], match, select, filter, entities)
            yield from self._chunk(provider, ids[half:], match, select, filter, entities)
            return
        yield from rows
        yield from self._skip_pages(provider, params)

    def _skip_pages(self, provider: str, params: dict[str, str]) -> Iterator[Row]:
        """The last resort for one id with more rows than a page: $skip inside that one id."""
        page_size = self.page_size
        skip = page_size
        while True:
            page = {**params, "$skip": str(skip)}
            rows: list[Row] = self._fetch(provider, page)["value"]
            _check_columns(provider, rows, params["$select"].split(","))
            yield from rows
            if len(rows) < page_size:
                return
            skip += page_size


def _id_operator(provider: str, id_column: str) -> str:
    return "in" if (provider, id_column) in _INT_ID_COLUMNS else "oneOf"


def _id_match(id_column: str, operator: str) -> Callable[[list[int]], str]:
    """Builds `id_column <operator> (ids)` for a chunk of ids."""
    if operator == "in":
        return lambda chunk: filters.in_(id_column, chunk)
    if operator == "oneOf":
        return lambda chunk: filters.one_of(id_column, chunk)
    raise ValueError(f"id_operator must be 'in' or 'oneOf', not {operator!r}")


def _check_page(provider: str, rows: list[Row], key: str, last: int | None) -> int | None:
    """The highest key of the page; a page not wholly past `last` means a loop."""
    keys = [_row_key(row, key) for row in rows]
    if last is not None and any(k <= last for k in keys):
        raise PageRepeated(
            f"SuperOffice answered a page of {provider} that does not move past "
            f"{key} {last}; stopping so that no row is read twice or lost",
            path=f"/v1/Archive/{provider}",
        )
    return max(keys, default=last)


def _check_columns(provider: str, rows: list[Row], columns: Sequence[str]) -> None:
    """Every row carries every column asked for. A page without them answers another question
    (a stale cache, a proxy or a server handing back an earlier answer): read as this one, its
    rows would turn into empty values and be dropped, and the command would end with an empty
    list and exit 0. Stop instead."""
    for row in rows:
        missing = [column for column in columns if column not in row]
        if missing:
            raise PageRepeated(
                _(
                    "SuperOffice answered /v1/Archive/{provider} with rows without the columns "
                    "asked for ({missing}): an answer to another question; stopping so that "
                    "nothing is read wrong; try again"
                ).format(provider=provider, missing=", ".join(missing[:3])),
                path=f"/v1/Archive/{provider}",
            )


def _own_rows(provider: str, rows: list[Row], ids: list[int], select: Sequence[str]) -> list[Row]:
    """The rows of the persons asked for. A tenant may add rows of follow-ups a person is
    invited to, carrying the owner's id (`doctor --probe` says so): those are dropped. An
    answer with no row of the persons asked for is an answer to another question (a proxy or
    server repeating an earlier page): using it would silently drop this chunk's rows, so stop."""
    column = _ROW_ID_COLUMNS.get(provider)
    if column is None or column not in select or not rows:
        return rows
    asked = set(ids)
    own = [row for row in rows if row.get(column) not in (None, "") and int(row[column]) in asked]
    if not own:
        value = rows[0].get(column)
        raise PageRepeated(
            f"SuperOffice answered /v1/Archive/{provider} for persons {ids[0]}-{ids[-1]} "
            f"with rows of person {value!r}, not asked for; stopping so that no row is "
            "lost; try again",
            path=f"/v1/Archive/{provider}",
        )
    if len(own) < len(rows):
        logger.debug("dropped %d rows of persons not asked for", len(rows) - len(own))
    return own


def row_key(row: Row, key: str) -> int:
    """A row's key as an int (its PrimaryKey when the key column is empty)."""
    return _row_key(row, key)


def _row_key(row: Row, key: str) -> int:
    value = row.get(key)
    if value is None or value == "":
        return primary_key(row)
    return int(value)
