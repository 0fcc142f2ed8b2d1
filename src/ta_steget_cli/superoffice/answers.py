"""Classifying SuperOffice's answers: every response becomes one verdict (done / retry /
re-authenticate / resolve the host again / fail) before anything is done with it, and a failure
becomes the typed error the CLI maps to an exit code."""

from __future__ import annotations

import email.utils
import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import httpx

from ..errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from ..i18n import _

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# The server says it is overloaded: every worker waits, not only the one that heard it.
OVERLOADED_STATUSES = frozenset({429, 503})


class Action(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    REAUTH = "reauth"
    RESOLVE = "resolve"
    FAIL = "fail"


@dataclass
class Verdict:
    action: Action
    reason: str
    body: Any = None
    retry_after: float | None = None
    error: Exception | None = None
    overloaded: bool = False  # 429 or 503: back off every worker together


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _error_message(response: httpx.Response) -> tuple[str | None, str | None]:
    """ErrorMessage and ErrorType of a SuperOffice error body, if it is one; bodies of
    401/403/5xx may be HTML or empty, and an HTML page never goes into a message."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    message = body.get("ErrorMessage") or body.get("Message")
    error_type = body.get("ErrorType")
    if not isinstance(message, str) or not message.strip():
        return None, error_type if isinstance(error_type, str) else None
    one_line = " ".join(message.split())
    if len(one_line) > 300:
        one_line = one_line[:297] + "..."
    return one_line, error_type if isinstance(error_type, str) else None


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP-date), None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify(
    response: httpx.Response, method: str, shown: str, expect_json: bool, now: datetime
) -> Verdict:
    status = response.status_code
    if 200 <= status < 300:
        if not expect_json:
            return Verdict(Action.DONE, "ok")
        try:
            return Verdict(Action.DONE, "ok", body=response.json())
        except ValueError:
            # A 2xx whose body does not parse was cut off on the way: ask again.
            reason = _("{status} with an unreadable body").format(status=_status_text(status))
            return Verdict(Action.RETRY, reason)
    if status in RETRY_STATUSES:
        return Verdict(
            Action.RETRY,
            _status_text(status),
            retry_after=_retry_after(response, now),
            overloaded=status in OVERLOADED_STATUSES,
        )
    if status == 401:
        return Verdict(Action.REAUTH, _status_text(status))
    if status == 421:
        return Verdict(Action.RESOLVE, _status_text(status))
    return Verdict(Action.FAIL, _status_text(status), error=_error_for(response, method, shown))


def _error_for(response: httpx.Response, method: str, shown: str) -> ApiError:
    status = response.status_code
    message, error_type = _error_message(response)
    where = f"{method} {shown}"
    said = _("SuperOffice answered {status} on {call}").format(
        status=_status_text(status), call=where
    )
    text = f"{said}: {message}" if message else said
    kind: type[ApiError] = ApiError
    if status == 400:
        kind = BadRequest
    elif status == 403:
        kind = Forbidden
    elif status == 404:
        kind = NotFound
    elif status in (409, 412):
        kind = Conflict
    return kind(text, status=status, error_type=error_type, method=method, path=shown)
