"""Options shared by the commands, defined once: an alias where the option reads the same
everywhere, a factory where only its help differs from command to command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ..output import Format
from .completion import complete_kommun, complete_kommun_or_region, complete_status

FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        help="table, json, csv or xlsx (default: from the --output file's suffix, else table "
        "on a terminal, else json). csv is the machine format (comma, UTF-8, English keys); "
        "xlsx is for Excel.",
        case_sensitive=False,
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the list to this file; .xlsx, .csv or .json chooses the format.",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Read the register as it stood at the end of this day (YYYY-MM-DD; default today).",
        show_default=False,
        metavar="YYYY-MM-DD",
    ),
]


def kommun_option(
    *names: str, help: str, complete: Callable[[str], list[str]] = complete_kommun
) -> Any:
    """An option naming a municipality (any case), with Tab completion of the municipalities."""
    return typer.Option(
        *names, metavar="KOMMUN", help=help, show_default=False, autocompletion=complete
    )


def status_option(help: str) -> Any:
    """--status: a move status, with Tab completion of the configured status names."""
    return typer.Option(
        "--status",
        "-s",
        metavar="STATUS",
        help=help,
        show_default=False,
        autocompletion=complete_status,
    )


def due_soon_option(help: str) -> Any:
    """--due-soon N: those due within N working days, listed too."""
    return typer.Option("--due-soon", min=0, metavar="N", help=help, show_default=False)


def outbox_option(help: str) -> Any:
    """--outbox: the folder the .eml files are written to."""
    return typer.Option("--outbox", help=help, show_default=False)


KommunOption = Annotated[
    str | None, kommun_option("--kommun", "-k", help="Municipality name (any case).")
]
MovedToOption = Annotated[
    str | None, kommun_option("--moved-to", help="The municipality moved to.")
]
OnlyOption = Annotated[
    str | None,
    kommun_option(
        "--only",
        help="Only this municipality (or 'region').",
        complete=complete_kommun_or_region,
    ),
]
StatusOption = Annotated[
    str | None,
    status_option(
        "Only this move status: a key of [move_status.values] or its name as SuperOffice shows it."
    ),
]
ReviewStatusOption = Annotated[str | None, status_option("Only contacts with this move status.")]
ContactsRegionOption = Annotated[
    bool, typer.Option("--region", help="Contacts who chose no municipality.")
]
