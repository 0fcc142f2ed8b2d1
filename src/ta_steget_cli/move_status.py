"""The move-status mapping, in one module: the keys of `[move_status.values]` and what they
stand for in SuperOffice (a list item in a UDEF list field, with the companion "moved to" list
and move date fields). Read from the archive by item id, read from a person entity, written
back as CustomFields values: each in one function here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import filters as f
from .config import Config, MoveStatusSettings, kommun_name
from .errors import UsageError
from .i18n import _
from .status_words import MOVED as MOVED  # the key that means the household has moved
from .status_words import StatusNames
from .superoffice.values import field_value, list_item, udef_date


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What to set on one person. None leaves a companion field as it is."""

    person_id: int
    status: str
    moved_to: str | None = None
    move_date: date | None = None


def status_key(config: Config, status: str, names: StatusNames | None = None) -> str:
    """The configured key for `status`: its key, the tool's word for it or the tenant's list
    item name, any case (see StatusNames); else a usage error listing the valid ones."""
    return (names or StatusNames(config)).key(status)


def make_change(
    config: Config,
    person_id: int,
    status: str,
    moved_to: str | None = None,
    move_date: date | None = None,
    names: StatusNames | None = None,
) -> StatusChange:
    """A validated change; a UsageError says what is wrong with the input, in the reader's
    language."""
    ms = config.move_status
    key = status_key(config, status, names)
    kommun = None
    if moved_to:
        if not ms.moved_to_field:
            raise UsageError(_("moved_to: no [move_status] moved_to_field in the config"))
        kommun = kommun_name(moved_to)
        if kommun is None or kommun not in ms.moved_to_values:
            raise UsageError(
                _("unknown municipality {moved_to!r} to move to; expected one of {valid}").format(
                    moved_to=moved_to, valid=", ".join(ms.moved_to_values)
                )
            )
    if move_date is not None and not ms.move_date_field:
        raise UsageError(_("date: no [move_status] move_date_field in the config"))
    return StatusChange(person_id, key, kommun, move_date)


def archive_condition(settings: MoveStatusSettings, key: str) -> str:
    """The archive condition for persons whose move status is `key` (read by item id: a list
    column's Slim value is a display text)."""
    return f.equals(f"personUdef/{settings.field}", settings.values[key])


def current_status(config: Config, entity: Mapping[str, Any]) -> str | None:
    """The status key an entity holds, read from its item id."""
    item = field_value((entity.get("CustomFields") or {}).get(config.move_status.field))
    for key, value in config.move_status.values.items():
        if value == item:
            return key
    return None


def wanted_fields(config: Config, change: StatusChange) -> dict[str, str]:
    """The CustomFields values the change asks for, in SuperOffice's text form."""
    ms = config.move_status
    out = {ms.field: list_item(ms.values[change.status])}
    if change.moved_to and ms.moved_to_field:
        out[ms.moved_to_field] = list_item(ms.moved_to_values[change.moved_to])
    if change.move_date and ms.move_date_field:
        out[ms.move_date_field] = udef_date(change.move_date)
    return out
