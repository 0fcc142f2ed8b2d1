"""`tasteget sandbox serve`: the built-in SuperOffice-compatible tenant on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .options import AsOfOption
from .runtime import SANDBOX_PERSONS, SANDBOX_SEED, as_of_or_today

sandbox_app = typer.Typer(
    help="The built-in sandbox tenant: made-up people, for trying the tool and for training.",
    no_args_is_help=True,
)


def sandbox_toml(api_url: str) -> str:
    """A config for the served sandbox, as a region admin would write one for a real tenant."""
    from ..sandbox import ids

    def table(mapping: dict[str, int]) -> str:
        return "\n".join(f'"{name}" = {value}' for name, value in mapping.items())

    return f"""# Config for the tasteget sandbox tenant at {api_url}
[superoffice]
api_url = "{api_url}"
auth = "ticket"                 # TASTEGET_TICKET and TASTEGET_APP_TOKEN from the environment

[kommuner]
{table(ids.KOMMUN_INTERESTS)}

[move_status]
field = "{ids.MOVE_STATUS_FIELD}"
moved_to_field = "{ids.MOVED_TO_FIELD}"
move_date_field = "{ids.MOVE_DATE_FIELD}"
[move_status.values]
{table(ids.MOVE_STATUS_VALUES)}
[move_status.moved_to_values]
{table(ids.MOVED_TO_VALUES)}

[preferred_contact]
field = "{ids.PREFERRED_CONTACT_FIELD}"
[preferred_contact.values]
{table(ids.PREFERRED_CONTACT_VALUES)}

[first_response]
ignore_registered_by = ["{ids.FORM_USER[0]}", "{ids.SYSTEM_USER[0]}"]

[purge]
newsletter_interest = {ids.NEWSLETTER_INTEREST}
"""


@sandbox_app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1.")] = 8765,
    persons: Annotated[
        int, typer.Option("--persons", "-n", help="How many made-up persons.")
    ] = SANDBOX_PERSONS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the made-up data.")] = SANDBOX_SEED,
    as_of: AsOfOption = None,
    latency: Annotated[
        float, typer.Option("--latency", help="Seconds added to every API answer (benchmarks).")
    ] = 0.0,
    write_config: Annotated[
        Path | None,
        typer.Option("--write-config", help="Write a config file pointing at this tenant."),
    ] = None,
) -> None:
    """Run the sandbox tenant on 127.0.0.1 until Ctrl-C; prints its URL and credentials."""
    from ..sandbox import SandboxTenant, ids, serve_forever

    if not 0 <= port <= 65535:
        raise UsageError(f"--port: found {port}, expected a port from 0 to 65535")
    if persons < 0:
        raise UsageError(f"--persons: found {persons}, expected 0 or more")
    if write_config is not None and write_config.exists():
        raise UsageError(f"--write-config: {write_config} exists; remove it or name another file")
    typer.echo(f"Building the sandbox tenant ({persons} made-up persons)...", err=True)
    tenant = SandboxTenant(persons=persons, seed=seed, today=as_of_or_today(as_of), latency=latency)

    def announce(base_url: str, api_url: str) -> None:
        if write_config is not None:
            write_config.write_text(sandbox_toml(api_url), encoding="utf-8")
        typer.echo(f"Sandbox tenant {ids.CONTEXT_IDENTIFIER} at {api_url}", err=True)
        typer.echo("Use it from another terminal:", err=True)
        typer.echo(f"  export TASTEGET_TICKET='{ids.TICKET}'", err=True)
        typer.echo(f"  export TASTEGET_APP_TOKEN='{ids.APP_TOKEN}'", err=True)
        if write_config is not None:
            typer.echo(f"  tasteget --config {write_config} doctor", err=True)
        else:
            typer.echo("  (add --write-config sandbox.toml to get a config for it)", err=True)
        typer.echo("Ctrl-C stops it.", err=True)

    try:
        serve_forever(tenant, "127.0.0.1", port, announce)
    except OSError as exc:
        raise UsageError(f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror})") from None
    except KeyboardInterrupt:
        typer.echo("Sandbox stopped.", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
