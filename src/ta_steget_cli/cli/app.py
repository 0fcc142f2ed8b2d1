"""The Typer app, its global options and error handling. Commands live one per module."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import TastegetError
from .runtime import Runtime

# Typer may bundle its own click; take the exception classes it really raises and handles.
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
_PASS_THROUGH = (ClickException, typer.Exit, typer.Abort)


class CleanError(ClickException):  # type: ignore[misc,valid-type]
    """A TastegetError shown as one line on stderr, exiting with its own code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        typer.echo(f"tasteget: {self.format_message()}", err=True)


class TastegetGroup(TyperGroup):
    """Turns every typed error raised below it into a CleanError: one place, every command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TastegetError as exc:
            raise CleanError(str(exc), exc.exit_code) from None
        except _PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            typer.echo("tasteget: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            runtime = ctx.find_object(Runtime)
            if runtime is not None and runtime.verbose:
                traceback.print_exc()
            raise CleanError(
                f"internal error: {type(exc).__name__}: {exc} (run with --verbose for details)",
                1,
            ) from None


app = typer.Typer(
    cls=TastegetGroup,
    name="tasteget",
    help="Keeps the Ta steget cooperation's shared SuperOffice register honest.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    add_completion=False,
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
        typer.Option("--lang", help="Language of what people read: sv (default) or en."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    if lang is not None and lang not in ("sv", "en"):
        raise typer.BadParameter(f"found {lang!r}, expected sv or en", param_hint="--lang")
    handler = _log_handler(verbose)
    runtime = Runtime(
        config_path=config, sandbox=sandbox, verbose=verbose, lang_option=lang, log_handler=handler
    )
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


def _register_commands() -> None:
    from . import commands  # noqa: F401  (imports register each command on `app`)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv, prog_name="tasteget")
