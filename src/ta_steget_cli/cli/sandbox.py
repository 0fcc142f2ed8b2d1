"""`tasteget sandbox serve`: the built-in SuperOffice-compatible tenant on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..i18n import N_, _
from ..workdays import STOCKHOLM
from .options import AsOfOption
from .runtime import (
    SANDBOX_PERSONS,
    SANDBOX_SEED,
    as_of_or_today,
    parse_day,
    sandbox_state_dir,
)

sandbox_app = typer.Typer(
    help="The built-in sandbox tenant: made-up people, for trying the tool and for training.",
    no_args_is_help=True,
)


def sandbox_toml(api_url: str, outbox: Path | None = None) -> str:
    """A complete config for the served sandbox, as a region admin would write one for a real
    tenant; its mail goes to an outbox folder, so every command works on a fresh sandbox."""
    from ..sandbox import ids
    from ..sandbox.tool_config import SANDBOX_SENDER, sandbox_recipients

    def table(mapping: dict[str, Any]) -> str:
        return "\n".join(f"{_toml(name)} = {_toml(v)}" for name, v in mapping.items())

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
ignore_registered_by = ["{ids.FORM_USER[0]}"]   # the forms' login (doctor --probe finds it)
no_response_interests = {list(ids.NO_RESPONSE_INTERESTS)}

[notify]
transport = "outbox"            # writes each mail as an .eml file into outbox; to send for real:
                                # transport = "smtp", smtp_host, username (and the password in
                                # TASTEGET_SMTP_PASSWORD)
outbox = {_toml(str(outbox or Path("outbox")))}
from = "{SANDBOX_SENDER}"
due_soon_days = 2
details = "names"
[notify.recipients]
{table({k: list(v) for k, v in sandbox_recipients().items()})}

[purge]
newsletter_interest = {ids.NEWSLETTER_INTEREST}
"""


def _toml(value: Any) -> str:
    """A TOML string, list or number (JSON's escapes are TOML's; letters stay readable)."""
    return json.dumps(value, ensure_ascii=False)


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
        raise UsageError(
            _("--port: found {port}, expected a port from 0 to 65535").format(port=port)
        )
    if persons < 0:
        raise UsageError(_("--persons: found {n}, expected 0 or more").format(n=persons))
    if write_config is not None and write_config.exists():
        text = _("--write-config: {path} exists; remove it or name another file")
        raise UsageError(text.format(path=write_config))
    building = _("Building the sandbox tenant ({n} made-up persons)...").format(n=persons)
    typer.echo(building, err=True)
    tenant = SandboxTenant(persons=persons, seed=seed, today=as_of_or_today(as_of), latency=latency)

    def announce(base_url: str, api_url: str) -> None:
        if write_config is not None:
            outbox = write_config.resolve().parent / "outbox"
            write_config.write_text(sandbox_toml(api_url, outbox), encoding="utf-8")
        where = _("Sandbox tenant {tenant} at {url}")
        typer.echo(where.format(tenant=ids.CONTEXT_IDENTIFIER, url=api_url), err=True)
        typer.echo(_("Use it from another terminal:"), err=True)
        typer.echo(f"  export TASTEGET_TICKET='{ids.TICKET}'", err=True)
        typer.echo(f"  export TASTEGET_APP_TOKEN='{ids.APP_TOKEN}'", err=True)
        if write_config is not None:
            typer.echo(f"  tasteget --config {write_config} doctor", err=True)
        else:
            typer.echo(_("  (add --write-config sandbox.toml to get a config for it)"), err=True)
        typer.echo(_("Ctrl-C stops it."), err=True)

    try:
        serve_forever(tenant, "127.0.0.1", port, announce)
    except OSError as exc:
        text = _("--port {port}: cannot listen on 127.0.0.1 ({reason})")
        raise UsageError(text.format(port=port, reason=exc.strerror)) from None
    except KeyboardInterrupt:
        typer.echo(_("Sandbox stopped."), err=True)


KIND_WORDS: Mapping[str, str] = {
    "appointment": N_("appointment"),
    "document": N_("document"),
    "chat": N_("chat"),
}


class ResponseKind(StrEnum):
    appointment = "appointment"
    document = "document"
    chat = "chat"


@sandbox_app.command("reset")
def reset(ctx: typer.Context) -> None:
    """Start the --sandbox tenant over: forget every change made in it."""
    from ..sandbox import TenantStore

    store = TenantStore(sandbox_state_dir())
    if store.reset():
        text = _(
            "The sandbox starts over: {folder} is emptied. The next command with --sandbox "
            "makes a new sandbox."
        )
    else:
        text = _(
            "The sandbox was already empty ({folder}); the next command with --sandbox makes "
            "a new one."
        )
    typer.echo(text.format(folder=store.folder), err=True)


@sandbox_app.command("respond")
def respond(
    ctx: typer.Context,
    person_id: Annotated[int, typer.Argument(help="The person's id.", min=1)],
    kind: Annotated[
        ResponseKind,
        typer.Option("--kind", help="What the response was: appointment, document or chat."),
    ] = ResponseKind.appointment,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="The move guide's login (default: a guide of the person's municipality).",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
) -> None:
    """Register a first response in the --sandbox tenant, as a move guide does in SuperOffice."""
    from ..sandbox import TenantStore, ids

    day = parse_day(as_of)
    store = TenantStore(sandbox_state_dir())
    tenant = store.load(SANDBOX_PERSONS, SANDBOX_SEED, as_of_or_today(as_of))
    # Frozen with --as-of: at noon that day, so that `--as-of` commands see it; else now.
    at = int(datetime.combine(day, time(12), STOCKHOLM).timestamp()) if day else 0
    try:
        activity = tenant.respond(person_id, kind.value, by, at)
    except KeyError:
        text = _("sandbox respond: there is no person {id} in the sandbox")
        raise UsageError(text.format(id=person_id)) from None
    except LookupError:
        logins = ", ".join(g[1] for g in ids.MOVE_GUIDES)
        text = _(
            "sandbox respond --by: no move guide {login!r} in the sandbox; choose one of {logins}"
        )
        raise UsageError(text.format(login=by, logins=logins)) from None
    stored = next(a for a in tenant.person(person_id).activities if a.id == activity)
    when = datetime.fromtimestamp(stored.date, STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    text = _(
        "Person {id}: response registered ({kind} by {login}, {when}), as a move guide does in "
        "SuperOffice. See the list: tasteget --sandbox overdue"
    )
    kind_word = _(KIND_WORDS[kind.value])
    typer.echo(text.format(id=person_id, kind=kind_word, login=stored.user[1], when=when))


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
