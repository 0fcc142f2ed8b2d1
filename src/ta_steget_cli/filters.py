"""Builds archive `$filter` expressions, so that no caller ever concatenates user data into a query.

Syntax from the contract: `column operator value`, joined with `and`/`or`, brackets allowed.
Strings and dates go in single quotes; a quote inside is escaped as `\\'` (and a backslash as
`\\\\`, so that a trailing backslash cannot swallow the closing quote).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

_COLUMN = re.compile(r"[A-Za-z][A-Za-z0-9_]*(/[A-Za-z0-9_:.]+)?")


def column(name: str) -> str:
    """A column name, checked so that it cannot smuggle operators into the filter."""
    # fullmatch: `$` would let a trailing newline through.
    if not _COLUMN.fullmatch(name):
        raise ValueError(f"not a valid archive column name: {name!r}")
    return name


def quote(value: str) -> str:
    """A string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _int(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int id, got {value!r}")
    return str(value)


def _ids(values: Iterable[int]) -> str:
    items = [_int(v) for v in values]
    if not items:
        raise ValueError("an id list in a filter cannot be empty")
    return "(" + ",".join(items) + ")"


def one_of(name: str, ids: Iterable[int]) -> str:
    return f"{column(name)} oneOf {_ids(ids)}"


def not_one_of(name: str, ids: Iterable[int]) -> str:
    return f"{column(name)} notOneOf {_ids(ids)}"


def equals(name: str, item_id: int) -> str:
    return f"{column(name)} equals {_int(item_id)}"


def gt(name: str, value: int) -> str:
    return f"{column(name)} gt {_int(value)}"


def lt(name: str, value: int) -> str:
    return f"{column(name)} lt {_int(value)}"


def in_(name: str, ids: Iterable[int]) -> str:
    return f"{column(name)} in {_ids(ids)}"


def is_set(name: str, value: bool) -> str:
    return f"{column(name)} set {1 if value else 0}"


def _day(value: date) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return quote(value.isoformat())


def before(name: str, day: date) -> str:
    """The date part is strictly before `day`."""
    return f"{column(name)} before {_day(day)}"


def after(name: str, day: date) -> str:
    """The date part is strictly after `day`."""
    return f"{column(name)} after {_day(day)}"


def between(name: str, first: date, last: date) -> str:
    return f"{column(name)} between ({_day(first)},{_day(last)})"


def all_of(*parts: str | None) -> str | None:
    """`and` of the given parts; None and empty parts are left out."""
    kept = [p for p in parts if p]
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return " and ".join(f"({p})" if " or " in p else p for p in kept)


def any_of(*parts: str | None) -> str | None:
    """`or` of the given parts (all_of brackets it when it is combined with `and`)."""
    kept = [p for p in parts if p]
    if not kept:
        return None
    return " or ".join(f"({p})" if " and " in p else p for p in kept)
