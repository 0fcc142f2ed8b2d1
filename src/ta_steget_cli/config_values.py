"""Config values beyond `config`'s reader: ids, dates, address tables, retired keys, [notify].

Plain functions over the reader (`config._Reader`), so that `config` stays one screenful of
sections; they raise the reader's one-line errors naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses as dc
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from .i18n import _


@dataclass(frozen=True)
class NotifySettings:
    smtp_host: str | None = None
    smtp_port: int = 587
    starttls: bool = True
    ssl: bool = False
    sender: str | None = dc.field(default=None, metadata={"toml": "from"})
    username: str | None = None
    outbox: Path = Path("outbox")
    recipients: Mapping[str, tuple[str, ...]] = dc.field(default_factory=dict)  # kommun/"region"
    due_soon_days: int = 2  # the mail also lists persons due within this many working days
    details: str = "names"  # names | full | minimal: what the mail says about each person
    transport: str = "smtp"  # smtp | outbox (writes .eml files into `outbox`)
    per_guide: bool = False  # also mail each responsible guide ("our contact") their own list
    guides: Mapping[str, tuple[str, ...]] = dc.field(default_factory=dict)  # name -> addresses
    configured: bool = False  # the file has a [notify] table: doctor checks the mail side


class _Reader(Protocol):
    """What these functions use of `config._Reader` (no import: config imports this module)."""

    table: Mapping[str, Any]
    prefix: str

    def raw(self, key: str, default: object = None) -> Any: ...
    def fail(self, key: str, found: object, expected: str) -> Exception: ...
    def where(self, key: str) -> str: ...
    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]: ...
    def string(self, key: str, default: str | None = None) -> Any: ...
    def table_of(self, key: str) -> Any: ...


# The start of the current service agreement: unanswered registrations from it are listed.
DEFAULT_SINCE = date(2025, 1, 1)
NOTIFY_DETAILS = ("names", "full", "minimal")  # what the mail says about each person
NOTIFY_TRANSPORTS = ("smtp", "outbox")
# (table, retired key, its replacement): a warning naming the replacement, and it still works.
RETIRED_KEYS = (("first_response", "lookback_days", "since"),)


def id_list(reader: _Reader, key: str) -> tuple[int, ...]:
    """A list of positive list item ids."""
    value = reader.raw(key, [])
    if not isinstance(value, list) or any(_not_id(v) for v in value):
        raise reader.fail(key, value, _("a list of positive list item ids"))
    return tuple(value)


def day(reader: _Reader, key: str, default: date) -> date:
    """A TOML date (2025-01-01) or a string YYYY-MM-DD."""
    value = reader.raw(key, default)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise reader.fail(key, value, _("a date as YYYY-MM-DD")) from None


def day_strings(reader: _Reader, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list of dates as YYYY-MM-DD strings ([first_response] closed_days)."""
    found = reader.strings(key, default)
    for text in found:
        try:
            date.fromisoformat(text)
        except ValueError:
            raise reader.fail(key, text, _("dates as YYYY-MM-DD")) from None
    return found


def addresses(table: _Reader) -> dict[str, tuple[str, ...]]:
    """A table of name -> e-mail addresses ([notify.recipients], [notify.guides])."""
    out = {name: table.strings(name, ()) for name in table.table}
    for name, found in out.items():
        for address in (a for a in found if not is_mail_address(a)):
            raise table.fail(name, address, _("e-mail addresses"))
    return out


def is_mail_address(text: str) -> bool:
    """One plain address: an @, and no space or control character (a CR LF would start a new
    mail header)."""
    return "@" in text and not any(c.isspace() or unicodedata.category(c) == "Cc" for c in text)


def mail_addresses(reader: _Reader, key: str) -> tuple[str, ...]:
    """A list of e-mail addresses ([report] recipients)."""
    found = reader.strings(key, ())
    for address in (a for a in found if not is_mail_address(a)):
        raise reader.fail(key, address, "e-mail addresses")
    return found


_GOAL_PERIOD = re.compile(r"\d{4}(Q[1-4])?")


def goals(reader: _Reader, key: str) -> dict[str, int]:
    """[report] goals: a year or a quarter ("2026", "2026Q1") -> a positive number of
    households moved. No built-in goal: only what the file says."""
    table = reader.table_of(key)
    out: dict[str, int] = {}
    for period, value in table.table.items():
        label = period.strip().upper()
        if not _GOAL_PERIOD.fullmatch(label):
            raise table.fail(period, period, 'a year or a quarter as "2026" or "2026Q1"')
        if _not_id(value):
            raise table.fail(period, value, "a positive number of households")
        out[label] = value
    return out


def mail_address(reader: _Reader, key: str) -> str | None:
    value = reader.string(key)
    if value is not None and not is_mail_address(value):
        raise reader.fail(key, value, _("an e-mail address"))
    return str(value) if value is not None else None


def retired_warnings(root: _Reader) -> tuple[str, ...]:
    """A line per retired key in the document, naming its replacement."""
    found = [(root.table_of(table), key, new) for table, key, new in RETIRED_KEYS]
    return tuple(
        _("warning: {where} is retired; use [{table}] {new} instead").format(
            where=section.where(key), table=section.prefix, new=new
        )
        for section, key, new in found
        if key in section.table
    )


def web_url(reader: _Reader, key: str) -> str | None:
    """The web client's address (for links to a person's card), or None."""
    value = reader.raw(key, None)
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise reader.fail(key, value, _("the web client's address, https://.../default.aspx"))
    return value


def retired_lookback(first_response: _Reader) -> int | None:
    """The retired [first_response] lookback_days, in effect only when since is not set."""
    if "lookback_days" not in first_response.table or "since" in first_response.table:
        return None
    value = first_response.raw("lookback_days")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3660:
        raise first_response.fail("lookback_days", value, _("an integer from 1 to 3660"))
    return value


def _not_id(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int) or value <= 0
