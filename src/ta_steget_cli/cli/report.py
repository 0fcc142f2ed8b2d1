"""`tasteget report`: the quarterly report as a table, JSON, CSV or one self-contained HTML file."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from html import escape
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import report as rp
from ..files import write_atomically
from ..output import Column, Format, as_record, format_for, render
from ..register import Register
from .options import AsOfOption, OutputOption
from .runtime import Runtime, as_of_or_today


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


COLUMNS = (
    Column("period", "Period", "Period"),
    Column("kommun", "Kommun", "Municipality"),
    Column("registrations", "Nya registreringar", "New registrations", "right"),
    Column("assessed", "Svarstid passerad", "Due date passed", "right"),
    Column("answered_within_limit", "Svar i tid", "Answered in time", "right"),
    Column("share_within_limit", "Andel i tid", "Share in time", "right", "0%"),
    Column("median_working_days", "Median arbetsdagar", "Median working days", "right"),
    Column("unanswered", "Obesvarade", "Unanswered", "right"),
    Column("households_moved", "Flyttade hushåll", "Households moved", "right"),
    Column("moved_this_year", "Flyttade i år", "Moved this year", "right"),
    Column("yearly_goal", "Årsmål", "Yearly goal", "right"),
    Column("share_of_goal", "Andel av målet", "Share of goal", "right", "0%"),
)
WORDS: Mapping[str, Mapping[str, str]] = {
    "sv": {
        "region": "Regionen (ingen kommun)",
        "total": "Totalt",
        "title": "Ta steget – rapport {period}",
        "subtitle": "{first} – {last}, registret som det såg ut {as_of}. Första svar inom "
        "{days} arbetsdagar.",
        "not_over": "Perioden är inte slut: siffrorna gäller till och med {as_of}.",
        "chart": "Nya registreringar och flyttade hushåll per kommun",
        "legend_reg": "Nya registreringar",
        "legend_moved": "Flyttade hushåll",
        "goal": "Flyttade hushåll {year}: {moved} av målet {goal}",
        "notes": "Andel i tid räknas bland dem vars svarstid har passerat. Ett hushåll räknas "
        "som flyttat på flyttdatumet, annars den dag statusen senast ändrades, och för den "
        "kommun det flyttade till.",
    },
    "en": {
        "region": "The region (no municipality)",
        "total": "Total",
        "title": "Ta steget – report {period}",
        "subtitle": "{first} – {last}, the register as it stood on {as_of}. First response "
        "within {days} working days.",
        "not_over": "The period is not over: figures up to and including {as_of}.",
        "chart": "New registrations and households moved per municipality",
        "legend_reg": "New registrations",
        "legend_moved": "Households moved",
        "goal": "Households moved in {year}: {moved} of the goal {goal}",
        "notes": "The share in time counts those whose due date has passed. A household counts "
        "as moved on its move date, else on the day its status last changed, and for the "
        "municipality it moved to.",
    },
}
# The terminal table keeps what fits on a screen; the goal goes in the footer.
TABLE_KEYS = (
    "kommun",
    "registrations",
    "share_within_limit",
    "median_working_days",
    "unanswered",
    "households_moved",
    "moved_this_year",
)
TABLE_COLUMNS = tuple(next(c for c in COLUMNS if c.key == k) for k in TABLE_KEYS)
REG_COLOUR = "#1f5f8b"
MOVED_COLOUR = "#4c9a2a"


def report_command(
    ctx: typer.Context,
    quarter: Annotated[
        str | None,
        typer.Option("--quarter", "-q", help="A quarter like 2025Q3.", show_default=False),
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", "-y", help="A whole year.", show_default=False)
    ] = None,
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
) -> None:
    """The quarterly report (default: the last quarter that has ended)."""
    runtime: Runtime = ctx.obj
    day = as_of_or_today(as_of)
    period = rp.choose_period(quarter, year, day)
    lang = runtime.lang
    register = Register(runtime.client(day), runtime.config, day)
    report = rp.build_report(register, period)
    chosen = report_format(fmt, output)
    if period.last > day:
        runtime.err.print(WORDS[lang]["not_over"].format(as_of=day), markup=False)
    if chosen is ReportFormat.html:
        text = report_html(report, lang)
        if output is None:
            typer.echo(text, nl=False)
        else:
            write_atomically(output, text)
        return
    records = [record_of(row, report, lang, chosen) for row in report.rows]
    table = chosen is ReportFormat.table
    render(
        records,
        TABLE_COLUMNS if table else COLUMNS,
        fmt=Format(chosen.value),
        output=output,
        lang=lang,
        title=WORDS[lang]["title"].format(period=period.label),
        footer=goal_line(report, lang) if table else None,
    )


def goal_line(report: rp.Report, lang: str) -> str | None:
    total = report.total
    if not total.yearly_goal:
        return None
    line = WORDS[lang]["goal"].format(
        year=report.period.year, moved=total.moved_this_year, goal=total.yearly_goal
    )
    return f"{line} ({percent(total.share_of_goal)})"


def report_format(fmt: ReportFormat | None, output: Path | None) -> ReportFormat:
    allowed = tuple(f.value for f in ReportFormat)
    return ReportFormat(format_for(fmt.value if fmt else None, output, allowed))


def area_name(kommun: str, lang: str) -> str:
    return WORDS[lang].get(kommun, kommun) if kommun in (rp.REGION, rp.TOTAL) else kommun


def record_of(row: rp.ReportRow, report: rp.Report, lang: str, fmt: ReportFormat) -> dict[str, Any]:
    """JSON and CSV keep keys and plain numbers; the table shows names and percentages; a
    workbook has names and numbers (its cells show shares as percentages)."""
    record = {"period": report.period.label, **as_record(row)}
    if fmt is ReportFormat.xlsx:
        record["kommun"] = area_name(row.kommun, lang)
    elif fmt is ReportFormat.table:
        record["kommun"] = area_name(row.kommun, lang)
        for key in ("share_within_limit", "share_of_goal"):
            record[key] = percent(record[key])
        record["median_working_days"] = number(record["median_working_days"])
    elif record["share_within_limit"] is not None:
        record["share_within_limit"] = round(record["share_within_limit"], 4)
    return record


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f} %"


def number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}".replace(".", ",")


# ---------------------------------------------------------------- HTML


def report_html(report: rp.Report, lang: str) -> str:
    """One file to attach: inline CSS and SVG, no scripts, fonts or images from elsewhere."""
    words = WORDS[lang]
    period = report.period
    title = words["title"].format(period=period.label)
    subtitle = words["subtitle"].format(
        first=period.first, last=period.last, as_of=report.as_of, days=report.working_days
    )
    total = report.total
    goal = ""
    if total.yearly_goal:
        goal = f"<p class='goal'>{escape(goal_line(report, lang) or '')}</p>" + goal_bar(
            total.moved_this_year, total.yearly_goal
        )
    not_over = (
        f"<p class='note'>{escape(words['not_over'].format(as_of=report.as_of))}</p>"
        if period.last > report.as_of
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; }}
td.n {{ text-align: right; }}
tr.total td {{ font-weight: bold; }}
.note {{ color: #8a5a00; }}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>{escape(subtitle)}</p>
{not_over}
{html_table(report, lang)}
<h2>{escape(words["chart"])}</h2>
{bar_chart(report, lang)}
{goal}
<p class="note">{escape(words["notes"])}</p>
</body>
</html>
"""


