"""Fault switches: make the next matching request(s) fail the way networks and tenants fail."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("status", "drop", "timeout", "truncated", "repeat_page")
BODIES = ("json", "html", "empty", "echo")  # echo: the error text repeats the credentials


@dataclass
class Fault:
    kind: str
    status: int
    body: str
    path: str | None
    times: int
    retry_after: float | int | None


class Faults:
    """Pending faults, taken in the order they were added.

    A fault without `path` hits the next API request (under /{context}/api); with `path` it hits
    the next request whose path contains that text (login and state calls included).
    `repeat_page` only ever hits archive requests.
    """

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(
        self,
        kind: str,
        *,
        status: int = 503,
        body: str = "json",
        path: str | None = None,
        times: int = 1,
        retry_after: float | int | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if body not in BODIES:
            raise ValueError(f"unknown fault body {body!r}; expected one of {', '.join(BODIES)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self.pending.append(Fault(kind, status, body, path, times, retry_after))

    def clear(self) -> None:
        self.pending.clear()

    def take(self, path: str, *, is_api: bool, is_archive: bool) -> Fault | None:
        """The fault for this request, if any, counting it down."""
        for fault in self.pending:
            if fault.kind == "repeat_page" and not is_archive:
                continue
            matches = is_api if fault.path is None else fault.path in path
            if matches:
                fault.times -= 1
                if fault.times == 0:
                    self.pending.remove(fault)
                return fault
        return None
