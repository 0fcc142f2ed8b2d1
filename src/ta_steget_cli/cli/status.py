"""`tasteget status list|set|import|review`: the municipalities' move status of their contacts."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from .. import status as st
from ..errors import PartialFailure, TastegetError, UsageError
from ..i18n import _
from ..move_status import MOVED, StatusChange, make_change, status_key
from ..output import Column, Format, as_record, choose_format, raw_record, render, streamed
from ..register import Register
from .completion import complete_kommun, complete_status
from .group import TastegetGroup
from .options import AsOfOption, FormatOption, KommunOption, OutputOption
from .runtime import Runtime, as_of_or_today, interrupted_code, parse_day, same_file

status_app = typer.Typer(
    cls=TastegetGroup,
    name="status",
    help="Move status of each municipality's contacts: list, set, import, review.",
    no_args_is_help=True,
)

LIST_COLUMNS = (
    Column("person_id", "Id", "Id", "right"),
    Column("name", "Namn", "Name"),
    Column("status", "Flyttstatus", "Move status"),
    Column("registered", "Registrerad", "Registered"),
    Column("kommuner", "Kommuner", "Municipalities"),
    Column("last_activity", "Senaste aktivitet", "Last activity"),
)
IMPORT_COLUMNS = (
    Column("line", "Rad", "Line", "right"),
    Column("person_id", "Id", "Id", "right"),
    Column("status", "Flyttstatus", "Move status"),
    Column("outcome", "Resultat", "Outcome"),
    Column("reason", "Orsak", "Reason"),
)
# Display names of the usual status keys; a key the config adds is shown as it is.
STATUS_WORDS: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "interested": "Intresserad",
        "planning": "Planerar flytt",
        "moved": "Har flyttat",
        "not_moving": "Flyttar inte",
    },
    "en": {
        "interested": "Interested",
        "planning": "Planning to move",
        "moved": "Has moved",
        "not_moving": "Not moving",
    },
}
WORDS: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "set": "ändrad",
        "would_set": "skulle ändras",
        "unchanged": "oförändrad",
        "skipped": "överhoppad",
        "failed": "misslyckades",
        "summary": "{set} ändrade, {would_set} skulle ändras, {unchanged} oförändrade, "
        "{skipped} överhoppade, {failed} misslyckade",
        "region": "Regionen (ingen kommun vald)",
        "list_title": "Flyttstatus – {area}, {as_of}",
        "count": "{n} kontakter",
        "set_done": "Person {id}: flyttstatus satt till {status}.",
        "set_would": "Person {id}: flyttstatus skulle sättas till {status} "
        "(--dry-run, inget skrivet).",
        "set_same": "Person {id}: har redan flyttstatus {status}; inget ändrat.",
        "no_terminal": "status review needs a terminal to ask questions on; use status list "
        "and status import instead",
        "interrupted": "avbruten",
        "stopped": "importen stoppades efter rad {line}: {why}; raderna ovan är gjorda, "
        "kör samma kommando igen för resten (redan ändrade blir oförändrade)",
        "review_start": "Genomgång av {area}: {n} kontakter kvar av {total}. "
        "Enter behåller, q avslutar.",
        "review_done": "Klart: alla kontakter i {area} är genomgångna.",
        "review_failed": "Person {id} ändrades inte. Kör samma kommando igen för att fortsätta "
        "från den personen.",
        "review_stopped": "Avbrutet. Kör samma kommando igen för att fortsätta efter person {id}.",
        "person": "Person {id}: {name}",
        "registered": "Registrerad",
        "kommuner": "Kommuner",
        "current": "Flyttstatus",
        "last_activity": "Senaste aktivitet",
        "none": "–",
        "ask": "Ny flyttstatus ({choices})",
        "ask_moved_to": "Flyttade till (kommun, Enter hoppar över)",
        "ask_date": "Flyttdatum ÅÅÅÅ-MM-DD (Enter hoppar över)",
        "bad_answer": "Okänt svar {answer!r}; välj ett nummer, ett namn, Enter eller q.",
        "kept": "Behålls.",
    },
    "en": {
        "set": "set",
        "would_set": "would be set",
        "unchanged": "unchanged",
        "skipped": "skipped",
        "failed": "failed",
        "summary": "{set} set, {would_set} would be set, {unchanged} unchanged, "
        "{skipped} skipped, {failed} failed",
        "region": "The region (no municipality chosen)",
        "list_title": "Move status – {area}, {as_of}",
        "count": "{n} contacts",
        "set_done": "Person {id}: move status set to {status}.",
        "set_would": "Person {id}: move status would be set to {status} "
        "(--dry-run, nothing written).",
        "set_same": "Person {id}: already has move status {status}; nothing changed.",
        "no_terminal": "status review needs a terminal to ask questions on; use status list "
        "and status import instead",
        "interrupted": "interrupted",
        "stopped": "the import stopped after line {line}: {why}; the rows above are done, "
        "run the same command again for the rest (those already set come out unchanged)",
        "review_start": "Review of {area}: {n} contacts left of {total}. Enter keeps, q stops.",
        "review_done": "Done: every contact of {area} has been reviewed.",
        "review_failed": "Person {id} was not changed. Run the same command again to go on from "
        "that person.",
        "review_stopped": "Stopped. Run the same command again to go on after person {id}.",
        "person": "Person {id}: {name}",
        "registered": "Registered",
        "kommuner": "Municipalities",
        "current": "Move status",
        "last_activity": "Last activity",
        "none": "-",
        "ask": "New move status ({choices})",
        "ask_moved_to": "Moved to (municipality, Enter skips)",
        "ask_date": "Move date YYYY-MM-DD (Enter skips)",
        "bad_answer": "Unknown answer {answer!r}; choose a number, a name, Enter or q.",
        "kept": "Kept.",
    },
}


def has_terminal() -> bool:
    """Whether someone can answer prompts (a test replaces this to feed answers)."""
    return sys.stdin.isatty()


def status_word(key: str | None, lang: str) -> str:
    if key is None:
        return ""
    return STATUS_WORDS[lang].get(key, key)


def area_of(runtime: Runtime, kommun: str | None, region: bool) -> str | None:
    """The municipality, or None for the region; exactly one of --kommun and --region."""
    if kommun is not None and region:
        raise UsageError("--kommun and --region: choose one")
    if kommun is None and not region:
        valid = ", ".join(runtime.config.kommuner)
        raise UsageError(f"choose --kommun NAME (one of {valid}) or --region")
    return runtime.kommun(kommun) if kommun is not None else None


def list_record(item: st.StatusItem, lang: str) -> dict[str, Any]:
    record = as_record(item)
    record["status"] = status_word(item.status, lang)
    record["name"] = escape(item.name)
    return record


def sheet_record(item: st.StatusItem, lang: str) -> dict[str, Any]:
    record = raw_record(item)
    record["status"] = status_word(item.status, lang)
    return record


# ---------------------------------------------------------------- list


@status_app.command("list")
def list_command(
    ctx: typer.Context,
    kommun: KommunOption = None,
    region: Annotated[
        bool, typer.Option("--region", help="Contacts who chose no municipality.")
    ] = False,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            "-s",
            metavar="STATUS",
            help="Only this status (a key of [move_status.values]).",
            autocompletion=complete_status,
        ),
    ] = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """A municipality's contacts with their move status and last activity, by id."""
    runtime: Runtime = ctx.obj
    day = as_of_or_today(as_of)
    area = area_of(runtime, kommun, region)
    if status is not None:
        status = status_key(runtime.config, status)
    register = Register(runtime.client(day), runtime.config, day)
    items = st.list_statuses(register, kommun=area, status=status)
    lang = runtime.lang
    words = WORDS[lang]
    count = words["count"].format(n=len(items))
    chosen = choose_format(fmt, output)
    if chosen is Format.table:
        render(
            [list_record(i, lang) for i in items],
            LIST_COLUMNS,
            fmt=chosen,
            output=output,
            lang=lang,
            title=words["list_title"].format(area=area or words["region"], as_of=day),
            footer=count,
        )
        return
    # A workbook is read by people: the status in their words, dates as dates.
    rows = [sheet_record(i, lang) for i in items] if chosen is Format.xlsx else items
    render(rows, LIST_COLUMNS, fmt=chosen, output=output, lang=lang)
    runtime.err.print(count, markup=False, highlight=False)


