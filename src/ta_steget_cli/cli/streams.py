"""Every line the tool prints passes through here, whatever printed it (the one-line error, a
warning, a progress line, a library's message): secrets are redacted on stdout and stderr, not
only in log records."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Redact = Callable[[str], str]


class RedactedStream:
    """A text stream that redacts what is written to it and is the stream it wraps otherwise."""

    def __init__(self, stream: Any, redact: Redact) -> None:
        self._stream = stream
        self._redact = redact

    def write(self, text: Any) -> int:
        if isinstance(text, str) and text:
            redacted = self._redact(text)
            self._stream.write(redacted)
            return len(text)  # what the caller gave us counts as written
        return int(self._stream.write(text) or 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def redacted_output(stdout: Redact, stderr: Redact) -> Iterator[None]:
    """Redact sys.stdout and sys.stderr while the block runs (once: nested calls do nothing)."""
    if isinstance(sys.stderr, RedactedStream):
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout = RedactedStream(saved[0], stdout)
    sys.stderr = RedactedStream(saved[1], stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
