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
from .streams import redacted_output

# Typer may bundle its own click; take the exception classes it really raises and handles.
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def _one_line(exc: Exception) -> str:
    """A usage error as one line, naming the command and where to read more."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return " ".join(message.split()) + where


class TastegetGroup(TyperGroup):
    """Turns every error raised below it into one stderr line and an exit code, in one place."""

    def invoke(self, ctx: Any) -> Any:
        # Installed once, by the outermost group, before the runtime exists: the streams ask
        # for the secrets when they print, so a secret learnt later is redacted too.
        with redacted_output(
            lambda text: _redact_values(ctx, text), lambda text: _redact_line(ctx, text)
        ):
            return self._invoke_reporting(ctx)

    def _invoke_reporting(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TastegetError as exc:
            # Printed here, not as a ClickException: Typer's rich mode would draw a panel
            # around it, and the spec promises one plain line that cron mail shows as it is.
            typer.echo(f"tasteget: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except ClickException as exc:
            typer.echo(f"tasteget: {_one_line(exc)}", err=True)
            raise typer.Exit(getattr(exc, "exit_code", 2)) from None
        except KeyboardInterrupt:
            typer.echo("tasteget: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            runtime = ctx.find_object(Runtime)
            if runtime is not None and runtime.verbose:
                traceback.print_exc()
            typer.echo(
                f"tasteget: internal error: {type(exc).__name__}: {exc}"
                " (run with --verbose for details)",
                err=True,
            )
            raise typer.Exit(1) from None


def _secrets_of(ctx: Any) -> list[str]:
    runtime = ctx.find_object(Runtime)
    return runtime.known_secrets() if runtime is not None else Runtime().known_secrets()


def _redact_values(ctx: Any, text: str) -> str:
    """Listings on stdout: only the secret values themselves (register text is data, and a
    note that says "Bearer" is not a credential)."""
    for value in sorted(_secrets_of(ctx), key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _redact_line(ctx: Any, text: str) -> str:
    """Messages on stderr: secret values and anything shaped like a ticket or a header."""
    from ..superoffice import RedactSecrets

    return RedactSecrets(_secrets_of(ctx)).redact(text)


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
    """Console-script entry point; errors in the global options get one line too."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="tasteget", standalone_mode=False)
    except ClickException as exc:
        typer.echo(f"tasteget: {_one_line(exc)}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        typer.echo("tasteget: aborted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