# ---------------------------------------------------------------- set


@status_app.command("set")
def set_command(
    ctx: typer.Context,
    person_id: Annotated[int, typer.Argument(help="The person's id.", min=1)],
    status: Annotated[
        str,
        typer.Argument(
            metavar="STATUS",
            help="A key of [move_status.values].",
            autocompletion=complete_status,
        ),
    ],
    moved_to: Annotated[
        str | None,
        typer.Option(
            "--moved-to",
            metavar="KOMMUN",
            help="The municipality moved to.",
            show_default=False,
            autocompletion=complete_kommun,
        ),
    ] = None,
    move_date: Annotated[
        str | None,
        typer.Option("--date", help="The move date, YYYY-MM-DD.", metavar="YYYY-MM-DD"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; write nothing.")
    ] = False,
) -> None:
    """Set one person's move status (and where to and when they moved)."""
    runtime: Runtime = ctx.obj
    config = runtime.config
    change = make_change(config, person_id, status, moved_to, parse_day(move_date, "--date"))
    if not dry_run:
        runtime.require_write("status set")
    result = st.set_status(runtime.client(), config, change, dry_run=dry_run)
    words = WORDS[runtime.lang]
    shown = {"id": person_id, "status": change.status}
    if result.outcome == "set":
        typer.echo(words["set_done"].format(**shown))
    elif result.outcome == "would_set":
        typer.echo(words["set_would"].format(**shown))
    elif result.outcome == "unchanged":
        typer.echo(words["set_same"].format(**shown))
    elif result.conflict:
        raise PartialFailure(f"person {person_id}: {result.reason}")
    else:
        raise TastegetError(f"person {person_id}: {result.reason}")


# ---------------------------------------------------------------- import


@status_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with the header person_id,status[,moved_to,date]; comma or semicolon.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and say what would change.")
    ] = False,
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
    rows = st.parse_import(config, st.import_lines(file), str(file))
    if not dry_run:
        runtime.require_write("status import")
    lang = runtime.lang
    chosen = choose_format(fmt, output)
    summary = st.ImportSummary()
    stop: tuple[int, str] | None = None
    last = 0
    try:
        with streamed(IMPORT_COLUMNS, fmt=chosen, output=output, lang=lang) as add:
            try:
                for result in st.run_import(runtime.client(), config, rows, dry_run=dry_run):
                    summary.add(result.outcome)
                    last = result.line
                    add(import_record(result, chosen, lang))
            except KeyboardInterrupt as exc:
                stop = (interrupted_code(exc), WORDS[lang]["interrupted"])
            except TastegetError as exc:
                stop = (exc.exit_code, str(exc))
    finally:
        # Every exit path says what was done, a stop part-way too: rows were written.
        runtime.err.print(WORDS[lang]["summary"].format(**summary.counts))
    if stop is not None:
        code, why = stop
        typer.echo(f"tasteget: {WORDS[lang]['stopped'].format(line=last, why=why)}", err=True)
        raise typer.Exit(code)
    if summary.failed:
        raise typer.Exit(PartialFailure.exit_code)


