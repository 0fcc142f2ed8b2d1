"""`tasteget login`, `logout` and `whoami`: a person's own SuperOffice login."""

from __future__ import annotations

import webbrowser
from typing import Annotated

import typer

from ..config import ENVIRONMENTS
from ..errors import UsageError
from ..i18n import _
from .runtime import Runtime

LOGIN_TIMEOUT_SECONDS = 300.0


def login(
    ctx: typer.Context,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            help="The tenant to sign in to (Cust12345); default: [superoffice] tenant.",
            show_default=False,
            metavar="CUST",
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="SuperOffice's environment: online, sod or qaonline; default from the config.",
            show_default=False,
            metavar="ENV",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Seconds to wait for the browser.", min=1.0),
    ] = LOGIN_TIMEOUT_SECONDS,
) -> None:
    """Sign in to SuperOffice as yourself, in the browser.

    The login is kept in the operating system's keyring; later commands run as you.

    Example: tasteget login --tenant Cust12345
    """
    runtime: Runtime = ctx.obj
    if env is not None and env not in ENVIRONMENTS:
        raise UsageError(
            _("--env: found {value!r}, expected one of {valid}").format(
                value=env, valid=", ".join(ENVIRONMENTS)
            )
        )
    session = runtime.login_user(
        tenant=tenant,
        environment=env,
        open_browser=webbrowser.open,
        show_url=lambda url: typer.echo(
            _("Sign in in the browser. If it does not open, go to:\n{url}").format(url=url),
            err=True,
        ),
        timeout=timeout,
    )
    who = session.identity.email or str(session.identity.associate_id)
    typer.echo(
        _("Signed in as {who} to {tenant}.").format(who=who, tenant=session.identity.tenant),
        err=True,
    )


def logout(ctx: typer.Context) -> None:
    """Forget your login on this computer (and ask SuperOffice to revoke it).

    Example: tasteget logout
    """
    runtime: Runtime = ctx.obj
    if runtime.logout_user():
        typer.echo(_("Signed out. Run 'tasteget login' to sign in again."), err=True)
    else:
        typer.echo(_("You were not signed in."), err=True)


def whoami(ctx: typer.Context) -> None:
    """Show who you are in SuperOffice, the tenant, and what you may do.

    Example: tasteget whoami
    """
    runtime: Runtime = ctx.obj
    principal = runtime.client().principal()
    roles = runtime.config.purge.roles
    yes, no = _("yes"), _("no")
    lines = [
        (_("User"), f"{principal.full_name} ({principal.login})"),
        (_("Tenant"), principal.tenant),
        (_("Signed in with"), runtime.config.superoffice.auth),
        (_("Administrator"), yes if principal.is_administrator else no),
        (_("May change persons"), yes if principal.may_write else no),
        (_("May delete persons (purge)"), yes if principal.may_delete(roles) else no),
    ]
    width = max(len(label) for label, _value in lines)
    for label, value in lines:
        typer.echo(f"{label.ljust(width)}  {value}")


def register(app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("whoami")(whoami)
