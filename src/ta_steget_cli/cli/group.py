"""The one place where typed errors become one clear line and the spec's exit code: the
`TastegetGroup` every command runs under, and the redaction of what it prints."""

from __future__ import annotations

import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from ..errors import TastegetError
from .runtime import Runtime
from .streams import redacted_output

# Typer may bundle its own click; take the exception classes it really raises and handles.
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def one_line(exc: Exception) -> str:
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
            typer.echo(f"tasteget: {one_line(exc)}", err=True)
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
