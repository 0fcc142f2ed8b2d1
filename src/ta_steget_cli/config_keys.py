"""Which keys a config file may hold, derived from the settings dataclasses themselves (a key
added to a dataclass is known here without a second list): an unknown key is an error naming the
closest known one, and a retired key warns, naming its replacement."""

from __future__ import annotations

import dataclasses as dc
import difflib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .i18n import _

# Retired keys: still read where they can be (a warning names the replacement), so known here.
# (The warning waits for its replacement to be a known key.)
# (lookback_days is still a field, so known; config_values warns about it.)
RETIRED = {"lang": "ui.lang", "report.yearly_goal": "report.goals"}
_NOT_IN_FILE = frozenset({"path", "warnings", "configured"})  # fields that no file sets


def known_keys(cls: type, prefix: str = "") -> dict[str, bool]:
    """Every dotted key a config file may hold, from the settings dataclasses themselves (so a
    key added there is known here): True for a table whose own keys are free (names -> ids),
    False for a key or a table of known keys."""
    known: dict[str, bool] = {}
    hints = typing.get_type_hints(cls)
    for f in dc.fields(cls):
        if f.name in _NOT_IN_FILE:
            continue
        name = prefix + f.metadata.get("toml", f.name)
        hint = hints[f.name]
        if dc.is_dataclass(hint):
            known[name] = False
            known.update(known_keys(typing.cast(type, hint), name + "."))
            continue
        known[name] = typing.get_origin(hint) in (Mapping, dict)
        for parent in _parents(name):
            known.setdefault(parent, False)
    if not prefix:
        known.update(dict.fromkeys(RETIRED, False))
    return known


def _parents(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def check_known_keys(document: Mapping[str, Any], path: Path | None, root: type) -> None:
    """An unknown key or table is an error naming the closest known one: a typo must never
    fall back to a default silently (inactive_year = 10 would purge with 5 years)."""
    known = known_keys(root)
    for dotted in _keys_of(document, "", known):
        if dotted not in known:
            raise ConfigError(_unknown_text(dotted, known, path))


def _keys_of(table: Mapping[str, Any], prefix: str, known: Mapping[str, bool]) -> list[str]:
    out = []
    for key, value in table.items():
        dotted = prefix + key
        out.append(dotted)
        if isinstance(value, dict) and dotted in known and not known[dotted]:
            out += _keys_of(value, dotted + ".", known)
    return out


def _unknown_text(dotted: str, known: Mapping[str, bool], path: Path | None) -> str:
    table, _dot, key = dotted.rpartition(".")
    siblings = [k.rpartition(".")[2] for k in known if k.rpartition(".")[0] == table]
    siblings = [k for k in siblings if (f"{table}.{k}" if table else k) not in RETIRED]
    close = difflib.get_close_matches(key, siblings, n=1, cutoff=0.6)
    where = f"{path or 'config'}: {_shown(dotted)}"
    if close:
        return _("{where}: unknown key; did you mean {known}?").format(where=where, known=close[0])
    return _("{where}: unknown key; known here: {known}").format(
        where=where, known=", ".join(sorted(siblings))
    )


def retired_warnings(document: Mapping[str, Any], path: Path | None, root: type) -> tuple[str, ...]:
    """A line per retired key in the document, naming its replacement."""
    lines = []
    known = known_keys(root)
    for dotted, replacement in RETIRED.items():
        table, _dot, key = dotted.rpartition(".")
        section = document.get(table, {}) if table else document
        if isinstance(section, Mapping) and key in section and replacement in known:
            lines.append(
                _("warning: {path}: {old} is retired; use {new} instead").format(
                    path=path or "config", old=_shown(dotted), new=_shown(replacement)
                )
            )
    return tuple(lines)


def _shown(dotted: str) -> str:
    table, _dot, key = dotted.rpartition(".")
    return f"[{table}] {key}" if table else key
