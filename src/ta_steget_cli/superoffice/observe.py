"""What a long read is doing, for whoever shows it (the CLI's progress line on a terminal).

The client tells its observer about every archive page it reads, and when each read starts and
ends; it never prints anything itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class ReadObserver(Protocol):
    def started(self, provider: str, expected_pages: int | None) -> None: ...
    def page(self, provider: str, rows: int, requests: int) -> None: ...
    def ended(self, provider: str) -> None: ...


def observed(
    observer: ReadObserver | None,
    provider: str,
    rows: Iterator[dict[str, Any]],
    expected_pages: int | None,
) -> Iterator[dict[str, Any]]:
    """`rows`, with the observer told when the read starts and ends (however it ends)."""
    if observer is None:
        yield from rows
        return
    observer.started(provider, expected_pages)
    try:
        yield from rows
    finally:
        observer.ended(provider)
