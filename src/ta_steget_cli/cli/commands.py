"""Imports each command module so that it registers itself on the app (one module a command)."""

from __future__ import annotations

from . import (  # noqa: F401
    doctor,
    notify,
    overdue,
    purge,
    report,
    sandbox,
    status,
)
