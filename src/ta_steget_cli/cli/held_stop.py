"""A stop (Ctrl-C, SIGTERM) taken between result lines only. Raised wherever it lands, a
KeyboardInterrupt can cut a line off after its person was written, or land inside a thread
pool's lock and leave the workers waiting on it for ever; noted and taken at `check()`, it stops
the run where nothing is half done, and the steps under way are finished and shown."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any]


class HeldStop:
    """The first stop is noted and goes on at the next `check()` (the handler that was there
    raises it: KeyboardInterrupt, or the CLI's Terminated for SIGTERM); a second one before
    that goes on at once, for a run that must end now."""

    def __init__(self) -> None:
        self._pending: int | None = None
        self._handlers: dict[int, Handler] = {}

    def check(self) -> None:
        if self._pending is not None:
            number, self._pending = self._pending, None
            self._handlers[number](number, None)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self._pending is None:
            self._pending = number
            return
        self._pending = None
        self._handlers[number](number, frame)


@contextmanager
def stops_held() -> Iterator[HeldStop]:
    """A HeldStop over SIGINT and SIGTERM where they raise (Python's Ctrl-C handler, the CLI's
    SIGTERM one); an ignored or default signal is left as it is, and so is everything off the
    main thread (signals reach only the main thread)."""
    held = HeldStop()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
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