def import_record(result: st.ImportResult, fmt: Format, lang: str) -> dict[str, Any]:
    record = as_record(result)
    if fmt is Format.table:
        record["outcome"] = WORDS[lang][record["outcome"]]
    return record


# ---------------------------------------------------------------- review


@status_app.command("review")
def review_command(
    ctx: typer.Context,
    kommun: KommunOption = None,
    region: Annotated[
        bool, typer.Option("--region", help="Contacts who chose no municipality.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start from the first contact again.")
    ] = False,
    as_of: AsOfOption = None,
) -> None:
    """Walk through a municipality's contacts on a terminal and set each one's move status."""
    runtime: Runtime = ctx.obj
    lang = runtime.lang
    words = WORDS[lang]
    area = area_of(runtime, kommun, region)
    if not has_terminal():
        raise UsageError(words["no_terminal"])
    day = as_of_or_today(as_of)
    config = runtime.config
    client = runtime.client(day)
    runtime.require_write("status review")
    items = st.list_statuses(Register(client, config, day), kommun=area)
    position_file = st.review_file(config.purge.data_dir, area or "region")
    done_through = 0 if restart else st.review_position(position_file)
    todo = st.still_to_review(items, done_through)
    console = Console(highlight=False, soft_wrap=True)
    shown_area = area or words["region"]
    console.print(
        words["review_start"].format(area=shown_area, n=len(todo), total=len(items)),
        markup=False,
    )
    for item in todo:
        change = ask_change(console, runtime, item)
        if change is None:
            console.print(words["review_stopped"].format(id=done_through), markup=False)
            return
        if change is not KEEP:
            result = st.set_status(client, config, change)
            console.print(outcome_line(result, lang), markup=False)
            if result.outcome == "failed":
                # The position stays before this person: running again asks about them again.
                console.print(words["review_failed"].format(id=item.person_id), markup=False)
                raise typer.Exit(PartialFailure.exit_code)
        else:
            console.print(words["kept"], markup=False)
        done_through = item.person_id
        st.save_review_position(position_file, area or "region", done_through)
    position_file.unlink(missing_ok=True)  # all done: the next review starts from the top
    console.print(words["review_done"].format(area=shown_area), markup=False)


