"""`tasteget overdue`: the move guide's list of persons waiting too long for a first response."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console

from ..errors import UsageError
from ..i18n import N_, _, language, ngettext
from ..models import OverdueItem
from ..output import (
    Column,
    Format,
    as_record,
    choose_format,
    raw_record,
    render,
)
from ..overdue import (
    DUE_SOON,
    OVERDUE,
    OverdueList,
    Rule,
    Scope,
    calendar_of,
    overdue_list,
    rule_of,
)
from ..register import Register
from ..terms import region_name
from ..workdays import weekday_date
from .held_stop import stops_at_requests
from .options import AsOfOption, FormatOption, KommunOption, OutputOption, due_soon_option
from .runtime import Runtime, as_of_or_today, parse_day

# JSON and CSV carry the spec's keys in the spec's order.
DATA_COLUMNS = (
    Column("person_id", N_("Id"), justify="right"),
    Column("name", N_("Name")),
    Column("kommuner", N_("Municipalities")),
    Column("registered", N_("Registered")),
    Column("due", N_("Due")),
    Column("working_days_overdue", N_("Working days overdue"), justify="right"),
    Column("status", N_("Status")),
    Column("email", N_("E-mail")),
    Column("phone", N_("Phone")),
    Column("preferred_contact", N_("Preferred contact")),
    Column("our_contact", N_("Our contact")),
    Column("link", N_("Link")),
)
# The table puts what a move guide acts on first: how late, who, and how to reach them; the
# registration date and the spec's separate phone and e-mail keys stay in JSON and CSV.
TABLE_COLUMNS = (
    Column("days_late", N_("Working days late"), justify="right"),
    Column("status", N_("Status")),
    Column("name", N_("Name")),
    Column("preferred_contact", N_("Contact by")),
    Column("contact", N_("Phone / e-mail"), wrap=False),
    Column("kommuner", N_("Municipalities")),
    Column("registered", N_("Registered")),
    Column("due", N_("Due")),
    Column("our_contact", N_("Our contact")),
    Column("person_id", N_("Id"), justify="right"),
)
# On a narrow terminal these leave first, in this order; how late, who, how to reach them and
# the id stay.
TABLE_DROP = ("our_contact", "preferred_contact", "kommuner", "registered", "status", "due")


def status_word(status: str) -> str:
    return {OVERDUE: _("overdue"), DUE_SOON: _("due soon")}[status]


def contact_word(way: str | None) -> str:
    return {"phone": _("phone"), "email": _("e-mail")}.get(way or "", "")


def status_text(item: OverdueItem) -> str:
    """'overdue', or 'due today' / 'due Thursday 19 March' for a due-soon row: people never
    read a negative number."""
    if item.status != DUE_SOON:
        return status_word(item.status)
    if item.working_days_overdue == 0:
        return _("due today")
    return _("due {day}").format(day=weekday_date(item.due, language()))


def with_our_contact(runtime: Runtime, scope: Scope, name: str | None, day: date) -> Scope:
    """--our-contact NAME (as SuperOffice shows "our contact") or `me`: the signed-in user."""
    if name is None:
        return scope
    if not name.strip():
        raise UsageError(_("--our-contact: found '', expected a user's name or me"))
    if name.strip().casefold() != "me":
        return replace(scope, our_contact=name)
    who = runtime.client(day).current_principal()
    if who.get("IsSystemUser") or str(who.get("UserType", "")) == "SystemAssociate":
        raise UsageError(
            _(
                "--our-contact me: signed in as a system user, not as a person; sign in with "
                "your own login or give the name"
            )
        )
    try:
        return replace(scope, associate_id=int(who["AssociateId"]))
    except (KeyError, TypeError, ValueError):
        raise UsageError(_("--our-contact me: SuperOffice did not say who is signed in")) from None


def older_line(found: OverdueList) -> str | None:
    """The note on unanswered registrations before `since`, and how to list them."""
    if not found.older or found.earliest is None:
        return None
    return ngettext(
        "Also waiting: {n} person registered before {since} (the first on {earliest}); "
        "list them with --since {earliest}",
        "Also waiting: {n} people registered before {since} (the first on {earliest}); "
        "list them with --since {earliest}",
        found.older,
    ).format(n=found.older, since=found.since.isoformat(), earliest=found.earliest.isoformat())


def wrapped(note: str, width: int) -> str:
    """`note` in lines of at most `width`, an option never parted from its value (the user
    copies `--since DATE` as one)."""
    glued = re.sub(r"(--[a-z-]+) ", "\\1\u00a0", note)  # textwrap breaks at ASCII blanks only
    lines = textwrap.wrap(glued, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(line.replace("\u00a0", " ") for line in lines)


def rule_for(runtime: Runtime, since: str | None) -> Rule:
    rule = rule_of(runtime.config)
    day = parse_day(since, "--since")
    return rule if day is None else rule.listing_since(day)


def scope_of(runtime: Runtime, kommun: str | None, region: bool, everyone: bool) -> Scope:
    """At most one of --kommun, --region, --all; none means --all (the whole county's list,
    with each person's municipalities in a column), so a bare `tasteget overdue` is useful."""
    chosen = [
        name for name, on in (("--kommun", kommun), ("--region", region), ("--all", everyone)) if on
    ]
    if len(chosen) > 1:
        raise UsageError(
            _("{options}: choose one of --kommun NAME, --region, --all").format(
                options=_(" and ").join(chosen)
            )
        )
    if kommun is not None:
        return Scope(kommun=runtime.kommun(kommun))
    return Scope(region=region)


def count_line(items: Sequence[OverdueItem]) -> str:
    n = len(items)
    soon = sum(1 for i in items if i.status == DUE_SOON)
    if not soon:
        return ngettext("{n} person overdue", "{n} people overdue", n).format(n=n)
    return ngettext("{n} person: {overdue}, {soon}", "{n} people: {overdue}, {soon}", n).format(
        n=n,
        overdue=ngettext("{n} overdue", "{n} overdue", n - soon).format(n=n - soon),
        soon=ngettext("{n} due soon", "{n} due soon", soon).format(n=soon),
    )


def table_record(item: OverdueItem) -> dict[str, Any]:
    """A row for people: words instead of keys, the preferred way to reach them first."""
    record = as_record(item)
    record["status"] = status_text(item)
    # People never read a negative number: a due-soon row says when it falls due instead.
    record["days_late"] = item.working_days_overdue if item.status == OVERDUE else None
    if item.link:
        record["_links"] = {"name": item.link, "person_id": item.link}
    record["preferred_contact"] = contact_word(item.preferred_contact)
    record["contact"] = "\n".join(contact_lines(item))
    record["_style"] = style_of(item)
    return record


def sheet_record(item: OverdueItem) -> dict[str, Any]:
    """A workbook row: typed values from the item, words where the item has keys."""
    record = raw_record(item)
    record["status"] = status_text(item)
    record["preferred_contact"] = contact_word(item.preferred_contact)
    return record


def contact_lines(item: OverdueItem) -> list[str]:
    """Phone and e-mail, the preferred one first."""
    lines = [item.phone, item.email]
    if item.preferred_contact == "email":
        lines.reverse()
    return [line for line in lines if line]


def row_style(record: Mapping[str, Any]) -> str | None:
    return record.get("_style")


def style_of(item: OverdueItem) -> str | None:
    """Overdue rows red, due today yellow; the rest plain."""
    if item.status == OVERDUE:
        return "red"
    return "yellow" if item.working_days_overdue == 0 else None


def title_of(scope: Scope, as_of: str) -> str:
    name = scope.kommun or (
        region_name() if scope.region else _("All municipalities and the region")
    )
    return _("Waiting for a first contact – {scope}, {as_of}").format(scope=name, as_of=as_of)


def overdue_command(
    ctx: typer.Context,
    kommun: KommunOption = None,
    region: Annotated[
        bool, typer.Option("--region", help="Persons who chose no municipality.")
    ] = False,
    everyone: Annotated[
        bool, typer.Option("--all", help="Every municipality and the region (the default).")
    ] = False,
    as_of: AsOfOption = None,
    due_soon: Annotated[
        int | None, due_soon_option("Also list those due within N working days (0: due today).")
    ] = None,
    our_contact: Annotated[
        str | None,
        typer.Option(
            "--our-contact",
            metavar="NAME|me",
            help="Only persons whose responsible user (our contact) is NAME, or you (me).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="YYYY-MM-DD",
            help="List unanswered registrations from this date (default: [first_response] since).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Persons whose first response from a move guide is overdue, most overdue first."""
    runtime: Runtime = ctx.obj
    day = as_of_or_today(as_of)
    scope = with_our_contact(runtime, scope_of(runtime, kommun, region, everyone), our_contact, day)
    config = runtime.config
    rule = rule_for(runtime, since)
    client = runtime.client(day)
    with stops_at_requests(client.deadlines):
        found = overdue_list(
            Register(client, config, day), scope, rule, calendar_of(config), due_soon=due_soon
        )
    items = found.items
    lang = runtime.lang
    chosen = choose_format(fmt, output)
    count = count_line(items)
    note = older_line(found)
    if chosen is Format.table:
        render(
            [table_record(i) for i in items],
            TABLE_COLUMNS,
            fmt=chosen,
            output=output,
            lang=lang,
            title=title_of(scope, day.isoformat()),
            footer=count,
            row_style=row_style,
            drop=TABLE_DROP,
        )
        if note is not None:  # under the table, at its width; rich would wrap it mid-option
            typer.echo(wrapped(note, Console().width), err=output is not None)
        return
    # A workbook is read by people: their words for status and contact way, the spec's columns.
    rows = [sheet_record(i) for i in items] if chosen is Format.xlsx else items
    render(rows, DATA_COLUMNS, fmt=chosen, output=output, lang=lang)
    typer.echo(count, err=True)  # plain: a rich console would wrap it at 80 columns
    if note is not None:
        typer.echo(note, err=True)


def register(app: typer.Typer) -> None:
    app.command("overdue")(overdue_command)
