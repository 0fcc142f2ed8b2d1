"""`status import` a batch at a time: which rows already hold what they ask for, read through the
archive for a page of rows at once, and the rest worked on side by side, in file order.

A person's move status and moved-to are UDEF list values, whose Slim archive values are display
texts: they are read by filtering on item ids (`Register.holding`), never by parsing what the
archive shows. A move date's archive value is the date itself and is compared as a value. A
row whose person the archive does not return is read with a GET as before, so every outcome of
that read (no such person, no right) stays the same.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Protocol, TypeVar, cast

from .move_status import StatusChange
from .parallel import in_order
from .superoffice.values import same_value, udef_date

T = TypeVar("T")
R = TypeVar("R")


class HeldValues(Protocol):
    """What the batch check needs of the register (Register.holding)."""

    def holding(
        self,
        person_ids: Iterable[int],
        status: str,
        moved_to: str | None = None,
        *,
        with_date: bool = False,
    ) -> dict[int, Any]: ...


def batches(items: Iterable[T], size: Callable[[], int]) -> Iterator[list[T]]:
    """The items in lists of at most `size()` (asked before each list, at least 1): a file of
    any length is read a bounded batch at a time."""
    items = iter(items)
    while batch := list(islice(items, max(1, size()))):
        yield batch


def already_held(reader: HeldValues, changes: Sequence[StatusChange], workers: int) -> set[int]:
    """The person ids of those changes whose person holds every value the change asks for now.

    The changes are grouped by status and moved-to: one archive question per group, narrowed
    to the group's ids (the groups asked side by side), with the move date column only when a
    change of the group has a date."""
    groups: dict[tuple[str, str | None], list[StatusChange]] = {}
    for change in changes:
        groups.setdefault((change.status, change.moved_to), []).append(change)
    keys = list(groups)

    def ask(key: tuple[str, str | None]) -> dict[int, Any]:
        group = groups[key]
        dated = any(change.move_date is not None for change in group)
        return reader.holding([c.person_id for c in group], *key, with_date=dated)

    held: set[int] = set()
    for key, found in zip(keys, in_order(ask, keys, workers), strict=True):
        for change in groups[key]:
            if change.person_id in found and holds_date(found[change.person_id], change):
                held.add(change.person_id)
    return held


def holds_date(value: Any, change: StatusChange) -> bool:
    """Whether the archive's move date value is the date the change asks for (any, if none)."""
    return change.move_date is None or same_value(value, udef_date(change.move_date))


def rows_per_batch(page_size: int) -> int:
    """Rows read together: one less than a page, so that an answer naming all of them is
    still short of a page and known to be whole (a full page is split and asked again)."""
    return max(1, page_size - 1)


def side_by_side(
    work: Callable[[T], R], items: Sequence[T], workers: int, at_once: Callable[[T], R | None]
) -> Iterator[R]:
    """Every item's answer in the items' order: `at_once(item)` where it answers without a
    request, else `work(item)`, those on up to `workers` threads (`parallel.in_order`).

    A stop (Ctrl-C, a signal) raised here or passed in with `throw` waits for the steps under
    way and still hands out their answers, in order, before it is raised again: a write that
    went out is shown and counted. A step that fails stops the rest as in_order does (the
    steps under way are answered, then the failure is raised)."""
    quick: dict[int, R] = {}
    slow: list[int] = []
    for index, item in enumerate(items):
        answer = at_once(item)
        if answer is None:
            slow.append(index)
        else:
            quick[index] = answer
    finished: dict[int, R] = {}  # answers of steps done, until handed out

    def step(index: int) -> tuple[int, R]:
        answer = work(items[index])
        finished[index] = answer
        return index, answer

    answers = cast(Generator[tuple[int, R], None, None], in_order(step, slow, workers))
    shown = 0  # the items before this one are handed out (or failed)
    try:
        while shown < len(items):
            if shown in quick:
                shown += 1
                yield quick[shown - 1]
                continue
            # The next worked answer; after a failure in_order leaves the failed one out.
            index, answer = next(answers)
            while shown < index:
                shown += 1
                if shown - 1 in quick:
                    yield quick[shown - 1]
            shown = index + 1
            yield answer
            finished.pop(index, None)  # after the yield: a stop passed in there has it shown
    except KeyboardInterrupt:
        answers.close()  # no new step starts; those under way are waited for
        for index in range(shown, max(finished, default=-1) + 1):
            if index in finished or index in quick:
                yield finished[index] if index in finished else quick[index]
        raise


def rest_after_stop(results: Generator[T, None, None], stop: BaseException) -> Iterator[T]:
    """After a stop met while a result was being shown: the results of the steps that were
    already under way, in order (the stop is passed into `results`, see side_by_side)."""
    try:
        result = results.throw(stop)
    except (KeyboardInterrupt, StopIteration):
        return
    yield result
    while True:
        try:
            result = next(results)
        except (KeyboardInterrupt, StopIteration):
            return
        yield result


class Unsettled:
    """The lines read into a batch and not answered yet, in file order. With several workers a
    row after a failing one can be done and shown while the failing one is not, so "stopped
    after the last row shown" would not be true: the first of these lines is the first row
    not done. Only a batch's few rows are ever held."""

    def __init__(self) -> None:
        self._lines: dict[int, None] = {}  # a dict keeps the order they were read in

    def reading(self, lines: Iterable[T], line_of: Callable[[T], int]) -> Iterator[T]:
        for item in lines:
            self._lines[line_of(item)] = None
            yield item

    def answered(self, line: int) -> None:
        self._lines.pop(line, None)

    def first_before(self, line: int) -> int | None:
        """The first line not answered, if it comes before `line` (the last one answered)."""
        first = next(iter(self._lines), None)
        return first if first is not None and first < line else None
