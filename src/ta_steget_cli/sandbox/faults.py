"""Fault switches: make the next matching request(s) fail the way networks and tenants fail."""

from __future__ import annotations

from dataclasses import dataclass

# status: answers `status` without doing anything; drop: closes the connection without doing
# anything; timeout: does it, then answers too late; committed_status: does it, then answers
# `status` (a 500 after the commit); committed_drop: does it, then closes the connection before
# answering; truncated: half the real body; repeat_page: the last archive answer again; trickle:
# the real answer, one byte every `tenant.trickle_seconds` (a slow proxy, a dying link).
KINDS = (
    "status",
    "drop",
    "timeout",
    "committed_status",
    "committed_drop",
    "truncated",
    "repeat_page",
    "trickle",
)
BODIES = ("json", "html", "empty", "echo")  # echo: the error text repeats the credentials


@dataclass
class Fault:
    kind: str
    status: int
    body: str
    path: str | None
    times: int
    retry_after: float | int | None
    method: str | None = None
    skip: int = 0  # matching requests to let through first


class Faults:
    """Pending faults, taken in the order they were added.

    A fault without `path` hits the next API request (under /{context}/api); with `path` it hits
    the next request whose path contains that text (login and state calls included); with
    `method` only requests of that method (a DELETE, not the GET before it); with `skip` the
    first `skip` matching requests pass untouched (the second GET of a person, not the first).
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
        method: str | None = None,
        skip: int = 0,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if body not in BODIES:
            raise ValueError(f"unknown fault body {body!r}; expected one of {', '.join(BODIES)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if skip < 0:
            raise ValueError("skip must not be negative")
        upper = method.upper() if method else None
        fault = Fault(kind, status, body, path, times, retry_after, upper, skip)
        self.pending.append(fault)

    def clear(self) -> None:
        self.pending.clear()

    def take(
        self, path: str, *, is_api: bool, is_archive: bool, method: str = "GET"
    ) -> Fault | None:
        """The fault for this request, if any, counting it down."""
        for fault in self.pending:
            if fault.kind == "repeat_page" and not is_archive:
                continue
            if fault.method is not None and fault.method != method.upper():
                continue
            matches = is_api if fault.path is None else fault.path in path
            if matches and fault.skip > 0:
                fault.skip -= 1
                return None
            if matches:
                fault.times -= 1
                if fault.times == 0:
                    self.pending.remove(fault)
                return fault
        return None
