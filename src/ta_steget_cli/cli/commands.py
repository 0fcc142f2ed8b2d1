"""Every command module, and the one function that puts their commands on the app."""

from __future__ import annotations

import typer

from . import doctor, login, notify, overdue, purge, report, sandbox, secrets, status

MODULES = (login, doctor, notify, overdue, purge, report, sandbox, status, secrets)


def register_commands(app: typer.Typer) -> None:
    """Adds each module's commands to `app`, in this order (the order --help lists them)."""
    for module in MODULES:
        module.register(app)
