"""Imports each command module so that it registers itself on the app."""

from __future__ import annotations

import importlib

# One module per command; a module not yet present simply has no command in --help.
_COMMAND_MODULES = ("doctor", "sandbox", "overdue", "notify", "purge", "status", "report")

for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"{__package__}.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.{_name}":
            raise
