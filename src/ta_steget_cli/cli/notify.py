"""`tasteget notify`: the weekly mail of overdue lists, one per municipality and the region."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import mail
from ..errors import PartialFailure
from ..i18n import _, ngettext
from ..notify import (
    GUIDE_PREFIX,
    REGION,
    failures,
    outgoing,
    plan_mailings,
    require_sender,
    require_smtp,
)
from ..overdue import Scope, calendar_of, overdue_list, rule_of
from ..register import Register
from ..terms import region_name
from .held_stop import stops_at_requests
from .options import AsOfOption, OnlyOption, due_soon_option, outbox_option
from .runtime import Runtime, as_of_or_today


def place(key: str) -> str:
    if key.startswith(GUIDE_PREFIX):
        return _("{name} (our contact)").format(name=key[len(GUIDE_PREFIX) :])
    return region_name() if key == REGION else key


def unaddressed_line(key: str, waiting: int) -> str:
    """A warning for a list nobody receives; how many persons that leaves unmentioned."""
    if key.startswith(GUIDE_PREFIX):
        template = _("warning: {place} has no address in [notify.guides]")
    else:
        template = _("warning: {place} has no recipients in [notify.recipients]")
    line = template.format(place=place(key))
    if waiting:
        line += ngettext(
            "; its {n} person is not mailed", "; its {n} people are not mailed", waiting
        ).format(n=waiting)
    return line


def sent_line(key: str, n: int, recipients: int) -> str:
    to = ngettext("{r} recipient", "{r} recipients", recipients).format(r=recipients)
    text = ngettext("{place}: {n} person sent to {to}", "{place}: {n} people sent to {to}", n)
    return text.format(place=place(key), n=n, to=to)


def written_line(key: str, n: int, path: Path) -> str:
    text = ngettext(
        "{place}: {n} person written to {path}", "{place}: {n} people written to {path}", n
    )
    return text.format(place=place(key), n=n, path=path)


def only_key(runtime: Runtime, only: str | None) -> str | None:
    if only is None:
        return None
    if only.strip().casefold() == REGION:
        return REGION
    return runtime.kommun(only, "--only", also=REGION)


def scope_for(only: str | None) -> Scope:
    """Read no more than the mails need: one municipality, the region, or the county."""
    if only == REGION:
        return Scope(region=True)
    return Scope(kommun=only)


def notify_command(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the messages as .eml files; send nothing.")
    ] = False,
    only: OnlyOption = None,
    send_empty: Annotated[
        bool, typer.Option("--send-empty", help="Also send lists with nobody on them.")
    ] = False,
    outbox: Annotated[
        Path | None,
        outbox_option(
            "Folder for --dry-run's .eml files (default: [notify] outbox, else ./outbox)."
        ),
    ] = None,
    due_soon: Annotated[
        int | None,
        due_soon_option(
            "List those due within N working days in their own section "
            "(default: [notify] due_soon_days)."
        ),
    ] = None,
) -> None:
    """Mail each municipality (and the region) its overdue list; for a weekly cron job."""
    runtime: Runtime = ctx.obj
    day = as_of_or_today(as_of)
    key = only_key(runtime, only)
    config = runtime.config
    settings = config.notify
    lang = runtime.lang
    require_sender(settings)
    dry_run = mail.writes_files(settings, dry_run)
    password = None
    if not dry_run:
        password = runtime.secrets().get("TASTEGET_SMTP_PASSWORD")
        require_smtp(settings, password)

    client = runtime.client(day)
    with stops_at_requests(client.deadlines):
        found = overdue_list(
            Register(client, config, day),
            scope_for(key),
            rule_of(config),
            calendar_of(config),
            due_soon=settings.due_soon_days if due_soon is None else due_soon,
            older_kommuner=True,
        )
    plan = plan_mailings(
        found.items,
        config.kommuner,
        settings.recipients,
        only=key,
        send_empty=send_empty,
        left_out=found.left_out,
        guides=settings.guides if settings.per_guide and key is None else None,
    )
    for name, n in plan.unaddressed:
        typer.echo(unaddressed_line(name, n), err=True)
    if not plan.mailings:
        typer.echo(
            _("nothing to send: no list has anyone overdue (--send-empty sends empty lists)"),
            err=True,
        )
        return
    messages = outgoing(plan, as_of=day, settings=settings, lang=lang, since=found.since)
    sizes = {m.key: len(m.items) for m in plan.mailings}

    if dry_run:
        paths = mail.write_eml(messages, outbox or settings.outbox)
        for out, path in zip(messages, paths, strict=True):
            typer.echo(written_line(out.key, sizes[out.key], path))
        return

    results = mail.send(messages, settings, password)
    for result in results:
        if result.ok:
            recipients = next(len(o.recipients) for o in messages if o.key == result.key)
            typer.echo(sent_line(result.key, sizes[result.key], recipients))
        else:
            line = _("{place}: NOT sent: {reason}").format(
                place=place(result.key), reason=result.reason
            )
            typer.echo(line, err=True)
    failed = failures(results)
    if failed:
        raise PartialFailure(
            _("{failed} of {total} mails failed: {places}").format(
                failed=len(failed),
                total=len(results),
                places=", ".join(place(r.key) for r in failed),
            )
        )


def register(app: typer.Typer) -> None:
    app.command("notify")(notify_command)
