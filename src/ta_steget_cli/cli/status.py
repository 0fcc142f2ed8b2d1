"""`tasteget status list|set|import|review`: the municipalities' move status of their contacts."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from .. import status as st
from .. import status_list as sl
from ..errors import PartialFailure, TastegetError, UsageError
from ..i18n import N_, _
from ..move_status import MOVED, StatusChange, make_change, status_key
from ..output import Column, Format, as_record, choose_format, raw_record, render, streamed
from ..overdue import Scope
from ..register import Register
from ..status_batch import Unsettled, rest_after_stop, rows_per_batch
from ..status_words import Contradiction, StatusNames, contradictions, status_word
from .completion import complete_status
from .group import TastegetGroup
from .held_stop import stops_at_requests, stops_held
from .options import (
    AsOfOption,
    ContactsRegionOption,
    FormatOption,
    KommunOption,
    MovedToOption,
    OutputOption,
    ReviewStatusOption,
    StatusOption,
)
from .overdue import with_our_contact
from .runtime import Runtime, as_of_or_today, interrupted_code, parse_day, same_file

status_app = typer.Typer(
    cls=TastegetGroup,
    name="status",
    help="Move status of each municipality's contacts: list, set, import, review.",
    no_args_is_help=True,
)

LIST_COLUMNS = (
    Column("person_id", N_("Id"), justify="right"),
    Column("name", N_("Name")),
    Column("status", N_("Move status")),
    Column("moved_to", N_("Moved to")),
    Column("move_date", N_("Move date")),
    Column("registered", N_("Registered")),
    Column("kommuner", N_("Municipalities")),
    Column("last_activity", N_("Last activity")),
)
IMPORT_COLUMNS = (
    Column("line", N_("Line"), justify="right"),
    Column("person_id", N_("Id"), justify="right"),
    Column("status", N_("Move status")),
    Column("outcome", N_("Outcome")),
    Column("reason", N_("Reason")),
)
OUTCOME_WORDS: Mapping[str, str] = {
    "set": N_("set"),
    "would_set": N_("would be set"),
    "unchanged": N_("unchanged"),
    "skipped": N_("skipped"),
    "failed": N_("failed"),
}
# How a preferred channel (a key of [preferred_contact.values]) reads; others as they are.
CHANNEL_WORDS: Mapping[str, str] = {"phone": N_("phone"), "email": N_("e-mail")}


def has_terminal() -> bool:
    """Whether someone can answer prompts (a test replaces this to feed answers)."""
    return sys.stdin.isatty()


def outcome_word(outcome: str) -> str:
    return _(OUTCOME_WORDS[outcome]) if outcome in OUTCOME_WORDS else outcome


def summary_line(counts: Mapping[str, int]) -> str:
    return _(
        "{set} set, {would_set} would be set, {unchanged} unchanged, {skipped} skipped, "
        "{failed} failed"
    ).format(**counts)


def region_word() -> str:
    return _("The region (no municipality chosen)")


def area_of(runtime: Runtime, kommun: str | None, region: bool) -> str | None:
    """The municipality, or None for the region; exactly one of --kommun and --region."""
    if kommun is not None and region:
        raise UsageError(_("--kommun and --region: choose one"))
    if kommun is None and not region:
        valid = ", ".join(runtime.config.kommuner)
        raise UsageError(_("choose --kommun NAME (one of {valid}) or --region").format(valid=valid))
    return runtime.kommun(kommun) if kommun is not None else None


def list_record(item: sl.StatusItem) -> dict[str, Any]:
    record = as_record(item)
    record["status"] = status_word(item.status)
    record["name"] = escape(item.name)
    return record


def sheet_record(item: sl.StatusItem) -> dict[str, Any]:
    record = raw_record(item)
    record["status"] = status_word(item.status)
    return record


# ---------------------------------------------------------------- list


@status_app.command("list")
def list_command(
    ctx: typer.Context,
    kommun: KommunOption = None,
    region: ContactsRegionOption = False,
    status: StatusOption = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """A municipality's contacts with their move status and last activity, by id."""
    runtime: Runtime = ctx.obj
    day = as_of_or_today(as_of)
    area = area_of(runtime, kommun, region)
    client = runtime.client(day)
    if status is not None:
        status = status_key(runtime.config, status, StatusNames(runtime.config, client))
    with stops_at_requests(client.deadlines):
        items = sl.list_statuses(Register(client, runtime.config, day), kommun=area, status=status)
    count = _("{n} contacts").format(n=len(items))
    chosen = choose_format(fmt, output)
    if chosen is Format.table:
        render(
            [list_record(i) for i in items],
            LIST_COLUMNS,
            fmt=chosen,
            output=output,
            lang=runtime.lang,
            title=_("Move status – {area}, {as_of}").format(area=area or region_word(), as_of=day),
            footer=count,
        )
        return
    # A workbook is read by people: the status in their words, dates as dates.
    rows = [sheet_record(i) for i in items] if chosen is Format.xlsx else items
    render(rows, LIST_COLUMNS, fmt=chosen, output=output, lang=runtime.lang)
    runtime.err.print(count, markup=False, highlight=False)


