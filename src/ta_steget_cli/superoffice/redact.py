"""The net under the logs: secret values, tickets and authorization headers become ***."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

_SECRET_PATTERNS = re.compile(
    r"(?:7T|8A):[A-Za-z0-9+/=_\-.~]+"
    r"|\b(?:SOTicket|Bearer|Basic)\s+[A-Za-z0-9+/=_\-.:~]+",
)


class RedactSecrets(logging.Filter):
    """Replaces secret values, tickets and authorization headers in log records with ***.

    The CLI installs it on its handlers; the client itself never logs secrets, this is the net
    under it (an exception text from a library, a careless message elsewhere)."""

    def __init__(self, secret_values: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
        """`secret_values`, or a function giving them: secrets looked up later in the run (a
        keyring entry asked for at the first login) are then redacted too."""
        super().__init__()
        if callable(secret_values):
            self._source = secret_values
        else:
            fixed = list(secret_values)
            self._source = lambda: fixed

    def _values(self) -> list[str]:
        # Longest first, so a secret containing another is replaced whole.
        return sorted({v for v in self._source() if v and len(v) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self._values():
            text = text.replace(value, "***")
        return _SECRET_PATTERNS.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True
