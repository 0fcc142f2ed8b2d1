"""What a long read is doing, on a terminal: one line on stderr, rewritten in place (pages and
rows read, requests made, and, when the number of pages is known, the time left at the rate
limit), in the user's language, cleared when the read ends. Only a read of more than one page
shows it, and only when stderr is a terminal (the Runtime decides that).

The services never print: the CLI hands this observer to the client it gives them, and the
client tells it about every archive page it reads."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

from ..i18n import _

# Redrawn at most this often: a fast sandbox read must not spend its time on the terminal.
MIN_INTERVAL = 0.1


def what_is_read(provider: str) -> str:
    if provider == "Person":
        return _("persons")
    if provider.endswith("Activity"):
        return _("activities")
    return _("rows")


class TerminalProgress:
    def __init__(
        self,
        stream: TextIO,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] = lambda: shutil.get_terminal_size().columns,
    ) -> None:
        self._stream = stream
        self._columns = columns
        self._rate = rate
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._provider = ""
        self._expected: int | None = None
        self._pages = self._rows = self._requests = 0
        self._shown = 0  # length of the line on the screen now
        self._drawn_at: float | None = None

    def started(self, provider: str, expected_pages: int | None) -> None:
        with self._lock:
            self._provider, self._expected = provider, expected_pages
            self._pages = self._rows = 0

    def page(self, provider: str, rows: int, requests: int) -> None:
        with self._lock:
            self._provider = provider
            self._pages += 1
            self._rows += rows
            self._requests = requests
            now = self._monotonic()
            if self._pages < 2:
                return
            if self._drawn_at is not None and now - self._drawn_at < MIN_INTERVAL:
                return
            self._drawn_at = now
            self._draw(self.line())

    def ended(self, provider: str) -> None:
        with self._lock:
            if self._shown:
                self._stream.write("\r" + " " * self._shown + "\r")
                self._stream.flush()
                self._shown = 0
            self._drawn_at = None

    def line(self) -> str:
        what = what_is_read(self._provider)
        text = _("Reading {what}: {pages} pages, {rows} {what}, {requests} requests so far").format(
            what=what, pages=self._pages, rows=self._rows, requests=self._requests
        )
        if self._expected is not None and self._expected > self._pages:
            seconds = (self._expected - self._pages) / self._rate
            text += _("; about {seconds:.0f} s left at {rate:g} requests a second").format(
                seconds=max(seconds, 1), rate=self._rate
            )
        return text

    def _draw(self, text: str) -> None:
        # Never wider than the terminal: a wrapped line cannot be rewritten in place.
        width = self._columns() - 1
        text = text[:width]
        self._stream.write("\r" + text + " " * max(self._shown - len(text), 0))
        self._stream.flush()
        self._shown = len(text)
