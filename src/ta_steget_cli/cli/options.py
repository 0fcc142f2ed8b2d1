"""Options shared by every listing command, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..output import Format
from .completion import complete_kommun

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
KommunOption = Annotated[
    str | None,
    typer.Option(
        "--kommun",
        "-k",
        metavar="KOMMUN",
        help="Municipality name (any case).",
        show_default=False,
        autocompletion=complete_kommun,
    ),
]
