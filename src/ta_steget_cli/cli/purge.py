"""`tasteget purge`: the yearly purge. Dry-run and plan, apply a plan, undo, prune backups.

Four modes, one command (the spec's interface): `--dry-run` (the default), `--plan FILE`,
`--undo JOURNAL`, `--prune-backups`. Only `--plan` deletes, and only the plan's persons.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from .. import journal as j
from .. import purge as service
from .. import undo
from ..errors import PartialFailure, TastegetError, UsageError
from ..i18n import N_, _, ngettext
from ..output import Column, Format, as_record, choose_format, render
from ..workdays import today_stockholm
from .held_stop import stops_at_requests, stops_between_persons
from .options import AsOfOption, FormatOption, OutputOption
from .runtime import Runtime, as_of_or_today, interrupted_code, same_file

COLUMNS = (
    Column("person_id", N_("Id"), justify="right"),
    Column("name", N_("Name")),
    Column("registered", N_("Registered")),
    Column("last_activity", N_("Last activity")),
    Column("kommuner", N_("Municipalities")),
)
LOG_EVERY = 100  # persons between progress lines when stderr is a log, not a terminal


def _flag(help_text: str, *names: str) -> Any:
    return typer.Option(*names, help=help_text)


def purge_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, _flag("List who would be removed; change nothing (the default).", "--dry-run")
    ] = False,
    as_of: AsOfOption = None,
    plan_out: Annotated[
        Path | None,
        typer.Option(
            "--plan-out",
            help="With --dry-run: write the plan file here (0600).",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Apply this plan: delete its persons, re-checked, backed up.",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, _flag("Apply without asking (needed without a terminal).", "--yes")] = (
        False
    ),
    allow_other_tenant: Annotated[
        bool,
        _flag("Apply a plan, or undo a journal, of another tenant.", "--allow-other-tenant"),
    ] = False,
    allow_old_plan: Annotated[
        bool, _flag("Apply a plan older than max_plan_age_days.", "--allow-old-plan")
    ] = False,
    allow_edited_plan: Annotated[
        bool, _flag("Apply a plan whose checksum does not match.", "--allow-edited-plan")
    ] = False,
    allow_large_share: Annotated[
        bool, _flag("Apply a plan removing more than max_share.", "--allow-large-share")
    ] = False,
    undo: Annotated[
        Path | None,
        typer.Option(
            "--undo",
            help="Bring back the persons this journal's purge deleted.",
            metavar="JOURNAL",
            show_default=False,
        ),
    ] = None,
    prune_backups: Annotated[
        bool,
        _flag("Remove backups and journals older than backup_retention_days.", "--prune-backups"),
    ] = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """The yearly purge of persons with no activity in five years (newsletter subscribers stay)."""
    runtime: Runtime = ctx.obj
    modes = [
        name
        for name, on in (
            ("--dry-run", dry_run),
            ("--plan", plan is not None),
            ("--undo", undo is not None),
            ("--prune-backups", prune_backups),
        )
        if on
    ]
    if len(modes) > 1:
        text = _("{options}: choose one of --dry-run, --plan, --undo, --prune-backups")
        raise UsageError(text.format(options=", ".join(modes)))
    if plan_out is not None and modes and modes != ["--dry-run"]:
        raise UsageError(_("--plan-out: only with --dry-run"))
    if allow_other_tenant and modes not in (["--plan"], ["--undo"]):
        raise UsageError(_("--allow-other-tenant: only with --plan or --undo"))
    if plan_out is not None and output is not None and same_file(plan_out, output):
        raise UsageError(
            _("--plan-out and --output are the same file; the plan would replace the list")
        )
    try:
        if plan is not None:
            overrides = service.Overrides(
                allow_other_tenant, allow_old_plan, allow_edited_plan, allow_large_share
            )
            apply_mode(runtime, plan, overrides, yes, fmt)
        elif undo is not None:
            undo_mode(runtime, undo, fmt, other_tenant=allow_other_tenant)
        elif prune_backups:
            prune_mode(runtime, fmt)
        else:
            dry_run_mode(runtime, as_of, plan_out, fmt, output, explicit=dry_run)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (exit 143)
        if plan is None and undo is None:
            raise  # a dry run journals nothing: the line every command says is the true one
        runtime.err.print(
            "tasteget: "
            + _(
                "interrupted; every step so far is in the journal: "
                "run the same command again to carry on"
            ),
            markup=False,
            highlight=False,
        )
        raise typer.Exit(interrupted_code(exc)) from None


# ---------------------------------------------------------------- dry run


def dry_run_mode(
    runtime: Runtime,
    as_of: str | None,
    plan_out: Path | None,
    fmt: Format | None,
    output: Path | None,
    *,
    explicit: bool,
) -> None:
    day = as_of_or_today(as_of)
    future = service.future_as_of(day, today_stockholm())
    if future:
        raise UsageError(
            _("--as-of {day}: refused: {reason}").format(day=day.isoformat(), reason=future)
        )
    config = runtime.config
    client = runtime.client(day)
    err = runtime.err
    with _status(err) as note, stops_at_requests(client.deadlines):
        selection = service.purge_candidates(client, config, day, note=note)
    summary = selection.summary()
    chosen = choose_format(fmt, output)
    if chosen is Format.table:
        records = [_table_record(c) for c in selection.to_delete]
        title = _("To purge – inactive since {cutoff} (as of {as_of})").format(
            cutoff=summary["cutoff"], as_of=summary["as_of"]
        )
        render(records, COLUMNS, fmt=chosen, output=output, lang=runtime.lang, title=title)
    else:
        render(selection.to_delete, COLUMNS, fmt=chosen, output=output, lang=runtime.lang)
    _say(err, summary_line(summary))
    if plan_out is not None:
        written = j.write_plan(
            service.make_plan(selection, config.purge, client.tenant_id), plan_out
        )
        shown = ngettext(
            "The plan ({n} person) is in {path}; apply it with: tasteget purge --plan {path}",
            "The plan ({n} persons) is in {path}; apply it with: tasteget purge --plan {path}",
            len(written.persons),
        ).format(n=len(written.persons), path=plan_out)
        _say(err, runtime.hint(shown))
    elif not explicit:
        how = _(
            "Nothing was deleted. To purge: tasteget purge --dry-run --plan-out plan.json, "
            "review the plan, then tasteget purge --plan plan.json"
        )
        _say(err, runtime.hint(how))


def summary_line(summary: dict[str, Any]) -> str:
    """What the dry run found, in one line: candidates, those kept and why, those to delete."""
    return _(
        "{candidates} registered before {cutoff}; kept as newsletter subscribers: "
        "{kept_subscribers}; kept for activity since: {kept_recent_activity}; "
        "to delete: {to_delete}"
    ).format(**summary)


def _table_record(candidate: Any) -> dict[str, Any]:
    record = as_record(candidate)
    record["name"] = escape(record["name"])
    return record


@contextmanager
def _status(err: Console) -> Iterator[Callable[[str], None] | None]:
    """A spinner with the current step on a terminal; nothing on a log."""
    if not err.is_terminal:
        yield None
        return
    with err.status("") as status:
        yield lambda text: status.update(text)


# ---------------------------------------------------------------- apply


def apply_mode(
    runtime: Runtime, path: Path, overrides: service.Overrides, yes: bool, fmt: Format | None
) -> None:
    config = runtime.config
    plan = j.read_plan(path)
    client = runtime.client()
    service.refuse_plan(client, config, plan, overrides)
    runtime.require_delete("purge --plan")
    err = runtime.err
    if not yes:
        confirm(runtime, len(plan.persons), client.tenant_id)
    # A stop lets the persons under way finish and be journaled, and starts no new one.
    with _progress(err) as progress, stops_between_persons(client.deadlines):
        result = service.apply_plan(
            client, config, plan, progress=progress, step=client.deadlines.person_step
        )
    _repaired(err, result.repaired)
    envelope = {
        "status": result.status,
        "planned": result.planned,
        "deleted": result.done,
        "skipped": len(result.skipped),
        "failed": len(result.failed),
        "done_before": result.already_done,
        "journal": str(result.journal),
        "backup": str(result.backup),
        "report": str(result.report) if result.report else None,
    }
    _envelope(err, fmt, envelope)
    if result.stopped:
        raise TastegetError(
            _(
                "stopped: {reason}; every step so far is in the journal: "
                "run the same command again to carry on"
            ).format(reason=result.stopped)
        )
    if result.failed:
        raise PartialFailure(
            ngettext(
                "{n} of {planned} person failed; see {report}",
                "{n} of {planned} persons failed; see {report}",
                result.planned,
            ).format(n=len(result.failed), planned=result.planned, report=result.report)
        )


def confirm(runtime: Runtime, count: int, tenant: str) -> None:
    """On a terminal: type the number of persons. Without one: --yes is needed."""
    if not stdin_is_terminal():
        raise UsageError(_("--plan: no terminal to confirm on; pass --yes to apply without asking"))
    text = ngettext(
        "This deletes {n} person in {tenant}. Type the number to go on",
        "This deletes {n} persons in {tenant}. Type the number to go on",
        count,
    ).format(n=count, tenant=tenant)
    answer = typer.prompt(text, default="", show_default=False, err=True)
    if answer.strip() != str(count):
        raise TastegetError(_("not confirmed; nothing was deleted"))


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@contextmanager
def _progress(err: Console) -> Iterator[service.Progress]:
    """A progress bar with rate and ETA on a terminal; a line per hundred persons on a log."""
    if err.is_terminal:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("[progress.data.speed]{task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task("purge", total=None, rate="")
            began = time.monotonic()

            def update(n: int, total: int, _outcome: service.Outcome) -> None:
                rate = n / max(time.monotonic() - began, 1e-6)
                bar.update(task, completed=n, total=total, rate=f"{rate:.1f}/s")

            yield update
        return
    began = time.monotonic()
    counts = {j.DONE: 0, j.SKIPPED: 0, j.FAILED: 0}

    def line(n: int, total: int, outcome: service.Outcome) -> None:
        counts[outcome.step] = counts.get(outcome.step, 0) + 1
        if n % LOG_EVERY == 0 or n == total:
            rate = n / max(time.monotonic() - began, 1e-6)
            text = _(
                "purge: {n}/{total} handled ({deleted} deleted, {skipped} skipped, "
                "{failed} failed), {rate} persons/s"
            )
            err.print(
                text.format(
                    n=n,
                    total=total,
                    deleted=counts[j.DONE],
                    skipped=counts[j.SKIPPED],
                    failed=counts[j.FAILED],
                    rate=f"{rate:.1f}",
                ),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    yield line


# ---------------------------------------------------------------- undo and prune


def undo_mode(runtime: Runtime, path: Path, fmt: Format | None, *, other_tenant: bool) -> None:
    if not path.is_file():
        raise UsageError(_("--undo {path}: no such journal").format(path=path))
    runtime.require_delete("purge --undo")
    workers = runtime.config.superoffice.max_in_flight
    client = runtime.client()
    with stops_between_persons(client.deadlines):
        result = undo.undo_journal(
            client, path, other_tenant=other_tenant, workers=workers,
            step=client.deadlines.person_step,
        )  # fmt: skip
    _repaired(runtime.err, result.repaired)
    envelope = {
        "status": result.status,
        "restored": len(result.restored),
        "already_present": len(result.present),
        "failed": [{"person_id": o.person_id, "reason": o.reason} for o in result.failed],
        "journal": str(path),
    }
    _envelope(runtime.err, fmt, envelope)
    if result.stopped:
        raise TastegetError(
            _(
                "stopped: {reason}; every step so far is in the journal: "
                "run the same command again to carry on"
            ).format(reason=result.stopped)
        )
    if result.failed:
        raise PartialFailure(
            ngettext(
                "{n} person could not be brought back (listed above)",
                "{n} persons could not be brought back (listed above)",
                len(result.failed),
            ).format(n=len(result.failed))
        )


def _repaired(err: Console, paths: list[Path]) -> None:
    """Says which torn last lines (a crash or a full disk mid-write) were moved aside."""
    for path in paths:
        text = _(
            "warning: a file of this purge ended in a torn line (a crash or a full disk while "
            "writing); the torn part was moved to {path} and the file continues whole"
        )
        _say(err, text.format(path=path))


def prune_mode(runtime: Runtime, fmt: Format | None) -> None:
    settings = runtime.config.purge
    removed = service.prune_backups(settings.data_dir, settings.backup_retention_days)
    for path in removed:
        print(path)
    _say(
        runtime.err,
        f"removed {len(removed)} purge files older than {settings.backup_retention_days} days "
        f"from {settings.data_dir}",
    )


# ---------------------------------------------------------------- output


def _envelope(err: Console, fmt: Format | None, envelope: dict[str, Any]) -> None:
    """The result: JSON on stdout with --format json, else lines on stderr."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(envelope, ensure_ascii=False, indent=2) + "\n")
        return
    for key, value in envelope.items():
        if value not in (None, [], 0) or key in ("status", "deleted", "restored"):
            shown = value if not isinstance(value, list) else json.dumps(value)
            _say(err, f"{key}: {shown}")


def _say(err: Console, text: str) -> None:
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("purge")(purge_command)
