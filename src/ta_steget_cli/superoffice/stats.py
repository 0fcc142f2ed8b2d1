"""Counts of the HTTP attempts a client made, for `--verbose`, the bench and the tests."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RequestStats:
    """Counts of HTTP attempts. `requests` counts every attempt (retries, login, state and JWKS
    calls included); `retries` the attempts that repeated an earlier one; `by_kind` every attempt
    by kind ("archive:Person", "person:get", "login:authenticate", ...), summing to `requests`."""

    requests: int = 0
    retries: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    # Workers count at once; `+=` on an attribute is not atomic across threads.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, kind: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_kind[kind] += 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1