KEEP = StatusChange(0, "")  # the answer "keep what is there"


def outcome_line(result: st.SetResult, lang: str) -> str:
    text = f"{WORDS[lang][result.outcome]}"
    return f"{text}: {result.reason}" if result.reason else text.capitalize() + "."


def show_person(console: Console, item: st.StatusItem, lang: str) -> None:
    words = WORDS[lang]
    none = words["none"]
    console.print()
    console.print(words["person"].format(id=item.person_id, name=item.name), markup=False)
    details = (
        (words["registered"], item.registered),
        (words["kommuner"], ", ".join(item.kommuner)),
        (words["current"], status_word(item.status, lang)),
        (words["last_activity"], item.last_activity),
    )
    for label, value in details:
        console.print(f"  {label}: {value or none}", markup=False)


def ask_change(console: Console, runtime: Runtime, item: st.StatusItem) -> StatusChange | None:
    """The change for this person, KEEP for Enter, None to stop (q, or the input ran out)."""
    lang = runtime.lang
    words = WORDS[lang]
    keys = list(runtime.config.move_status.values)
    choices = ", ".join(f"{n} {status_word(k, lang)}" for n, k in enumerate(keys, 1))
    show_person(console, item, lang)
    while True:
        answer = prompt(console, words["ask"].format(choices=choices))
        if answer is None or answer.casefold() in ("q", "quit", "avsluta"):
            return None
        if not answer:
            return KEEP
        key = chosen_key(answer, keys, lang)
        if key is None:
            console.print(words["bad_answer"].format(answer=answer), markup=False)
            continue
        try:
            return details_of(console, runtime, item.person_id, key)
        except UsageError as exc:
            console.print(str(exc), markup=False)


def chosen_key(answer: str, keys: Sequence[str], lang: str) -> str | None:
    """A status chosen by number, key or display name (any case)."""
    if answer.isdigit() and 1 <= int(answer) <= len(keys):
        return keys[int(answer) - 1]
    folded = answer.casefold()
    for key in keys:
        if folded in (key.casefold(), status_word(key, lang).casefold()):
            return key
    return None


def details_of(console: Console, runtime: Runtime, person_id: int, key: str) -> StatusChange:
    """For a move, where to and when (both optional); then the validated change."""
    config = runtime.config
    words = WORDS[runtime.lang]
    moved_to = when = None
    if key == MOVED and config.move_status.moved_to_field:
        moved_to = prompt(console, words["ask_moved_to"]) or None
    if key == MOVED and config.move_status.move_date_field:
        when = parse_day(prompt(console, words["ask_date"]) or None, "date")
    return make_change(config, person_id, key, moved_to, when)


def prompt(console: Console, question: str) -> str | None:
    """One answer, stripped; None when the input has run out (Ctrl-D, or a fed file ends)."""
    try:
        return console.input(f"{question}: ").strip()
    except EOFError:
        return None


def register(app: typer.Typer) -> None:
    app.add_typer(status_app, name="status")
