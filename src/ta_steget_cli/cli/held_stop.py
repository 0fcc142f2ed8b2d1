"""A stop (Ctrl-C, SIGTERM) taken where nothing is half done. Raised wherever it lands, a
KeyboardInterrupt can cut a line off after its person was written, cut a person of a purge in
half, or land inside a thread pool's lock and leave the run waiting on it for ever; noted, and
taken at a `check()` or at the next request to SuperOffice, it stops the run where nothing is
half done: the steps under way are finished (and shown, or journaled)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from types import FrameType
from typing import Any, Protocol

from ..i18n import _

Handler = Callable[[int, FrameType | None], Any]
RaiseStop = Callable[[], None]


class HeldStop:
    """The first stop is noted and goes on at the next `check()` (the handler that was there
    raises it: KeyboardInterrupt, or the CLI's Terminated for SIGTERM); a second one, before
    or after that, goes on at once, for a run that must end now (the steps under way are
    being finished). `on_stop` hears of the first one with a function that raises it, on
    whichever thread calls it (the client's workers)."""

    def __init__(self, on_stop: Callable[[RaiseStop], None] | None = None) -> None:
        self._heard = False
        self._pending: int | None = None
        self._handlers: dict[int, Handler] = {}
        self._on_stop = on_stop
        self._notice = b""

    def check(self) -> None:
        if self._pending is not None:
            number, self._pending = self._pending, None
            self._handlers[number](number, None)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if not self._heard:
            self._heard = True
            self._pending = number
            _tell(self._notice)
            if self._on_stop is not None:
                self._on_stop(partial(self._raise, number))
            return
        self._pending = None
        self._handlers[number](number, frame)

    def _raise(self, number: int) -> None:
        self._handlers[number](number, None)


def _tell(notice: bytes) -> None:
    """Says, on stderr, that the stop is heard: written on the file descriptor, since the
    handler may run while the main thread is inside a write to sys.stderr's own buffer."""
    # No descriptor: stderr is captured in-process (the tests' CliRunner).
    with suppress(AttributeError, OSError, ValueError):
        os.write(sys.stderr.fileno(), notice)


@contextmanager
def stops_held(on_stop: Callable[[RaiseStop], None] | None = None) -> Iterator[HeldStop]:
    """A HeldStop over SIGINT and SIGTERM where they raise (Python's Ctrl-C handler, the CLI's
    SIGTERM one); an ignored or default signal is left as it is, and so is everything off the
    main thread (signals reach only the main thread)."""
    held = HeldStop(on_stop)
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    text = _("stopping once what is under way is done; Ctrl-C again stops at once")
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    held._notice = f"tasteget: {text}\n".encode(encoding, "replace")
    for name in ("SIGINT", "SIGTERM"):
        number = getattr(signal, name, None)
        if number is not None:
            previous = signal.getsignal(number)
            if callable(previous):
                held._handlers[number] = previous
                signal.signal(number, held._handle)
    try:
        yield held
    finally:
        for number, handler in held._handlers.items():
            signal.signal(number, handler)


class Stoppable(Protocol):
    """What a stop is passed on to: the client's deadlines (superoffice/deadline.py)."""

    def stop(self, raise_stop: RaiseStop | None) -> None: ...


@contextmanager
def stops_at_requests(deadlines: Stoppable) -> Iterator[None]:
    """A command's reading, its requests side by side: a stop is taken by the next request to
    SuperOffice, on whichever thread would send it, or when the reading is done, whichever
    comes first. The requests under way end as they would (bounded by the request deadline);
    none starts after them, so the run ends within about one answer's time."""
    with stops_held(deadlines.stop) as held:
        try:
            yield
        finally:
            deadlines.stop(None)
        held.check()


@contextmanager
def stops_between_persons(deadlines: Stoppable) -> Iterator[None]:
    """A purge or an undo: a stop lets the persons under way finish (re-read, back up, delete,
    journal: the client's `person_step` holds it off) and starts no new one. A stop that comes
    when every person is done changes nothing: the run's result is shown."""
    with stops_held(deadlines.stop):
        try:
            yield
        finally:
            deadlines.stop(None)
