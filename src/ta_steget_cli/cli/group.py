"""The one place where typed errors become one clear line and the spec's exit code: the
`TastegetGroup` every command runs under, and the redaction of what it prints."""

from __future__ import annotations

import errno
import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from ..config import ui_language
from ..errors import TastegetError
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES, _, set_language
from .localize import LocalizedContext, localize, see_help, usage_error_text
from .runtime import Runtime, Terminated, interrupted_code
from .streams import redacted_output

# Typer may bundle its own click; take the exception classes it really raises and handles.
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


def one_line(exc: Exception) -> str:
    """A usage error as one line, naming the command and where to read more."""
    message = usage_error_text(exc)
    ctx = getattr(exc, "ctx", None)
    where = " " + see_help(ctx.command_path) if ctx is not None else ""
    return " ".join(message.split()) + where


def report_usage_error(exc: Exception) -> None:
    # no_args_is_help has printed the help already; a line saying nothing would follow it.
    if type(exc).__name__ != "NoArgsIsHelpError":
        typer.echo(f"tasteget: {one_line(exc)}", err=True)


_GLOBAL_WITH_VALUE = ("--config", "--lang")


def _option_value(args: list[str], name: str) -> str | None:
    """The value of the global option `name` in `args` (before the command), if given."""
    tokens = iter(args)
    for arg in tokens:
        if arg in _GLOBAL_WITH_VALUE:
            value = next(tokens, None)
            if arg == name:
                return value
        elif arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        elif not arg.startswith("-"):
            return None  # the command's name: its own options are not global ones
    return None


def choose_language(args: list[str]) -> str:
    """--lang, else the config's [ui] lang, else Swedish; chosen before anything is parsed so
    that help, Click's own errors and every message of the run share one language."""
    option = _option_value(args, "--lang")
    if option in LANGUAGES:
        return option
    if option is None and "--sandbox" not in args:
        config = _option_value(args, "--config")
        found = ui_language(Path(config) if config else None)
        if found in LANGUAGES:
            return found
    return DEFAULT_LANGUAGE


class TastegetGroup(TyperGroup):
    """Turns every error raised below it into one stderr line and an exit code, in one place."""

    context_class = LocalizedContext

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        if parent is None:  # the root: the run's language, before a word is printed
            set_language(choose_language(list(args)))
            localize(self)
        try:
            return super().make_context(info_name, args, parent, **extra)
        except ClickException as exc:  # a global option's error: one line too, not a panel
            report_usage_error(exc)
            raise typer.Exit(getattr(exc, "exit_code", 2)) from None

    def invoke(self, ctx: Any) -> Any:
        # Installed once, by the outermost group, before the runtime exists: the streams ask
        # for the secrets when they print, so a secret learnt later is redacted too.
        with (
            redacted_output(
                lambda text: _redact_values(ctx, text), lambda text: _redact_line(ctx, text)
            ),
            sigterm_as_interrupt(),
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
        except OSError as exc:
            if exc.errno not in _CANNOT_WRITE or not exc.filename:
                raise
            typer.echo(f"tasteget: {_cannot_write(exc)}", err=True)
            raise typer.Exit(2) from None
        except ClickException as exc:
            report_usage_error(exc)
            raise typer.Exit(getattr(exc, "exit_code", 2)) from None
        except KeyboardInterrupt as exc:
            stopped = _("stopped (SIGTERM)") if isinstance(exc, Terminated) else _("interrupted")
            typer.echo("tasteget: " + stopped, err=True)
            raise typer.Exit(interrupted_code(exc)) from None
        except Exception as exc:
            runtime = ctx.find_object(Runtime)
            if runtime is not None and runtime.verbose:
                traceback.print_exc()
            typer.echo(
                "tasteget: "
                + _("internal error: {error} (run with --verbose for details)").format(
                    error=f"{type(exc).__name__}: {exc}"
                ),
                err=True,
            )
            raise typer.Exit(1) from None


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises Terminated (a KeyboardInterrupt), so a run stopped by a service manager
    or `kill` cleans up, says so in one line and exits 143, as Ctrl-C does with 130."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def stop(_signum: int, _frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# A folder the tool cannot write in: read-only, not ours, or full. Not an internal error.
# (EDQUOT, over quota, is not defined on Windows.)
_CANNOT_WRITE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, getattr(errno, "EDQUOT", 0)}


def _cannot_write(exc: OSError) -> str:
    """Which file and folder, why, and that nothing is lost: running again goes on from there."""
    path = Path(exc.filename)
    folder = path if path.is_dir() else path.parent
    return _(
        "cannot write {path} in the folder {folder} ({reason}); free space there or make it "
        "writable (the data folder is [purge] data_dir), then run the same command again: it "
        "continues where it stopped"
    ).format(path=path, folder=folder, reason=exc.strerror)


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