# ---------------------------------------------------------------- set


def warn(runtime: Runtime, found: Sequence[Contradiction]) -> None:
    for contradiction in found:
        line = _("Warning: {warning}").format(warning=contradiction.text())
        runtime.err.print(line, markup=False, highlight=False)


def confirm(console: Console) -> bool:
    answer = prompt(console, _("Save anyway? (y/N)"))
    return (answer or "").casefold() in ("j", "ja", "y", "yes")


@status_app.command("set")
def set_command(
    ctx: typer.Context,
    person_id: Annotated[int, typer.Argument(help="The person's id.", min=1)],
    status: Annotated[
        str,
        typer.Argument(
            metavar="STATUS",
            help="A key of [move_status.values] or the status as SuperOffice shows it "
            '("Har flyttat"), any case.',
            autocompletion=complete_status,
        ),
    ],
    moved_to: MovedToOption = None,
    move_date: Annotated[
        str | None,
        typer.Option("--date", help="The move date, YYYY-MM-DD.", metavar="YYYY-MM-DD"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; write nothing.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Write even when the change contradicts itself (see warnings)."),
    ] = False,
    as_of: AsOfOption = None,
) -> None:
    """Set one person's move status (and where to and when they moved)."""
    runtime: Runtime = ctx.obj
    config = runtime.config
    client = runtime.client()
    names = StatusNames(config, client)
    when = parse_day(move_date, "--date")
    change = make_change(config, person_id, status, moved_to, when, names)
    found = contradictions(
        change.status, change.moved_to, when, as_of_or_today(as_of), new_date=when
    )
    if found and not dry_run:
        warn(runtime, found)
        if not yes and not (has_terminal() and confirm(Console(highlight=False))):
            raise UsageError(
                _(
                    "person {id}: not changed, since the change contradicts itself; change the "
                    "details or add --yes"
                ).format(id=person_id)
            )
    if not dry_run:
        runtime.require_write("status set")
    result = st.set_status(client, config, change, dry_run=dry_run)
    shown = {"id": person_id, "status": status_word(change.status)}
    if result.outcome == "set":
        typer.echo(_("Person {id}: move status set to {status}.").format(**shown))
    elif result.outcome == "would_set":
        typer.echo(
            _("Person {id}: move status would be set to {status} (--dry-run, nothing written).")
            .format(**shown)
        )  # fmt: skip
    elif result.outcome == "unchanged":
        typer.echo(
            _("Person {id}: already has move status {status}; nothing changed.").format(**shown)
        )
    elif result.conflict:
        raise PartialFailure(_("person {id}: {reason}").format(id=person_id, reason=result.reason))
    else:
        raise TastegetError(_("person {id}: {reason}").format(id=person_id, reason=result.reason))


# ---------------------------------------------------------------- import


@status_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with the header person_id,status[,moved_to,date] (comma or semicolon), "
            "a .xlsx workbook, or a file written by status list.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and say what would change.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Also write rows that contradict themselves (see reasons)."),
    ] = False,
    as_of: AsOfOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Set many persons' move status from a CSV file; one result row per line."""
    runtime: Runtime = ctx.obj
    config = runtime.config
    if output is not None and same_file(output, file):
        raise UsageError(
            _("--output {path}: that is the file being imported; choose another").format(
                path=output
            )
        )
    day = as_of_or_today(as_of)
    checks = st.ImportChecks(StatusNames(config, runtime.client()), day, confirmed=yes)
    rows = st.parse_import(config, st.import_lines(file), str(file), checks)
    if not dry_run:
        runtime.require_write("status import")
    lang = runtime.lang
    chosen = choose_format(fmt, output)
    summary = st.ImportSummary()
    stop: tuple[int, str] | None = None
    last = 0
    unsettled = Unsettled()
    client = runtime.client()
    # A page of rows at a time: who holds what already is read through the archive, and only
    # the persons to change are read and written, side by side under the client's limiter.
    results = st.run_import(
        client, config, unsettled.reading(rows, lambda row: row.line), dry_run=dry_run,
        held=Register(client, config, day),
        workers=config.superoffice.max_in_flight,
        batch_size=lambda: rows_per_batch(client.page_size),
    )  # fmt: skip
    try:
        with (
            streamed(IMPORT_COLUMNS, fmt=chosen, output=output, lang=lang) as add,
            stops_held() as held,
        ):

            def show(result: st.ImportResult) -> None:
                nonlocal last
                add(import_record(result, chosen))
                summary.add(result.outcome)
                unsettled.answered(result.line)
                last = result.line

            try:
                for result in results:
                    show(result)
                    held.check()  # a stop goes on here, between rows, never inside one
            except KeyboardInterrupt as exc:
                # The rows already under way are finished and shown before the summary.
                for result in rest_after_stop(results, exc):
                    show(result)
                stop = (interrupted_code(exc), _("interrupted (Ctrl-C or a stop signal)"))
            except TastegetError as exc:
                stop = (exc.exit_code, str(exc))
    finally:
        # Every exit path says what was done, a stop part-way too: rows were written.
        runtime.err.print(summary_line(summary.counts), markup=False, highlight=False)
    if stop is not None:
        code, why = stop
        typer.echo(f"tasteget: {import_stopped(last, unsettled.first_before(last), why)}", err=True)
        raise typer.Exit(code)
    if summary.failed:
        raise typer.Exit(PartialFailure.exit_code)