def html_table(report: rp.Report, lang: str) -> str:
    columns = [c for c in COLUMNS if c.key != "period"]
    head = "".join(f"<th>{escape(c.heading(lang))}</th>" for c in columns)
    rows = []
    for row in report.rows:
        record = record_of(row, report, lang, ReportFormat.table)
        cells = "".join(
            f"<td{' class=n' if c.justify == 'right' else ''}>{escape(_cell(record[c.key]))}</td>"
            for c in columns
        )
        css = " class='total'" if row.kommun == rp.TOTAL else ""
        rows.append(f"<tr{css}>{cells}</tr>")
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def bar_chart(report: rp.Report, lang: str) -> str:
    """Horizontal bar pairs per municipality (and the region): registrations and moves."""
    words = WORDS[lang]
    rows = [r for r in report.rows if r.kommun != rp.TOTAL]
    top = max([1, *(max(r.registrations, r.households_moved) for r in rows)])
    label_w, bar_w, row_h = 200, 420, 34
    height = 40 + row_h * len(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 60}" '
        f'height="{height}" role="img" aria-label="{escape(words["chart"])}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect x="{label_w}" y="6" width="12" height="12" fill="{REG_COLOUR}"/>',
        f'<text x="{label_w + 16}" y="16">{escape(words["legend_reg"])}</text>',
        f'<rect x="{label_w + 180}" y="6" width="12" height="12" fill="{MOVED_COLOUR}"/>',
        f'<text x="{label_w + 196}" y="16">{escape(words["legend_moved"])}</text>',
    ]
    for i, row in enumerate(rows):
        y = 30 + i * row_h
        name = escape(area_name(row.kommun, lang))
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{name}</text>')
        for j, (value, colour) in enumerate(
            ((row.registrations, REG_COLOUR), (row.households_moved, MOVED_COLOUR))
        ):
            width = round(bar_w * value / top)
            by = y + j * 13
            parts.append(
                f'<rect x="{label_w}" y="{by}" width="{width}" height="12" fill="{colour}">'
                f"<title>{name}: {value}</title></rect>"
            )
            parts.append(f'<text x="{label_w + width + 4}" y="{by + 10}">{value}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def goal_bar(moved: int, goal: int) -> str:
    width = 420
    filled = round(width * min(moved, goal) / goal)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 2}" height="22" role="img" '
        f'aria-label="{moved} / {goal}">'
        f'<rect x="1" y="1" width="{width}" height="20" fill="#eee" stroke="#999"/>'
        f'<rect x="1" y="1" width="{filled}" height="20" fill="{MOVED_COLOUR}"/></svg>'
    )


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
