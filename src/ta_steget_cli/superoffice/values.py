"""SuperOffice's values as they travel: datetimes (UTC without an offset, "0001-01-01" for never
set), row keys, and the encoded CustomFields values (`[I:id]`, `[D:yyyy.mm.dd]`). No HTTP here,
so services and `register` may use it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

NEVER_SET = "0001-01-01"

# CustomFields (UDEF) values as the entity API writes them: a list item, or a date in either of
# the two forms SuperOffice sends.
_LIST_ITEM = re.compile(r"^\[I:(-?\d+)\]$")
_DATE_DOTS = re.compile(r"^\[D:(\d{4})\.(\d{1,2})\.(\d{1,2})\]$")
_DATE_SLASHES = re.compile(r"^\[D:(\d{1,2})/(\d{1,2})/(\d{4})\]$")


def parse_datetime(value: str | None) -> datetime | None:
    """A SuperOffice datetime (UTC without offset, or with one) as an aware UTC datetime.

    "0001-01-01T00:00:00" is SuperOffice's "never set"; it and empty values give None.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.startswith(NEVER_SET):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        # .NET writes up to 7 fractional digits, which fromisoformat rejects on some inputs.
        from dateutil import parser as dateutil_parser

        parsed = dateutil_parser.isoparse(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """An aware datetime in SuperOffice's form: UTC, no offset, whole seconds."""
    if value.tzinfo is None:
        raise ValueError("format_datetime needs an aware datetime; SuperOffice stores UTC")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def primary_key(row: dict[str, Any]) -> int:
    """A row's PrimaryKey as an int: real tenants send a string, some samples an int."""
    return int(row["PrimaryKey"])


def list_item(item_id: int) -> str:
    return f"[I:{item_id}]"


def udef_date(day: date) -> str:
    return f"[D:{day.year:04d}.{day.month:02d}.{day.day:02d}]"


def field_value(text: Any) -> int | date | None:
    """A CustomFields value as an item id or a date; anything else (empty, unset) is None.

    Compared as values, not texts, so `[D:2025.8.7]` and `[D:2025.08.07]` are the same date."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if match := _LIST_ITEM.match(text):
        item = int(match.group(1))
        return item if item > 0 else None
    if match := _DATE_DOTS.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DATE_SLASHES.match(text):
        month, day, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None
    return None if parsed.year <= 1 else parsed
