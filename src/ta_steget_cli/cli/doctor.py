"""`tasteget doctor`."""

from __future__ import annotations

import typer

from .. import doctor
from ..errors import TastegetError
from .runtime import Runtime


def doctor_command(ctx: typer.Context) -> None:
    """Check the config, the connection, the credentials and every configured id."""
    runtime: Runtime = ctx.obj
    where = "built-in sandbox config" if runtime.sandbox else "config"
    try:
        config = runtime.config
    except TastegetError as exc:
        typer.echo(f"FAIL  config: {exc}")
        raise typer.Exit(exc.exit_code) from None
    typer.echo(f"ok    config: {config.path or where}")
    try:
        client = runtime.client()
    except TastegetError as exc:
        typer.echo(f"FAIL  credentials: {exc}")
        raise typer.Exit(exc.exit_code) from None
    checks = doctor.run_checks(client, config)
    for check in checks:
        typer.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    code = doctor.exit_code(checks)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
