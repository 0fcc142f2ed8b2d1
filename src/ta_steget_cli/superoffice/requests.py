"""One call to SuperOffice as the client sends it, and the small rules of its headers and
answers that several parts of the client share."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import ApiError
from ..i18n import _


@dataclass(frozen=True)
class ApiRequest:
    """One call to SuperOffice, as the client sends it (and re-sends it on a retry)."""

    method: str
    shown: str  # the path as logs and errors show it; with `url` None, the path under api_url
    kind: str  # what RequestStats counts it as ("person:get", "archive:Person", ...)
    url: str | None = None  # an absolute URL instead of api_url + shown
    api: bool = True  # a call to the tenant's API, with credentials (login and state: False)
    params: dict[str, str] | None = None
    data: dict[str, str] | None = None  # a form body (long archive queries)
    json_body: Any = None
    headers: dict[str, str] | None = None
    expect_json: bool = True


def unmodified_since(moment: datetime | None) -> dict[str, str]:
    """If-Unmodified-Since carries whole seconds; a record kept with fractions of a second
    would be "modified since" its own time, so the header names the next whole second."""
    if moment is None:
        return {}
    when = moment.astimezone(UTC)
    if when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return {"If-Unmodified-Since": email.utils.format_datetime(when, usegmt=True)}


def rows_body(body: Any, shown: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        text = _("SuperOffice's answer to {call} has no list of rows ('value')")
        raise ApiError(text.format(call=shown))
    return body


def expect_dict(body: Any, shown: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(_("SuperOffice's answer to {call} is not an object").format(call=shown))
    return body


def expect_list(body: Any, shown: str) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        body = body["value"]
    if not isinstance(body, list):
        raise ApiError(_("SuperOffice's answer to {call} is not a list").format(call=shown))
    return body
