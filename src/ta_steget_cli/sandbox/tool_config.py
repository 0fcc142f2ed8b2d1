"""The tool's config for the built-in sandbox tenant (`tasteget --sandbox`): the one module of
the sandbox that knows the tool, so that `config` does not know the sandbox. Only the CLI's
`--sandbox` wiring and tests import it; the sandbox's server code never does.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import (
    Config,
    FirstResponseSettings,
    MoveStatusSettings,
    NotifySettings,
    PreferredContactSettings,
    PurgeSettings,
    ReportSettings,
    Secrets,
    SuperOfficeSettings,
    default_data_dir,
)
from . import ids


def sandbox_data_dir() -> Path:
    """Where --sandbox keeps its tenant, plans and journals: $TASTEGET_SANDBOX_DIR (each test
    its own), else `sandbox` in the data folder."""
    explicit = os.environ.get("TASTEGET_SANDBOX_DIR")
    return Path(explicit).expanduser() if explicit else default_data_dir() / "sandbox"


def sandbox_config(api_url: str = "http://sandbox.local/Cust00000/api") -> Config:
    """The config that matches the built-in sandbox tenant's ids (used by --sandbox)."""
    return Config(
        path=None,
        superoffice=SuperOfficeSettings(
            api_url=api_url,
            tenant=ids.CONTEXT_IDENTIFIER,
            auth="ticket",
            page_size=1000,
            requests_per_second=100.0,
        ),
        kommuner=dict(ids.KOMMUN_INTERESTS),
        move_status=MoveStatusSettings(
            field=ids.MOVE_STATUS_FIELD,
            values=dict(ids.MOVE_STATUS_VALUES),
            moved_to_field=ids.MOVED_TO_FIELD,
            moved_to_values=dict(ids.MOVED_TO_VALUES),
            move_date_field=ids.MOVE_DATE_FIELD,
        ),
        preferred_contact=PreferredContactSettings(
            field=ids.PREFERRED_CONTACT_FIELD, values=dict(ids.PREFERRED_CONTACT_VALUES)
        ),
        # The forms' own system login, as `doctor --probe` finds it on this tenant.
        first_response=FirstResponseSettings(
            ignore_registered_by=(ids.FORM_USER[0],),
            no_response_interests=ids.NO_RESPONSE_INTERESTS,
        ),
        purge=PurgeSettings(
            newsletter_interest=ids.NEWSLETTER_INTEREST,
            data_dir=sandbox_data_dir(),
        ),
        notify=NotifySettings(
            transport="outbox",  # the mails are written as .eml files: nothing is sent
            sender=SANDBOX_SENDER,
            recipients=sandbox_recipients(),
            configured=True,
        ),
        report=ReportSettings(),
    )


SANDBOX_SENDER = "tasteget@sandbox.example"


def sandbox_recipients() -> dict[str, tuple[str, ...]]:
    """Made-up addresses for every municipality and the region."""
    return {
        **{k: (f"flyttvagledare@{_slug(k)}.example",) for k in ids.KOMMUN_INTERESTS},
        "region": ("inflytt@region.example",),
    }


def sandbox_secrets() -> Secrets:
    return Secrets({"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN})


def _slug(name: str) -> str:
    table = str.maketrans({"å": "a", "ä": "a", "ö": "o", "Å": "a", "Ä": "a", "Ö": "o"})
    return name.translate(table).lower()
