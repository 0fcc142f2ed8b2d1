"""The Typer app and its global options; the commands are registered on it from here (each
command module has a `register(app)`), so no command module imports the app."""

from __future__ import annotations

import codecs
import io
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from .. import __version__
from ..i18n import _
from ..output import PAGING
from .commands import register_commands
from .group import ClickException, TastegetGroup, report_usage_error
from .runtime import Runtime

app = typer.Typer(
    cls=TastegetGroup,
    name="tasteget",
    help="Keeps the Ta steget cooperation's shared SuperOffice register honest.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tasteget {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Config file (else $TASTEGET_CONFIG, else the platform config dir).",
            show_default=False,
        ),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox", help="Use the built-in sandbox tenant in-process (no credentials)."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log each API call to stderr.")
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", metavar="sv|en", help="Language of what people read: sv (default) or en."
        ),
    ] = None,
    no_pager: Annotated[
        bool,
        typer.Option(
            "--no-pager",
            help="Print long output on the terminal as it is, not through a pager "
            "($TASTEGET_PAGER, else $PAGER, else less).",
        ),
    ] = False,
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline",
            min=0.1,
            metavar="SECONDS",
            help="Stop the command cleanly once this many seconds have passed (for cron; "
            "else [run] deadline_seconds).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    if lang is not None and lang not in ("sv", "en"):
        raise typer.BadParameter(
            _("found {value!r}, expected sv or en").format(value=lang), param_hint="--lang"
        )
    PAGING.set(not no_pager)
    handler = _log_handler(verbose)
    runtime = Runtime(
        config_path=config, sandbox=sandbox, verbose=verbose, lang_option=lang,
        log_handler=handler, deadline=deadline,
    )  # fmt: skip
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _log_handler(verbose: bool) -> logging.Handler:
    """A stderr handler for this run; Runtime.close removes it again."""
    logger = logging.getLogger("ta_steget_cli")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False
    return handler


register_commands(app)


def utf8_streams() -> None:
    """Redirected output is UTF-8 whatever the locale: JSON and CSV piped or redirected on
    Windows would otherwise be written in the ANSI code page (cp1252), which cannot hold many
    names and which other tools then read wrongly. A console keeps its own encoding."""
    for stream in (sys.stdout, sys.stderr):
        if (
            isinstance(stream, io.TextIOWrapper)
            and not stream.isatty()
            and codecs.lookup(stream.encoding).name != "utf-8"
        ):
            stream.reconfigure(encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; errors in the global options get one line too."""
    utf8_streams()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="tasteget", standalone_mode=False)
    except ClickException as exc:
        report_usage_error(exc)
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        typer.echo("tasteget: " + _("aborted"), err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
