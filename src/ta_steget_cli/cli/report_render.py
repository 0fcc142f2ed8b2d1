"""How the quarterly report reads: its words, its table records, the trend and the one-file
HTML (inline CSS and SVG) that fits an 800-pixel window and an A4 page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from html import escape
from typing import Any

from .. import report as rp
from ..i18n import LANGUAGES, N_, translations
from ..output import Column, as_record


class Messages(Mapping[str, Mapping[str, str]]):
    """A table of English messages (each marked with `N_`), looked up per language:
    `WORDS[lang][key]` is the message in `lang` from the catalogue."""

    def __init__(self, messages: Mapping[str, str]) -> None:
        self.messages = dict(messages)

    def __getitem__(self, lang: str) -> Mapping[str, str]:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        catalogue = translations(lang)
        return {key: catalogue.gettext(text) for key, text in self.messages.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


COLUMNS = (
    Column("period", N_("Period")),
    Column("kommun", N_("Municipality")),
    Column("registrations", N_("New registrations"), justify="right"),
    Column("guidance", N_("Want move guidance"), justify="right"),
    Column("newsletter_only", N_("Only the newsletter"), justify="right"),
    Column("magazine_only", N_("Only the magazine"), justify="right"),
    Column("newsletter_and_magazine", N_("Newsletter and magazine"), justify="right"),
    Column("assessed", N_("Due date passed"), justify="right"),
    Column("answered_within_limit", N_("Answered in time"), justify="right"),
    Column("share_within_limit", N_("Share in time"), justify="right", number_format="0%"),
    Column("median_working_days", N_("Median working days"), justify="right"),
    Column("unanswered", N_("Unanswered"), justify="right"),
    Column("households_moved", N_("Households moved"), justify="right"),
    Column("moved_this_year", N_("Moved this year"), justify="right"),
    Column("subscribers", N_("Subscribers"), justify="right"),
    Column("goal", N_("Goal"), justify="right"),
    Column("share_of_goal", N_("Share of goal"), justify="right", number_format="0%"),
)
WORDS = Messages(
    {
        "region": N_("The region (no municipality chosen)"),  # terms.region_name
        "total": N_("Total"),
        "title": N_("Ta steget – report {period}"),
        "subtitle": N_(
            "{first} – {last}, the register as it stood on {as_of}. First response within {days} "
            "working days."
        ),
        "not_over": N_("The period is not over: figures up to and including {as_of}."),
        "chart": N_("New registrations and households moved per municipality"),
        "legend_reg": N_("New registrations"),
        "legend_moved": N_("Households moved"),
        "goal": N_("Households moved {period}: {moved} of the goal {goal} ({share})"),
        "goal_so_far": N_(
            "Households moved {period} up to {through}: {moved} of the goal {goal} ({share})"
        ),
        "dedup": N_(
            "A municipality's row counts those who chose it, so a person who chose several "
            "counts in each. The total counts every person once: {total} persons registered, "
            "{ticks} choices of a municipality or the region."
        ),
        "notes": N_(
            "Those who chose only the newsletter or the magazine asked for no move guidance and "
            "wait for no first response. "
            "The share in time counts those whose due date has passed. A household counts as "
            "moved on its move date, else on the day its status last changed, and for the "
            "municipality it moved to. Subscribers are those subscribed to the newsletter now "
            "who were registered by the end of the period."
        ),
        "h_asked": N_("New registrations and what they asked for"),
        "h_response": N_("First responses to those who want move guidance"),
        "h_moves": N_("Moves and subscribers"),
        "trend": N_("The last four quarters"),
        "trend_chart": N_("New registrations and households moved per quarter"),
        "figure": N_("Total"),
        "mail_subject": N_("Ta steget – report {period}"),
        "mail_text": N_(
            "Hello,\n\nHere is Ta steget's report for {period} ({first} – {last}), the register "
            "as it stood on {as_of}. The report is attached as HTML (open it in a browser, print "
            "as A4) and the figures as CSV for Excel.\n\n{lines}\n\nThis message was sent by "
            "tasteget."
        ),
        "mail_written": N_(
            "The report {period} to {count} recipients is written to {path} (--dry-run, nothing "
            "sent)."
        ),
        "mail_outbox": N_(
            "The report {period} to {count} recipients is written to {path} ([notify] transport "
            '= "outbox", nothing sent).'
        ),
        "mail_sent": N_("The report {period} is sent to {count} recipients."),
        "mail_failed": N_("The report {period} could not be sent: {reason}"),
        "no_recipients": N_(
            "[report] recipients is empty; report --mail needs at least one address"
        ),
        "no_sender": N_("[notify] from is not set; report --mail sends with notify's settings"),
    }
)
# The terminal table keeps what fits in 80 columns; goals and notes go in the footer.
TABLE_KEYS = (
    "kommun",
    "registrations",
    "guidance",
    "share_within_limit",
    "unanswered",
    "households_moved",
    "subscribers",
)
# The HTML stacks two narrow tables instead of one wide one, so that it fits A4 and 800 px.
HTML_TABLES = (
    (
        "h_asked",
        (
            "kommun",
            "registrations",
            "guidance",
            "newsletter_only",
            "magazine_only",
            "newsletter_and_magazine",
        ),
    ),
    (
        "h_response",
        (
            "kommun",
            "guidance",
            "assessed",
            "answered_within_limit",
            "share_within_limit",
            "median_working_days",
            "unanswered",
        ),
    ),
    ("h_moves", ("kommun", "households_moved", "moved_this_year", "subscribers")),
)
# The trend's figures, one row each, the quarters side by side.
TREND_KEYS = (
    "registrations",
    "guidance",
    "share_within_limit",
    "median_working_days",
    "households_moved",
    "subscribers",
)
REG_COLOUR = "#1f5f8b"
MOVED_COLOUR = "#4c9a2a"
CHART_WIDTH = 640  # the SVG's own width; it scales down with the page (viewBox)


def column(key: str) -> Column:
    return next(c for c in COLUMNS if c.key == key)


def footer_lines(report: rp.Report, lang: str) -> list[str]:
    """What is said under the table: the goals configured for the period, and how to read it."""
    return [*goal_lines(report, lang), dedup_line(report, lang)]


def goal_lines(report: rp.Report, lang: str) -> list[str]:
    words = WORDS[lang]
    lines = []
    for goal in report.goals:
        own = goal.period == report.period.label and goal.through >= report.period.last
        template = words["goal"] if own else words["goal_so_far"]
        lines.append(
            template.format(
                period=goal.period,
                moved=goal.moved,
                goal=goal.goal,
                share=percent(goal.share),
                through=goal.through,
            )
        )
    return lines


def dedup_line(report: rp.Report, lang: str) -> str:
    ticks = sum(row.registrations for row in report.rows[:-1])
    return WORDS[lang]["dedup"].format(total=report.total.registrations, ticks=ticks)


def area_name(kommun: str, lang: str) -> str:
    return WORDS[lang].get(kommun, kommun) if kommun in (rp.REGION, rp.TOTAL) else kommun


def record_of(row: rp.ReportRow, report: rp.Report, lang: str, fmt: ReportFormat) -> dict[str, Any]:
    """JSON and CSV keep keys and plain numbers; the table shows names and percentages; a
    workbook has names and numbers (its cells show shares as percentages)."""
    record = {"period": report.period.label, **as_record(row)}
    if fmt is ReportFormat.xlsx:
        record["kommun"] = area_name(row.kommun, lang)
    elif fmt in (ReportFormat.table, ReportFormat.html):
        record["kommun"] = area_name(row.kommun, lang)
        for key in ("share_within_limit", "share_of_goal"):
            record[key] = percent(record[key])
        record["median_working_days"] = number(record["median_working_days"])
    else:
        for key in ("share_within_limit", "share_of_goal"):
            if record[key] is not None:
                record[key] = round(record[key], 4)
    return record


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f} %"


def number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}".replace(".", ",")


# ---------------------------------------------------------------- the trend


def trend_columns(quarters: Sequence[rp.Report]) -> list[Column]:
    first = Column("figure", "")
    return [
        first,
        *(Column(q.period.label, q.period.label, justify="right") for q in quarters),
    ]


def trend_records(quarters: Sequence[rp.Report], lang: str) -> list[dict[str, Any]]:
    """One record per figure, a value per quarter (the total row: each person once)."""
    out = []
    for key in TREND_KEYS:
        record: dict[str, Any] = {"figure": column(key).heading(lang)}
        for q in quarters:
            record[q.period.label] = record_of(q.total, q, lang, ReportFormat.table)[key]
        out.append(record)
    return out


# ---------------------------------------------------------------- HTML

STYLE = """
body { font-family: sans-serif; color: #222; margin: 1.5em auto; padding: 0 1em;
       max-width: 180mm; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.4em; overflow-wrap: anywhere; }
