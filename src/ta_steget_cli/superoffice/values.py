"""SuperOffice's values as they travel: datetimes (UTC without an offset, "0001-01-01" for never
set) and row keys. No HTTP here, so services and `register` may use it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NEVER_SET = "0001-01-01"


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
