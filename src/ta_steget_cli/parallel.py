"""Independent steps on a few threads, their answers in the order they were asked for.

The steps themselves do the I/O (through the client); this module only schedules them, so a
service may use it and stay a plain function over its arguments. The client's limiter keeps every
worker under the one rate limit; here nothing waits on the clock.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar, cast, overload

T = TypeVar("T")
R = TypeVar("R")

_NOT_STARTED = object()  # a step left alone because an earlier one failed
# glibc's mallopt parameter for the most malloc arenas (malloc.h).
_M_ARENA_MAX = -8


@functools.cache
def share_malloc_arenas() -> bool:
    """On Linux with glibc, at most two malloc arenas for the whole process: glibc gives each
    thread that allocates an arena of its own, and the answers workers parse leave their freed
    pages in it (at 50,000 persons `status list` and `report` peaked 4-5 MB higher than one
    request at a time, and no higher with two arenas). The GIL already serialises nearly all
    allocation, so sharing costs no speed. True when glibc took the setting."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, 2))
    except (OSError, AttributeError):  # not glibc (musl has no libc.so.6 nor mallopt)
        return False


def in_order(work: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """`work(item)` for every item, on up to `workers` threads, answered in the items' order.

    At most `workers + 1` steps are started ahead of the answer being read, so a long list is
    never all in memory at once. After a step fails, no new step starts; those already running
    finish and their answers are still given, in order; then the first failure is raised. This is
    what a purge needs: every person whose delete went out has its journal line and its count.
    Ctrl-C while waiting stops the same way. One worker: the steps run here, one after another."""
    if workers <= 1:
        yield from (work(item) for item in items)
        return
    stop = threading.Event()

    def step(item: T) -> R | object:
        if stop.is_set():
            return _NOT_STARTED
        try:
            return work(item)
        except BaseException:
            stop.set()
            raise

    share_malloc_arenas()
    with ThreadPoolExecutor(workers, thread_name_prefix="tasteget") as pool:
        try:
            yield from _answers(pool, step, iter(items), workers + 1, stop)
        except BaseException:
            stop.set()  # Ctrl-C, or the consumer gave up: start nothing more
            raise


def _answers(
    pool: ThreadPoolExecutor,
    step: Callable[[T], R | object],
    items: Iterator[T],
    ahead: int,
    stop: threading.Event,
) -> Iterator[R]:
    pending: deque[Future[R | object]] = deque()
    failure: BaseException | None = None
    while True:
        while not stop.is_set() and len(pending) < ahead:
            item = next(items, _NOT_STARTED)
            if item is _NOT_STARTED:
                break
            pending.append(pool.submit(step, cast(T, item)))
        if not pending:
            break
        try:
            answer = _result(pending.popleft())
        except Exception as exc:
            failure = failure or exc
            continue
        if answer is not _NOT_STARTED:
            yield cast(R, answer)
    if failure is not None:
        raise failure


# The longest the waiting thread sleeps before it looks again. On Windows a wait without a time
# limit is not interrupted by a signal: a Ctrl-C would not even be noted (and the steps under
# way told to end, cli/held_stop.py) until the step waited for had ended by itself.
_WAKE_SECONDS = 0.25


def _result(future: Future[R]) -> R:
    while not future.done():
        wait((future,), timeout=_WAKE_SECONDS)
    return future.result()


A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")
E = TypeVar("E")


@overload
def together(workers: int, a: Callable[[], A], b: Callable[[], B], /) -> tuple[A, B]: ...
@overload
def together(
    workers: int, a: Callable[[], A], b: Callable[[], B], c: Callable[[], C], /
) -> tuple[A, B, C]: ...
@overload
def together(
    workers: int,
    a: Callable[[], A],
    b: Callable[[], B],
    c: Callable[[], C],
    d: Callable[[], D],
    e: Callable[[], E],
    /,
) -> tuple[A, B, C, D, E]: ...
def together(workers: int, *questions: Callable[[], object]) -> tuple[object, ...]:
    """Independent questions asked at once, each on a thread of its own, answered in the order
    given: a service whose questions do not depend on each other waits for the slowest of them,
    not for their sum. The same failure and Ctrl-C rules as `in_order`; `workers` 1 (a config
    of `max_in_flight = 1`) asks them one after another."""
    width = len(questions) if workers > 1 else 1
    return tuple(in_order(lambda question: question(), questions, width))
