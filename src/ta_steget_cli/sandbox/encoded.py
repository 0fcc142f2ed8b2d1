"""SuperOffice's encoded values as the sandbox writes and accepts them (its own copy: the sandbox
shares no code with the tool).

SuperOffice's "Encoded values" page (`SuperOfficeDocs/superoffice-docs`,
`docs/api/netserver/archive-providers/encoded-values.md`) lists `[D:09.11.2017]` and
`[DT:11/09/2017 14:53:18]`; its ERP page (`docs/api/netserver/erp-connectors/api/
field-value-formats-and-conventions.md`) says `CultureDataFormatter.EncodeDateTime` writes
`[DT:12/31/2013 23:59:59.0000000]`; real entities carry `[DT:01/01/0001 00:00:00.0000000]` for an
unset date in CustomFields and `[D:01/26/2022 00:01:00.0000000]` in UserDefinedFields. NetServer
also takes values that are not encoded at all ("Data values passed into NetServer do not need to
be encoded").
"""

from __future__ import annotations

import re
from datetime import date, datetime

UNSET_DT = "[DT:01/01/0001 00:00:00.0000000]"
UNSET_D = "[D:01/01/0001 00:00:00.0000000]"

_LAYOUTS = (
    # (pattern, group order) for the text inside the brackets
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: \d{1,2}:\d\d(?::\d\d(?:\.\d{1,7})?)?)?"), "mdy"),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), "dmy"),
    (re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"), "ymd"),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,7})?)?)?"), "ymd"),
)


def encode_datetime(day: date | None) -> str:
    """`[DT:MM/dd/yyyy HH:mm:ss.fffffff]`, as CultureDataFormatter.EncodeDateTime writes it."""
    if day is None:
        return UNSET_DT
    return f"[DT:{day:%m/%d/%Y} 00:00:00.0000000]"


def encode_udf_date(day: date | None) -> str:
    """A date as UserDefinedFields carries it: the D marker with the DateTime layout."""
    if day is None:
        return UNSET_D
    return f"[D:{day:%m/%d/%Y} 00:00:00.0000000]"


def decode_date(text: str) -> date | str | None:
    """The date in an encoded or plain date text; None when unset; "bad" when not a date."""
    text = text.strip()
    if text in ("", "[D:]", "[DT:]"):
        return None
    match = re.fullmatch(r"\[(DT|D):(.*)\]", text)
    inner = match.group(2).strip() if match else text
    for pattern, order in _LAYOUTS:
        found = pattern.fullmatch(inner)
        if not found:
            continue
        parts = dict(zip(order, (int(g) for g in found.groups()), strict=True))
        try:
            day = date(parts["y"], parts["m"], parts["d"])
        except ValueError:
            return "bad"
        return None if day.year <= 1 else day
    return "bad"


def fraction_text(ticks: int) -> str:
    return f".{ticks:07d}"


def iso_with_fraction(moment: datetime, ticks: int) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction_text(ticks)
