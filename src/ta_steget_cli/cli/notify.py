"""`tasteget notify`: the weekly mail of overdue lists, one per municipality and the region."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from .. import mail
from ..errors import PartialFailure
from ..notify import (
    REGION,
    failures,
    outgoing,
    plan_mailings,
    require_sender,
    require_smtp,
)
from ..overdue import Scope, calendar_of, overdue_items, rule_of
from ..register import Register
from .options import AsOfOption
from .runtime import Runtime, as_of_or_today

WORDS: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "region": "Regionen",
        "persons": "{n} personer",
        "person": "1 person",
        "sent": "{place}: {count} skickat till {r} mottagare",
        "written": "{place}: {count} skrivet till {path}",
        "failed": "{place}: INTE skickat: {reason}",
        "unaddressed": "varning: {place} har inga mottagare i [notify.recipients]",
        "not_mailed": "; {count} skickas inte",
        "nothing": "inget att skicka: ingen lista har någon försenad person "
        "(--send-empty skickar tomma listor)",
        "partial": "{failed} av {total} utskick misslyckades: {places}",
    },
    "en": {
        "region": "Region",
        "persons": "{n} persons",
        "person": "1 person",
        "sent": "{place}: {count} sent to {r} recipients",
        "written": "{place}: {count} written to {path}",
        "failed": "{place}: NOT sent: {reason}",
        "unaddressed": "warning: {place} has no recipients in [notify.recipients]",
        "not_mailed": "; {count} not mailed",
        "nothing": "nothing to send: no list has anyone overdue (--send-empty sends empty lists)",
        "partial": "{failed} of {total} mails failed: {places}",
    },
}


def place(key: str, lang: str) -> str:
    return WORDS[lang]["region"] if key == REGION else key


def count_text(n: int, lang: str) -> str:
    words = WORDS[lang]
    return words["person"] if n == 1 else words["persons"].format(n=n)


def unaddressed_line(key: str, waiting: int, lang: str) -> str:
    """A warning for a list nobody receives; how many persons that leaves unmentioned."""
    words = WORDS[lang]
    line = words["unaddressed"].format(place=place(key, lang))
    if waiting:
        line += words["not_mailed"].format(count=count_text(waiting, lang))
    return line


def only_key(runtime: Runtime, only: str | None) -> str | None:
    if only is None:
        return None
    return REGION if only.strip().casefold() == REGION else runtime.kommun(only)


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
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            metavar="KOMMUN",
            help="Only this municipality (or 'region').",
            show_default=False,
        ),
    ] = None,
    send_empty: Annotated[
        bool, typer.Option("--send-empty", help="Also send lists with nobody on them.")
    ] = False,
    outbox: Annotated[
        Path | None,
        typer.Option(
            "--outbox",
            help="Folder for --dry-run's .eml files (default: [notify] outbox, else ./outbox).",
            show_default=False,
        ),
    ] = None,
    due_soon: Annotated[
        int | None,
        typer.Option(
            "--due-soon",
            min=0,
            metavar="N",
            help="Also list those due within N working days.",
            show_default=False,
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
    words = WORDS[lang]
    require_sender(settings)
    password = None
    if not dry_run:
        password = runtime.secrets().get("TASTEGET_SMTP_PASSWORD")
        require_smtp(settings, password)

    register = Register(runtime.client(day), config, day)
    items = overdue_items(
        register, scope_for(key), rule_of(config), calendar_of(config), due_soon=due_soon
    )
    plan = plan_mailings(
        items, config.kommuner, settings.recipients, only=key, send_empty=send_empty
    )
    for name, n in plan.unaddressed:
        typer.echo(unaddressed_line(name, n, lang), err=True)
    if not plan.mailings:
        typer.echo(words["nothing"], err=True)
        return
    messages = outgoing(plan, as_of=day, settings=settings, lang=lang)
    sizes = {m.key: len(m.items) for m in plan.mailings}

    if dry_run:
        paths = mail.write_eml(messages, outbox or settings.outbox)
        for out, path in zip(messages, paths, strict=True):
            typer.echo(
                words["written"].format(
                    place=place(out.key, lang), count=count_text(sizes[out.key], lang), path=path
                )
            )
        return

    results = mail.send(messages, settings, password)
    for result in results:
        name = place(result.key, lang)
        if result.ok:
            recipients = next(len(o.recipients) for o in messages if o.key == result.key)
            line = words["sent"].format(
                place=name, count=count_text(sizes[result.key], lang), r=recipients
            )
            typer.echo(line)
        else:
            typer.echo(words["failed"].format(place=name, reason=result.reason), err=True)
    failed = failures(results)
    if failed:
        raise PartialFailure(
            words["partial"].format(
                failed=len(failed),
                total=len(results),
                places=", ".join(place(r.key, lang) for r in failed),
            )
        )


def register(app: typer.Typer) -> None:
    app.command("notify")(notify_command)