def import_stopped(last: int, first_not_done: int | None, why: str) -> str:
    """Where the import stopped, truthfully: after the last row shown when every row before it
    is done, else at the first row not done (rows after it, written beside it, are shown)."""
    if first_not_done is None:
        return _(
            "the import stopped after line {line}: {why}; the rows above are done, run the same "
            "command again for the rest (those already set come out unchanged)"
        ).format(line=last, why=why)
    return _(
        "the import stopped at line {line}: {why}; the rows shown above are done, but not line "
        "{line} nor those after it that are not shown; run the same command again for the rest "
        "(those already set come out unchanged)"
    ).format(line=first_not_done, why=why)


def import_record(result: st.ImportResult, fmt: Format) -> dict[str, Any]:
    """Keys and status keys stay as they are for machines; the table is for people."""
    record = as_record(result)
    if fmt is Format.table:
        record["outcome"] = outcome_word(result.outcome)
        if result.status:
            record["status"] = status_word(result.status)
    return record


# ---------------------------------------------------------------- review


@status_app.command("review")
def review_command(
    ctx: typer.Context,
    kommun: KommunOption = None,
    region: ContactsRegionOption = False,
    status: ReviewStatusOption = None,
    our_contact: Annotated[
        str | None,
        typer.Option(
            "--our-contact",
            help="Only contacts whose contact in SuperOffice is this user (full name, or me).",
            show_default=False,
        ),
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start from the first contact again.")
    ] = False,
    as_of: AsOfOption = None,
) -> None:
    """Walk through a municipality's contacts on a terminal and set each one's move status."""
    runtime: Runtime = ctx.obj
    area = area_of(runtime, kommun, region)
    if not has_terminal():
        raise UsageError(
            _(
                "status review needs a terminal to ask questions on; use status list and status "
                "import instead"
            )
        )
    day = as_of_or_today(as_of)
    config = runtime.config
    client = runtime.client(day)
    names = StatusNames(config, client)
    key = status_key(config, status, names) if status is not None else None
    contact = contact_filter(runtime, our_contact, day)
    runtime.require_write("status review")
    with stops_at_requests(client.deadlines):  # the questions below take Ctrl-C at once
        items = sl.review_items(
            Register(client, config, day), kommun=area, status=key, contact=contact
        )
    position_file = st.review_file(config.purge.data_dir, review_scope(area, key, contact))
    done_through = 0 if restart else st.review_position(position_file)
    todo = [r for r in items if r.item.person_id > done_through]
    console = Console(highlight=False, soft_wrap=True)
    shown_area = area or region_word()
    console.print(
        _("Review of {area}: {n} contacts left of {total}. Enter keeps, q stops.").format(
            area=shown_area, n=len(todo), total=len(items)
        ),
        markup=False,
    )
    for review in todo:
        change = ask_change(console, runtime, names, review, day)
        if change is None:
            stopped = _("Stopped. Run the same command again to go on after person {id}.")
            console.print(runtime.hint(stopped.format(id=done_through)), markup=False)
            return
        if change is not KEEP:
            result = st.set_status(client, config, change)
            console.print(outcome_line(result), markup=False)
            if result.outcome == "failed":
                # The position stays before this person: running again asks about them again.
                failed = _(
                    "Person {id} was not changed. Run the same command again to go on from "
                    "that person."
                )
                console.print(failed.format(id=review.item.person_id), markup=False)
                raise typer.Exit(PartialFailure.exit_code)
        else:
            console.print(_("Kept."), markup=False)
        done_through = review.item.person_id
        st.save_review_position(position_file, area or "region", done_through)
    position_file.unlink(missing_ok=True)  # all done: the next review starts from the top
    console.print(
        _("Done: every contact of {area} has been reviewed.").format(area=shown_area),
        markup=False,
    )


