"""The archive columns as one tenant answers them: encoded date UDEFs, UpdatedDate rounded to
whole seconds where the tenant keeps fractions, the activity date in local time (realism.py)."""

from __future__ import annotations

from typing import Any

from . import ids
from .encoded import UNSET_DT, encode_datetime
from .generate import STOCKHOLM
from .query import ACTIVITY_COLUMNS, PERSON_COLUMNS, PROVIDERS, Column, _date_udef
from .realism import Realism
from .records import Activity, Person, from_seconds, iso


def fraction_ticks(person: Person) -> int:
    """The seven fractional digits (100 ns ticks) of a person's UpdatedDate, when the tenant
    keeps them: made up, but fixed for a given id and second."""
    return (person.id * 2_654_435_761 + person.updated * 40_503) % 10_000_000


def _stockholm_seconds(seconds: int) -> int:
    offset = from_seconds(seconds).astimezone(STOCKHOLM).utcoffset()
    return seconds + int(offset.total_seconds()) if offset else seconds


def _variant_columns(provider: str, realism: Realism) -> dict[str, Column]:
    """The provider's columns as this tenant answers them (encoded dates, zones, precision)."""
    if provider == "Person":
        out = dict(PERSON_COLUMNS)
        if realism.encoded_dates:
            name = f"personUdef/{ids.MOVE_DATE_FIELD}"
            out[name] = Column(
                name, "date", _date_udef,
                lambda p: encode_datetime(p.move_date) if p.move_date else UNSET_DT,
            )  # fmt: skip
        if realism.update_precision == "fraction":
            # The archive shows whole seconds, rounded; the entity keeps the fraction.
            def rounded(p: Person) -> int:
                return p.updated + (1 if fraction_ticks(p) >= 5_000_000 else 0)

            out["personUpdatedDate"] = Column(
                "personUpdatedDate", "datetime", rounded, lambda p: iso(rounded(p))
            )
        return out
    out = dict(ACTIVITY_COLUMNS)
    if realism.activity_date_zone == "local":

        def local(a: Activity) -> int:
            return _stockholm_seconds(a.date)

        out["date"] = Column("date", "datetime", local, lambda a: iso(local(a)))
    return out


def columns_for(provider: str, realism: Realism | None) -> dict[str, Column]:
    if realism is None:
        return PROVIDERS[provider]
    key = (
        provider,
        realism.encoded_dates,
        realism.update_precision,
        realism.activity_date_zone,
    )
    found = _VARIANTS.get(key)
    if found is None:
        found = _VARIANTS[key] = _variant_columns(provider, realism)
    return found


_VARIANTS: dict[tuple[Any, ...], dict[str, Column]] = {}
