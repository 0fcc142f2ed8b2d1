"""Time limits the client keeps: a total for each request, and an optional one for the whole
command. httpx's timeout limits each read, not the request, so an answer that trickles in a
byte a second would never end; and a cron job must end even when SuperOffice does not."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from ..errors import DeadlinePassed
from ..i18n import _


class AnswerTooSlow(httpx.ReadTimeout):
    """The answer did not arrive in full within the request's total deadline: a timeout like
    any other, so the retry policy treats it as transient."""


@dataclass
class Deadlines:
    """The request deadline (`request_seconds`, counted from each attempt's start) and the
    command's (`command_until`, on the `monotonic` clock; None for none)."""

    request_seconds: float
    read_seconds: float  # httpx's per-read timeout ([superoffice] timeout_seconds)
    command_until: float | None
    command_seconds: float | None
    monotonic: Callable[[], float]
    _held: int = 0  # inside a step that must not be cut in half (a person of a purge)
    # Purge workers enter and leave their persons' steps at once.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # A stop asked for (Ctrl-C, SIGTERM; cli/held_stop.py): raises it on the thread that calls.
    _stop: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def stop(self, raise_stop: Callable[[], None] | None) -> None:
        """From now on no new request goes out, on any thread: the next one raises the stop
        instead (inside a person's step, once that step is done), and so does the next
        person's step as it begins. None: no stop (any more)."""
        self._stop = raise_stop

    def check(self) -> None:
        """Raises DeadlinePassed once the command's deadline has passed, or the stop asked
        for: no new request."""
        self._stopping()
        until = self._command_until()
        if until is not None and self.monotonic() >= until:
            raise self._passed()

    def allow_wait(self, seconds: float) -> None:
        """A retry that could only start after the command's deadline is not waited for, and
        none after a stop."""
        self._stopping()
        until = self._command_until()
        if until is not None and self.monotonic() + seconds >= until:
            raise self._passed()

    def request_until(self) -> float:
        """When the attempt starting now must have its whole answer."""
        until = self.monotonic() + self.request_seconds
        command = self._command_until()
        return until if command is None else min(until, command)

    @contextmanager
    def person_step(self) -> Iterator[None]:
        """One step of a run that must not be cut in half (a purge's person: re-read, back up,
        delete): the command's deadline is checked on entering it, then only the request
        deadlines and the retry budget bound it, so the run stops between steps."""
        if self._stop is not None:  # persons under way are finished, no new one begins
            self._stop()
        # The command's own deadline, even while other workers are inside their persons' steps.
        if self.command_until is not None and self.monotonic() >= self.command_until:
            raise self._passed()
        with self._lock:
            self._held += 1
        try:
            yield
        finally:
            with self._lock:
                self._held -= 1

    def _stopping(self) -> None:
        stop = self._stop
        if stop is not None and not self._held:
            stop()

    def _command_until(self) -> float | None:
        return None if self._held else self.command_until

    def timeout(self, until: float) -> httpx.Timeout:
        """Each read (and the connect) waits no longer than the time left, so a silent server
        is cut at the deadline too, not only a slow one."""
        left = max(0.001, until - self.monotonic())
        return httpx.Timeout(min(self.read_seconds, left))

    def read(self, response: httpx.Response, until: float) -> None:
        """Reads the body chunk by chunk, giving up (AnswerTooSlow) once `until` has passed."""
        response.stream = _Deadlined(response, until, self.monotonic, self.request_seconds)
        try:
            response.read()
        finally:
            response.close()

    def _passed(self) -> DeadlinePassed:
        return DeadlinePassed(
            _(
                "the command's deadline of {seconds:g} s has passed (--deadline or [run] "
                "deadline_seconds); stopped before the next call to SuperOffice"
            ).format(seconds=self.command_seconds or 0)
        )


class _Deadlined(httpx.SyncByteStream):
    """A response body that stops with AnswerTooSlow once its deadline has passed."""

    def __init__(
        self, response: httpx.Response, until: float, clock: Callable[[], float], total: float
    ) -> None:
        self._inner = response.stream
        self._request = response.request
        self._until, self._clock, self._total = until, clock, total

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._inner, httpx.SyncByteStream)
        for chunk in self._inner:
            if self._clock() > self._until:
                text = _("the answer was not complete within {seconds:g} s")
                raise AnswerTooSlow(text.format(seconds=self._total), request=self._request)
            yield chunk

    def close(self) -> None:
        if isinstance(self._inner, httpx.SyncByteStream):
            self._inner.close()