th { font-size: 0.85em; text-align: left; vertical-align: bottom; hyphens: auto; }
th:first-child, td:first-child { width: 28%; }
td.n { text-align: right; }
tr.total td { font-weight: bold; }
svg { width: 100%; height: auto; max-width: 100%; }
.note { color: #6b4500; font-size: 0.9em; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; padding: 0; max-width: none; font-size: 10pt; }
  table, svg, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""


def report_html(report: rp.Report, quarters: Sequence[rp.Report], lang: str) -> str:
    """One file to attach: inline CSS and SVG, no scripts, fonts or images from elsewhere.
    Narrow tables stacked, charts that scale: it fits an 800-pixel window and an A4 page."""
    words = WORDS[lang]
    period = report.period
    title = words["title"].format(period=period.label)
    subtitle = words["subtitle"].format(
        first=period.first, last=period.last, as_of=report.as_of, days=report.working_days
    )
    goals = "".join(
        f"<p class='goal'>{escape(line)}</p>" + goal_bar(goal.moved, goal.goal)
        for line, goal in zip(goal_lines(report, lang), report.goals, strict=True)
    )
    not_over = (
        f"<p class='note'>{escape(words['not_over'].format(as_of=report.as_of))}</p>"
        if period.last > report.as_of
        else ""
    )
    tables = "\n".join(
        f"<h2>{escape(words[heading])}</h2>\n{html_table(report, keys, lang)}"
        for heading, keys in HTML_TABLES
    )
    trend = ""
    if quarters:
        trend = (
            f"<h2>{escape(words['trend'])}</h2>\n{trend_table(quarters, lang)}\n"
            f"{trend_chart(quarters, lang)}"
        )
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>{escape(subtitle)}</p>
{not_over}
{goals}
{tables}
<p class="note">{escape(dedup_line(report, lang))}</p>
<h2>{escape(words["chart"])}</h2>
{bar_chart(report, lang)}
{trend}
<p class="note">{escape(words["notes"])}</p>
</body>
</html>
"""


def html_table(report: rp.Report, keys: Sequence[str], lang: str) -> str:
    columns = [column(k) for k in keys]
    head = "".join(f"<th>{escape(c.heading(lang))}</th>" for c in columns)
    rows = []
    for row in report.rows:
        record = record_of(row, report, lang, ReportFormat.html)
        rows.append(html_row(record, columns, row.kommun == rp.TOTAL))
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def html_row(record: Mapping[str, Any], columns: Sequence[Column], total: bool = False) -> str:
    cells = "".join(
        f"<td{' class=n' if c.justify == 'right' else ''}>{escape(_cell(record[c.key]))}</td>"
        for c in columns
    )
    css = " class='total'" if total else ""
    return f"<tr{css}>{cells}</tr>"


def trend_table(quarters: Sequence[rp.Report], lang: str) -> str:
    columns = trend_columns(quarters)
    head = "".join(f"<th>{escape(c.heading(lang))}</th>" for c in columns)
    rows = [html_row(r, columns) for r in trend_records(quarters, lang)]
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}" '
        'font-family="sans-serif" font-size="12">'
    )


def legend(label_w: int, lang: str) -> list[str]:
    words = WORDS[lang]
    return [
        f'<rect x="{label_w}" y="6" width="12" height="12" fill="{REG_COLOUR}"/>',
        f'<text x="{label_w + 16}" y="16">{escape(words["legend_reg"])}</text>',
        f'<rect x="{label_w + 180}" y="6" width="12" height="12" fill="{MOVED_COLOUR}"/>',
        f'<text x="{label_w + 196}" y="16">{escape(words["legend_moved"])}</text>',
    ]


def bar_pairs(
    labelled: Sequence[tuple[str, int, int]], label_w: int, bar_w: int, row_h: int
) -> list[str]:
    """Per label, a registrations bar and a moves bar, each with its number and a tooltip."""
    top = max([1, *(max(reg, moved) for _, reg, moved in labelled)])
    parts = []
    for i, (name, registrations, moved) in enumerate(labelled):
        y = 30 + i * row_h
        shown = escape(name)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{shown}</text>')
        for j, (value, colour) in enumerate(((registrations, REG_COLOUR), (moved, MOVED_COLOUR))):
            width = round(bar_w * value / top)
            by = y + j * 13
            parts.append(
                f'<rect x="{label_w}" y="{by}" width="{width}" height="12" fill="{colour}">'
                f"<title>{shown}: {value}</title></rect>"
            )
            parts.append(f'<text x="{label_w + width + 4}" y="{by + 10}">{value}</text>')
    return parts


def bar_chart(report: rp.Report, lang: str) -> str:
    """Horizontal bar pairs per municipality (and the region): registrations and moves."""
    rows = [r for r in report.rows if r.kommun != rp.TOTAL]
    label_w, row_h = 170, 34
    labelled = [(area_name(r.kommun, lang), r.registrations, r.households_moved) for r in rows]
    height = 40 + row_h * len(rows)
    parts = [svg_open(CHART_WIDTH, height, WORDS[lang]["chart"]), *legend(label_w, lang)]
    parts += bar_pairs(labelled, label_w, CHART_WIDTH - label_w - 50, row_h)
    parts.append("</svg>")
    return "\n".join(parts)


def trend_chart(quarters: Sequence[rp.Report], lang: str) -> str:
    """The same bar pairs per quarter, oldest first: the whole county, each person once."""
    label_w, row_h = 170, 34
    labelled = [(q.period.label, q.total.registrations, q.total.households_moved) for q in quarters]
    height = 40 + row_h * len(quarters)
    parts = [svg_open(CHART_WIDTH, height, WORDS[lang]["trend_chart"]), *legend(label_w, lang)]
    parts += bar_pairs(labelled, label_w, CHART_WIDTH - label_w - 50, row_h)
    parts.append("</svg>")
    return "\n".join(parts)


def goal_bar(moved: int, goal: int) -> str:
    width = 420
    filled = round(width * min(moved, goal) / goal)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width + 2} 22" '
        f'width="{width + 2}" height="22" style="max-width: {width + 2}px" role="img" '
        f'aria-label="{moved} / {goal}">'
        f'<rect x="1" y="1" width="{width}" height="20" fill="#eee" stroke="#999"/>'
        f'<rect x="1" y="1" width="{filled}" height="20" fill="{MOVED_COLOUR}"/></svg>'
    )
