"""A TOML syntax error in the config as one line in the user's language: where, what, and the
usual cause."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .i18n import N_, _


def toml_error(path: Path, data: bytes, exc: tomllib.TOMLDecodeError) -> str:
    """Where the file stops being TOML, what tomllib says (in English: its own words), and the
    common mistake behind it: an unquoted key with å, ä or ö."""
    match = re.match(r"(.*) \(at line (\d+), column (\d+)\)$", str(exc))
    if not match:
        return _("{path}: not valid TOML ({detail})").format(path=path, detail=exc)
    detail, number, column = match.group(1), int(match.group(2)), match.group(3)
    text = _("{path}, line {line}, column {column}: not valid TOML ({detail})").format(
        path=path, line=number, column=column, detail=_(detail)
    )
    lines = data.decode("utf-8", "replace").splitlines()
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    key = line.split("=", 1)[0].strip()
    if key and not key.isascii() and not key.startswith(('"', "'")):
        return text + _('; a name like {key} must be quoted: "{key}" = ...').format(key=key)
    return text


# tomllib's most common complaints, marked for the catalogue so that they read in the user's
# language (others stay in tomllib's English).
TOML_DETAILS = (
    N_("Expected ']' at the end of a table declaration"),
    N_("Expected '=' after a key in a key/value pair"),
    N_("Invalid value"),
    N_("Invalid statement"),
    N_("Invalid initial character for a key part"),
    N_("Unterminated string"),
    N_("Cannot overwrite a value"),
    N_("Expected newline or end of document after a statement"),
    N_("Expected ']]' at the end of an array declaration"),
    N_("Unclosed array"),
    N_("Unclosed inline table"),
    N_("Invalid date or datetime"),
)
