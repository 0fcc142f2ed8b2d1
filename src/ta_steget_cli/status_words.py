"""Move statuses in the words of the people who use them: a status given as its key, the tool's
word for it (Swedish or English) or the list item's name in the tenant ("Har flyttat"), any
case, spaces around; and the contradictions a move guide most likely did not mean, in the
reader's language.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from .config import Config, fold_name
from .errors import TastegetError, UsageError
from .i18n import LANGUAGES, N_, _, language, translations

MOVED = "moved"  # the [move_status.values] key that means the household has moved

# The usual status keys as people read them; a key the config adds is shown as it is.
STATUS_WORDS: Mapping[str, str] = {
    "interested": N_("Interested"),
    "planning": N_("Planning to move"),
    "moved": N_("Has moved"),
    "not_moving": N_("Not moving"),
}


class ListSource(Protocol):
    """Where the status list items' names come from: the tenant's own lists."""

    def udef_layout(self) -> list[dict[str, Any]]: ...

    def list_items(self, list_id: int) -> list[dict[str, Any]]: ...


def status_word(key: str | None) -> str:
    """A status key as people read it ("Har flyttat"); a key the config adds as it is."""
    if key is None:
        return ""
    word = STATUS_WORDS.get(key)
    return _(word) if word else key


def words_in_every_language(key: str) -> tuple[str, ...]:
    word = STATUS_WORDS.get(key)
    if word is None:
        return (key,)
    return (key, *(translations(lang).gettext(word) for lang in LANGUAGES))


class StatusNames:
    """Every name a move status is known by: its key, the tool's words for it (Swedish and
    English) and, asked of the tenant only when those do not match, the list item's name as
    SuperOffice shows it (in each language the tenant keeps it in). Matched without regard to
    case, surrounding spaces or å/ä/ö."""

    def __init__(self, config: Config, source: ListSource | None = None) -> None:
        self.config = config
        self.source = source
        self._tenant: dict[str, dict[str, str]] | None = None

    def key(self, text: str) -> str:
        """The configured key for `text`, or a usage error listing the valid ones."""
        folded = fold_name(text)
        for key in self.config.move_status.values:
            if folded in (fold_name(w) for w in words_in_every_language(key)):
                return key
        if folded:
            for key, names in self.tenant_names().items():
                if folded in (fold_name(n) for n in names.values()):
                    return key
        raise UsageError(
            _("unknown move status {status!r}; expected one of {valid}").format(
                status=text, valid=self.valid()
            )
        )

    def valid(self) -> str:
        """The keys, each with the name people know it by."""
        names = {k: shown_name(v) for k, v in self.tenant_names().items()}
        out = []
        for key in self.config.move_status.values:
            name = names.get(key) or (status_word(key) if key in STATUS_WORDS else "")
            out.append(f"{key} ({name})" if name else key)
        return ", ".join(out)

    def tenant_names(self) -> dict[str, dict[str, str]]:
        """Status key -> the list item's name in the tenant, per language (see item_names);
        empty when the list cannot be read: the names are a convenience, keys always work."""
        if self._tenant is None:
            self._tenant = {}
            ms = self.config.move_status
            if self.source is not None:
                with contextlib.suppress(TastegetError):
                    self._tenant = list_item_names(self.source, ms.field, ms.values)
        return self._tenant


# SuperOffice keeps a list text entered in several languages as SV:"Har flyttat";US:"Has moved";
# and answers it so when the request names no language.
_PER_LANGUAGE = re.compile(r'([A-Z]{2}):"([^"]*)";')


def item_names(text: str) -> dict[str, str]:
    """A list item's name per language code ("SV", "US", ...); a plain text under ""."""
    found = dict(_PER_LANGUAGE.findall(text))
    return found if found and _PER_LANGUAGE.sub("", text).strip() == "" else {"": text}


def shown_name(names: Mapping[str, str]) -> str:
    """The name to show: the run's language if the tenant has it, else Swedish, else the first."""
    preferred = "US" if language() == "en" else "SV"
    return names.get(preferred) or names.get("SV") or next(iter(names.values()), "")


def list_item_names(
    source: ListSource, prog_id: str, values: Mapping[str, int]
) -> dict[str, dict[str, str]]:
    """Key -> names (per language) of each configured item of the list behind `prog_id`."""
    layout = {str(u.get("ProgId")): u for u in source.udef_layout() if isinstance(u, Mapping)}
    try:
        list_id = int((layout.get(prog_id) or {}).get("UDListDefinitionId") or 0)
    except (TypeError, ValueError):
        return {}
    if list_id <= 0:
        return {}
    names = {
        int(i["Id"]): str(i.get("Name") or "")
        for i in source.list_items(list_id)
        if isinstance(i, Mapping) and str(i.get("Id", "")).isdigit() and not i.get("Deleted")
    }
    return {key: item_names(names[item]) for key, item in values.items() if names.get(item)}


# ---------------------------------------------------------------- contradictions


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A combination a move guide most likely did not mean: shown before writing, and written
    only when confirmed."""

    code: str  # moved_to_not_moved | date_not_moved | future_date
    status: str
    value: str

    def text(self) -> str:
        shown = {"status": status_word(self.status), "moved": status_word(MOVED)}
        if self.code == "moved_to_not_moved":
            return _("moved to {moved_to} but move status {status}, not {moved}").format(
                moved_to=self.value, **shown
            )
        if self.code == "date_not_moved":
            return _("move date {date} but move status {status}, not {moved}").format(
                date=self.value, **shown
            )
        return _("the move date {date} is in the future").format(date=self.value)


def contradictions(
    status: str,
    moved_to: str | None,
    move_date: date | None,
    as_of: date,
    *,
    new_date: date | None = None,
) -> list[Contradiction]:
    """What about a status with this moved-to and move date (given now or already there) a
    move guide most likely did not mean: a moved-to or a move date with a status other than
    moved; a move date given now that lies after `as_of`."""
    out: list[Contradiction] = []
    if status and status != MOVED:
        if moved_to:
            out.append(Contradiction("moved_to_not_moved", status, moved_to))
        if move_date:
            out.append(Contradiction("date_not_moved", status, move_date.isoformat()))
    if new_date is not None and new_date > as_of:
        out.append(Contradiction("future_date", status, new_date.isoformat()))
    return out


def contradiction_reason(found: list[Contradiction]) -> str:
    """Why an import row that contradicts itself was not written."""
    return _("{warning}; not changed (--yes changes it anyway)").format(
        warning="; ".join(c.text() for c in found)
    )
