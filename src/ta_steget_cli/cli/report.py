"""`tasteget report`: the quarterly report as a table, JSON, CSV or one self-contained HTML file,
and by mail to `[report] recipients`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Annotated

import typer

from .. import mail
from .. import report as rp
from ..errors import ConfigError, TastegetError
from ..files import write_atomically
from ..output import Format, format_for, render, to_csv
from ..register import Register
from ..workdays import STOCKHOLM
from .held_stop import stops_at_requests
from .options import AsOfOption, OutputOption, outbox_option
from .report_render import (
    COLUMNS,
    TABLE_KEYS,
    WORDS,
    ReportFormat,
    column,
    footer_lines,
    record_of,
    report_html,
    trend_columns,
    trend_records,
)
from .runtime import Runtime, as_of_or_today


def report_command(
    ctx: typer.Context,
    quarter: Annotated[
        str | None,
        typer.Option("--quarter", "-q", help="A quarter like 2025Q3.", show_default=False),
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", "-y", help="A whole year.", show_default=False)
    ] = None,
    trend: Annotated[
        bool, typer.Option("--trend", help="Also the last four quarters side by side.")
    ] = False,
    as_of: AsOfOption = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table, json, csv, xlsx or html (default: from the --output file's suffix, "
            "else table on a terminal, else json). csv is the machine format (comma, UTF-8, "
            "English keys); xlsx is for Excel; html is one file to attach.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
    send: Annotated[
        bool,
        typer.Option(
            "--mail", help="Mail the HTML report and a CSV to [report] recipients (notify's SMTP)."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --mail: write the .eml instead of sending.")
    ] = False,
    outbox: Annotated[
        Path | None,
        outbox_option(
            "Folder for the .eml that --mail writes with --dry-run or [notify] transport "
            '= "outbox" (default: [notify] outbox, else ./outbox).'
        ),
    ] = None,
) -> None:
    """The quarterly report (default: the last quarter that has ended)."""
    runtime: Runtime = ctx.obj
    day = as_of_or_today(as_of)
    period = rp.choose_period(quarter, year, day)
    lang = runtime.lang
    words = WORDS[lang]
    if send:
        check_mail_settings(runtime)
    client = runtime.client(day)
    register = Register(client, runtime.config, day)
    with stops_at_requests(client.deadlines):
        report = rp.build_report(register, period)
        quarters = rp.build_trend(register, period, report) if trend else []
    if period.last > day:
        runtime.err.print(words["not_over"].format(as_of=day), markup=False)
    if send:
        mail_report(runtime, report, quarters, dry_run=dry_run, outbox=outbox)
        return
    chosen = report_format(fmt, output)
    if chosen is ReportFormat.html:
        text = report_html(report, quarters, lang)
        if output is None:
            typer.echo(text, nl=False)
        else:
            write_atomically(output, text)
        return
    if chosen is not ReportFormat.table:
        reports = [r for r in quarters if r.period != period] + [report] if quarters else [report]
        records = [record_of(row, r, lang, chosen) for r in reports for row in r.rows]
        render(records, COLUMNS, fmt=Format(chosen.value), output=output, lang=lang)
        for line in footer_lines(report, lang):
            runtime.err.print(line, markup=False, highlight=False)
        return
    records = [record_of(row, report, lang, chosen) for row in report.rows]
    render(
        records,
        [column(k) for k in TABLE_KEYS],
        fmt=Format.table,
        output=output,
        lang=lang,
        title=words["title"].format(period=period.label),
        footer="\n".join(footer_lines(report, lang)),
    )
    if quarters and output is None:
        render(
            trend_records(quarters, lang),
            trend_columns(quarters),
            fmt=Format.table,
            output=None,
            lang=lang,
            title=words["trend"],
        )


def report_format(fmt: ReportFormat | None, output: Path | None) -> ReportFormat:
    allowed = tuple(f.value for f in ReportFormat)
    return ReportFormat(format_for(fmt.value if fmt else None, output, allowed))


# ---------------------------------------------------------------- mail


def check_mail_settings(runtime: Runtime) -> None:
    """Before reading the register: --mail needs recipients, a sender and (to send) SMTP."""
    config = runtime.config
    words = WORDS[runtime.lang]
    if not config.report.recipients:
        raise ConfigError(words["no_recipients"])
    if not config.notify.sender:
        raise ConfigError(words["no_sender"])
    # The SMTP settings themselves are checked by mail.send, the one place that knows them.


def report_csv(report: rp.Report, quarters: Sequence[rp.Report], lang: str) -> str:
    """The figures for Excel: the machine CSV's keys and numbers, with a BOM (UTF-8)."""
    reports = [r for r in quarters if r.period != report.period] + [report]
    records = [record_of(row, r, lang, ReportFormat.csv) for r in reports for row in r.rows]
    return "\ufeff" + to_csv(records, COLUMNS)


def report_message(
    report: rp.Report,
    quarters: Sequence[rp.Report],
    *,
    sender: str,
    recipients: Sequence[str],
    lang: str,
) -> EmailMessage:
    """The report as a mail: a short text, the HTML as the body and as an attachment to save
    or print, and the figures as CSV."""
    words = WORDS[lang]
    period = report.period
    html_text = report_html(report, quarters, lang)
    message = EmailMessage()
    message["Subject"] = words["mail_subject"].format(period=period.label)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(STOCKHOLM))
    message["Message-ID"] = make_msgid("tasteget", domain=sender.rpartition("@")[2] or None)
    message[mail.AS_OF_HEADER] = report.as_of.isoformat()
    lines = "\n".join(footer_lines(report, lang))
    text = words["mail_text"].format(
        period=period.label, first=period.first, last=period.last, as_of=report.as_of, lines=lines
    )
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html_text, subtype="html", cte="quoted-printable")
    name = f"rapport-{period.label.lower()}" if lang == "sv" else f"report-{period.label.lower()}"
    # As text with its charset, so that any mail program shows å, ä and ö right.
    message.add_attachment(
        html_text, subtype="html", filename=f"{name}.html", cte="quoted-printable"
    )
    message.add_attachment(
        report_csv(report, quarters, lang),
        subtype="csv",
        filename=f"{name}.csv",
        cte="quoted-printable",
    )
    return message


def mail_report(
    runtime: Runtime,
    report: rp.Report,
    quarters: Sequence[rp.Report],
    *,
    dry_run: bool,
    outbox: Path | None,
) -> None:
    config = runtime.config
    lang = runtime.lang
    words = WORDS[lang]
    recipients = config.report.recipients
    assert config.notify.sender is not None  # check_mail_settings
    message = report_message(
        report, quarters, sender=config.notify.sender, recipients=recipients, lang=lang
    )
    label = report.period.label
    outgoing = mail.Outgoing(f"rapport {label}", tuple(recipients), message)
    if mail.writes_files(config.notify, dry_run):
        (path,) = mail.write_eml([outgoing], outbox or config.notify.outbox)
        written = words["mail_written" if dry_run else "mail_outbox"]
        typer.echo(written.format(period=label, count=len(recipients), path=path))
        return
    password = runtime.secrets().get("TASTEGET_SMTP_PASSWORD")
    (result,) = mail.send([outgoing], config.notify, password)
    if not result.ok:
        raise TastegetError(words["mail_failed"].format(period=label, reason=result.reason))
    typer.echo(words["mail_sent"].format(period=label, count=len(recipients)))


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
