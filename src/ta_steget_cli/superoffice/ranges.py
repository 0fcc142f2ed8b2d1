"""A long keyset scan read in id ranges side by side, merged back into key order.

A keyset scan asks for each page with the last key of the one before, so it can only go one page
at a time: at 300 ms an answer, 50 pages take 15 s where the rate limit allows 5. Once the first
pages show the scan is long, the highest key is asked for (one request), and the keys between are
cut into ranges expected to hold a little less than a page each, judged by how densely the rows
read so far lie. The ranges are asked for on the workers, a few ahead of the one being read, and
answered in order; a range that fills its page after all goes on by key inside itself. Memory
stays at a few pages, and the requests near the minimum (one for the highest key, and the
ranges' slack). A tenant that answers a page faster than the rate limit gives a request is read
one page at a time to the end: the rate, not the answers, sets the pace then.

Rows registered after the highest key was read are not part of this scan: it answers the
register as it was when the scan began, as a one-page-at-a-time scan may or may not.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .. import filters
from ..parallel import in_order
from .archive import Paginator, row_key

Row = dict[str, Any]

# Pages read one after another before a scan counts as long: most scans (a municipality's
# persons, an id's activities) end within them and never pay for the highest-key request.
SEQUENTIAL_PAGES = 3
# How full a range is meant to be: slack for rows lying denser than those read so far, so that
# a range seldom needs a second request.
FILL = 0.9


class _Density:
    """Rows per key, from every page read so far (the workers add theirs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rows = 0
        self.keys = 0

    def add(self, rows: int, keys: int) -> None:
        with self._lock:
            self.rows += rows
            self.keys += max(keys, 1)

    def span(self, page_size: int) -> int:
        """Keys a range should cover to hold about FILL pages of rows."""
        with self._lock:
            per_key = self.rows / self.keys if self.keys else 1.0
        return max(1, int(FILL * page_size / max(per_key, 1e-9)))


def split_scan(
    pager: Paginator,
    provider: str,
    select: Sequence[str],
    filter: str | None,
    entities: Sequence[str] | None,
    key: str,
) -> Iterator[Row]:
    """Every row of `provider` matching `filter`, in key order, as `Paginator.scan` answers
    them: the first pages one by one, the rest in ranges side by side (with one worker, all
    one by one)."""
    if pager.workers <= 1:
        yield from pager.scan(provider, select=select, filter=filter, entities=entities, key=key)
        return
    density = _Density()
    first: int | None = None
    last: int | None = None
    count = 0
    quickest = math.inf  # the tenant's shortest answer to these pages
    pages = pager.pages(provider, select, filter, entities, key, None)
    for read, (rows, more) in enumerate(pages, 1):
        quickest = min(quickest, pager.last_answer())
        yield from rows
        count += len(rows)
        if rows:
            first = row_key(rows[0], key) if first is None else first
            last = row_key(rows[-1], key)
        if not more or first is None or last is None:
            return
        if read == SEQUENTIAL_PAGES:
            break
    if quickest <= pager.pace:
        # A tenant that answers within the time the rate limit gives one request is read as
        # fast one page at a time: ranges would only add the highest-key question and slack.
        for rows, _more in pages:
            yield from rows
        return
    pages.close()
    if first is None or last is None:
        return
    density.add(count, last - first + 1)
    highest = pager.highest(provider, filter, entities, key)
    if highest is None or highest <= last:
        return
    ranges = _ranges(pager, density, last, highest)

    def scan_range(bounds: tuple[int, int]) -> list[Row]:
        after, upto = bounds
        where = filters.all_of(filter, filters.lt(key, upto + 1))
        found = [
            row
            for rows, _more in pager.pages(provider, select, where, entities, key, after)
            for row in rows
        ]
        density.add(len(found), upto - after)
        return found

    for rows in in_order(scan_range, ranges, pager.workers):
        yield from rows


def _ranges(
    pager: Paginator, density: _Density, after: int, highest: int
) -> Iterator[tuple[int, int]]:
    """(after, upto] ranges up to `highest`, each sized when it is asked for, so that it uses
    the density of every range answered before it."""
    while after < highest:
        upto = min(highest, after + density.span(pager.page_size))
        yield after, upto
        after = upto