def contact_filter(runtime: Runtime, name: str | None, day: date) -> sl.ContactFilter | None:
    """--our-contact NAME (as SuperOffice shows "our contact") or `me`, as overdue reads it."""
    if name is None:
        return None
    scope = with_our_contact(runtime, Scope(), name, day)
    return sl.ContactFilter(scope.our_contact, scope.associate_id)


def review_scope(area: str | None, status: str | None, contact: sl.ContactFilter | None) -> str:
    """What a review's position is remembered under: a filtered walk has a place of its own."""
    parts = [area or "region", status or ""]
    if contact is not None:
        parts.append(contact.name or f"associate{contact.associate_id}")
    return "-".join(p for p in parts if p)


KEEP = StatusChange(0, "")  # the answer "keep what is there"


def outcome_line(result: st.SetResult) -> str:
    text = outcome_word(result.outcome)
    return f"{text}: {result.reason}" if result.reason else text.capitalize() + "."


def show_person(console: Console, review: sl.ReviewItem) -> None:
    """Everything a guide needs to see before changing anything, and how to reach the person."""
    item = review.item
    console.print()
    console.print(_("Person {id}: {name}").format(id=item.person_id, name=item.name), markup=False)
    channel = review.preferred_contact
    preferred = _(CHANNEL_WORDS[channel]) if channel and channel in CHANNEL_WORDS else channel
    details = (
        (_("Move status"), status_word(item.status)),
        (_("Moved to"), item.moved_to),
        (_("Move date"), item.move_date),
        (_("Registered"), item.registered),
        (_("Last activity"), item.last_activity),
        (_("Municipalities"), ", ".join(item.kommuner)),
        (_("Phone"), review.phone),
        (_("E-mail"), review.email),
        (_("Preferred channel"), preferred),
        (_("Our contact"), review.our_contact),
    )
    for label, value in details:
        console.print(f"  {label}: {value or '-'}", markup=False)


def ask_change(
    console: Console, runtime: Runtime, names: StatusNames, review: sl.ReviewItem, day: date
) -> StatusChange | None:
    """The change for this person, KEEP for Enter, None to stop (q, or the input ran out).
    A change that contradicts itself is warned about and written only when confirmed."""
    keys = list(runtime.config.move_status.values)
    choices = ", ".join(f"{n} {status_word(k)}" for n, k in enumerate(keys, 1))
    show_person(console, review)
    item = review.item
    while True:
        answer = prompt(console, _("New move status ({choices})").format(choices=choices))
        if answer is None or answer.casefold() in ("q", "quit", "avsluta"):
            return None
        if not answer:
            return KEEP
        key = chosen_key(answer, keys, names)
        if key is None:
            bad = _("Unknown answer {answer!r}; choose a number, a name, Enter or q.")
            console.print(bad.format(answer=answer), markup=False)
            continue
        try:
            change = details_of(console, runtime, names, item, key)
        except UsageError as exc:
            console.print(str(exc), markup=False)
            continue
        found = contradictions(
            change.status,
            change.moved_to or item.moved_to,
            change.move_date or item.move_date,
            day,
            new_date=change.move_date,
        )
        if not found:
            return change
        for contradiction in found:
            line = _("Warning: {warning}").format(warning=contradiction.text())
            console.print(line, markup=False)
        if confirm(console):
            return change
        console.print(_("Not saved; choose again (Enter keeps)."), markup=False)


def chosen_key(answer: str, keys: Sequence[str], names: StatusNames) -> str | None:
    """A status chosen by number, key, the tool's word or SuperOffice's name (any case)."""
    if answer.isdigit() and 1 <= int(answer) <= len(keys):
        return keys[int(answer) - 1]
    try:
        return names.key(answer)
    except UsageError:
        return None


def details_of(
    console: Console, runtime: Runtime, names: StatusNames, item: sl.StatusItem, key: str
) -> StatusChange:
    """For a move, where to and when (Enter keeps what is shown); then the validated change."""
    config = runtime.config
    moved_to = when = None
    if key == MOVED and config.move_status.moved_to_field:
        keep = keep_text(item.moved_to)
        moved_to = prompt(console, _("Moved to (municipality; {keep})").format(keep=keep)) or None
    if key == MOVED and config.move_status.move_date_field:
        keep = keep_text(item.move_date)
        answer = prompt(console, _("Move date YYYY-MM-DD ({keep})").format(keep=keep)) or None
        when = parse_day(answer, "date")
    return make_change(config, item.person_id, key, moved_to, when, names)


def keep_text(value: object) -> str:
    return _("Enter keeps {value}").format(value=value) if value else _("Enter skips")


def prompt(console: Console, question: str) -> str | None:
    """One answer, stripped; None when the input has run out (Ctrl-D, or a fed file ends)."""
    try:
        return console.input(f"{question}: ").strip()
    except EOFError:
        return None


def register(app: typer.Typer) -> None:
    app.add_typer(status_app, name="status")
