"""SuperOffice's values as they travel: datetimes (UTC without an offset, "0001-01-01" for never
set), row keys, encoded values (`[I:103]`, `[DT:08/27/2025 00:00:00.0000000]`, ...) and
multi-language texts. No HTTP here, so services and `register` may use it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from ..i18n import _

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


# ---------------------------------------------------------------- encoded values
#
# SuperOffice's "Encoded values" (SuperOfficeDocs/superoffice-docs,
# docs/api/netserver/archive-providers/encoded-values.md): every value that is not a string
# travels as `[marker:value]`: B binary, D date (`[D:09.11.2017]`), DT datetime
# (`[DT:11/09/2017 14:53:18]`), F double/decimal, I int, M money, T time (`[T:14:52]`). Its
# encoder writes dates as `[DT:12/31/2013 23:59:59.0000000]` (docs/api/netserver/erp-connectors/
# api/field-value-formats-and-conventions.md); real entities carry
# `[DT:01/01/0001 00:00:00.0000000]` for an unset date in CustomFields and
# `[D:01/26/2022 00:01:00.0000000]` in UserDefinedFields.

_ENCODED = re.compile(r"^\[(B|DT|D|F|I|M|T):(.*)\]$", re.DOTALL)
_TIME_PART = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
# (pattern, order of the date groups); the time part, when present, follows.
_DATE_LAYOUTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME_PART + "$"), "mdy"),  # MM/dd/yyyy
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME_PART + "$"), "ymd"),  # ISO
    (re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})" + _TIME_PART + "$"), "ymd"),  # yyyy.MM.dd
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})" + _TIME_PART + "$"), "dmy"),  # dd.MM.yyyy
)


class EncodedValueError(ValueError):
    """A text that claims an encoding (`[X:…]`) its value does not have."""


@dataclass(frozen=True, slots=True)
class Unset:
    """A date or list value that is not set: the year-1 date, `[I:0]`, or an empty text."""


UNSET = Unset()

Decoded = int | float | Decimal | date | datetime | time | str | Unset


def decode(value: Any) -> Decoded:
    """The value an encoded text stands for; plain strings stay strings.

    Dates with a time of midnight decode to a `date`, other datetimes to a naive `datetime`
    (SuperOffice does not say the zone of a UDEF date). The year-1 date, `[I:0]` (no list item)
    and empty texts decode to UNSET. Raises EncodedValueError for `[X:…]` texts that do not hold
    what their marker says."""
    if value is None:
        return UNSET
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    if not text:
        return UNSET
    match = _ENCODED.match(text)
    if not match:
        moment = _date_or_none(text)
        return text if moment is None else moment
    marker, inner = match.group(1), match.group(2).strip()
    try:
        return _decode_marked(marker, inner)
    except (ValueError, ArithmeticError):
        message = _("{text!r} is not a valid {marker} value")
        raise EncodedValueError(message.format(text=text, marker=marker)) from None


def _decode_marked(marker: str, inner: str) -> Decoded:
    if marker in ("D", "DT"):
        if not inner:
            return UNSET
        moment = _date_or_none(inner)
        if moment is None:
            raise ValueError(inner)
        if marker == "D" and isinstance(moment, datetime):
            return moment.date()  # a Date value: whatever time a layout carries is not part of it
        return moment
    if marker == "I":
        number = int(inner)
        return UNSET if number == 0 else number
    if marker == "F":
        return float(inner)
    if marker == "M":
        return Decimal(inner)
    if marker == "T":
        hour, minute, *rest = (int(p) for p in inner.split(":"))
        return time(hour, minute, rest[0] if rest else 0)
    return inner  # B: binary, left as the text SuperOffice sent


def _date_or_none(text: str) -> date | datetime | Unset | None:
    """A date in any layout SuperOffice writes; None when the text is no date at all."""
    for pattern, order in _DATE_LAYOUTS:
        found = pattern.match(text)
        if not found:
            continue
        groups = found.groups()
        parts = dict(zip(order, (int(g) for g in groups[:3]), strict=True))
        hour, minute, second = (int(g) if g else 0 for g in groups[3:6])
        fraction = groups[6] or ""
        day = date(parts["y"], parts["m"], parts["d"])
        if day.year <= 1:
            return UNSET
        micro = int((fraction + "000000")[:6]) if fraction else 0
        if (hour, minute, second, micro) == (0, 0, 0, 0):
            return day
        return datetime.combine(day, time(hour, minute, second, micro))
    return None


def decode_date(value: Any) -> date | None:
    """The date (day) an encoded or ISO text holds; None when unset or not a date."""
    try:
        found = decode(value)
    except EncodedValueError:
        return None
    if isinstance(found, datetime):
        return found.date()
    if isinstance(found, date):
        return found
    return None


def decode_item(value: Any) -> int | None:
    """The list item id of `[I:123]`; None for no item (`[I:0]`, empty) or anything else."""
    try:
        found = decode(value)
    except EncodedValueError:
        return None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def encode_date(day: date) -> str:
    """A date as SuperOffice's encoder writes it: `[DT:MM/dd/yyyy 00:00:00.0000000]`."""
    return f"[DT:{day.month:02d}/{day.day:02d}/{day.year:04d} 00:00:00.0000000]"


def encode_item(item_id: int) -> str:
    return f"[I:{int(item_id)}]"


def same_value(a: Any, b: Any) -> bool:
    """Whether two texts hold the same value, whatever their encodings: `[D:09.11.2017]` and
    `[DT:11/09/2017 00:00:00.0000000]` are the same date, `[I:0]` and "" the same nothing."""
    try:
        return decode(a) == decode(b)
    except EncodedValueError:
        return bool(a == b)


_LANGUAGE_PART = re.compile(r'([A-Za-z]{2}):"((?:[^"]|"")*)";?')


def plain_text(text: str, language: str = "SV") -> str:
    """One language of a multi-language text (`SV:"…";US:"…";`): the asked one, else the first.
    Texts that are not multi-language come back as they are."""
    parts: list[tuple[str, str]] = _LANGUAGE_PART.findall(text.strip())
    whole = "".join(f'{code}:"{value}";' for code, value in parts)
    if not parts or whole.rstrip(";") != text.strip().rstrip(";"):
        return text
    wanted = language.upper()[:2]
    for code, value in parts:
        if code.upper() == wanted:
            return str(value)
    return str(parts[0][1])


def list_item(item_id: int) -> str:
    return encode_item(item_id)


def udef_date(day: date) -> str:
    """A date as SuperOffice's own encoder writes it (encode_date)."""
    return encode_date(day)


def field_value(text: Any) -> int | date | None:
    """A CustomFields value as an item id or a date; anything else (empty, unset) is None.
    Compared as values, not texts: `[D:2025.8.7]` and `[DT:08/07/2025 00:00:00.0000000]` are
    the same date."""
    return decode_item(text) or decode_date(text)
