"""`tasteget secrets set|unset|list`: secrets for cron in the OS keyring, not in plain text."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import keychain
from ..config import SECRET_NAMES
from ..errors import UsageError
from ..i18n import _

secrets_app = typer.Typer(
    help="Keep secrets (system user, SMTP password) in the operating system's keyring.",
    no_args_is_help=True,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        help="The secret's name, e.g. TASTEGET_SMTP_PASSWORD or smtp_password.",
        metavar="NAME",
        show_default=False,
    ),
]


def secret_name(text: str) -> str:
    """The full secret name for `text` (TASTEGET_SMTP_PASSWORD or smtp_password)."""
    wanted = text.strip().upper()
    for name in SECRET_NAMES:
        if wanted in (name, name.removeprefix("TASTEGET_")):
            return name
    raise UsageError(
        _("NAME: found {value!r}, expected one of {valid}").format(
            value=text, valid=", ".join(SECRET_NAMES)
        )
    )


@secrets_app.command("set")
def set_secret(name: NameArgument) -> None:
    """Store a secret; you are asked for the value (or it is read from standard input).

    The environment still wins when the same variable is set there.

    Example: tasteget secrets set TASTEGET_SMTP_PASSWORD
    """
    full = secret_name(name)
    if sys.stdin.isatty():
        value = typer.prompt(_("Value of {name}").format(name=full), hide_input=True)
    else:
        value = sys.stdin.readline()
    # A value pasted or piped in carries a line end that is never part of a secret.
    value = value.strip("\r\n")
    if not value:
        raise UsageError(_("{name}: the value is empty; nothing was stored").format(name=full))
    keychain.set_secret(full, value)
    typer.echo(_("{name} is stored in the keyring.").format(name=full), err=True)


@secrets_app.command("unset")
def unset_secret(name: NameArgument) -> None:
    """Remove a secret from the keyring.

    Example: tasteget secrets unset TASTEGET_SMTP_PASSWORD
    """
    full = secret_name(name)
    if keychain.delete_secret(full):
        typer.echo(_("{name} is removed from the keyring.").format(name=full), err=True)
    else:
        typer.echo(_("{name} was not in the keyring.").format(name=full), err=True)


@secrets_app.command("list")
def list_secrets() -> None:
    """Show which secrets the keyring holds (never their values).

    Example: tasteget secrets list
    """
    for name in SECRET_NAMES:
        where = _("keyring") if keychain.get_secret(name) else "-"
        typer.echo(f"{name:<28} {where}")


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
