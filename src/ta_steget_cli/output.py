"""Renders every listing as a table, JSON, CSV or an Excel workbook, to stdout or a file.

JSON is one array of objects and nothing else on stdout; notes and warnings go to stderr.
CSV is the machine format (comma, UTF-8, the spec's English keys); people who want a spreadsheet
get .xlsx: headings in their language, dates as date cells, numbers as numbers. CSV cells that a
spreadsheet would run as a formula are made inert, and no .xlsx cell is ever a formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import KW_ONLY, dataclass, fields, is_dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TextIO, cast

from rich import box
from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .errors import UsageError
from .files import replaced_when_done, write_atomically
from .i18n import _, translations
from .workdays import STOCKHOLM


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


# The format an --output file's name implies; only these suffixes imply one.
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".xlsx": "xlsx", ".html": "html", ".htm": "html"}


@dataclass(frozen=True)
class Column:
    """A listing's column: its key (JSON, CSV) and its heading, the English `title` marked with
    `N_()` and read from the catalogue. The rest is keyword-only, so that a call in the old
    (key, Swedish, English) form fails at once instead of taking the English for `justify`."""

    key: str
    title: str
    _: KW_ONLY
    justify: str = "left"
    number_format: str | None = None  # an Excel number format, e.g. "0%" for a share
    wrap: bool = True  # False: a line is never wrapped (a phone number with spaces)

    def heading(self, lang: str) -> str:
        # gettext("") would be the catalogue's header, not an empty heading.
        return translations(lang).gettext(self.title) if self.title else ""


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A phone number in international form (+46701234567): digits alone make no formula that does
# anything, and a visible quote before every number of the column confuses people. (With a
# space a spreadsheet reads "+46 70" as a formula and shows an error: that one is quoted.)
_PHONE = re.compile(r"\+[0-9]+")
# Control characters other than tab and line breaks (a NUL read from a file) never go out.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a quote before it.

    Apply it to text cells only; numbers the tool writes itself (-3 working days) stay numbers.
    """
    value = _CONTROL.sub("", value)
    if value and value.startswith(_FORMULA_START) and not _PHONE.fullmatch(value):
        return "'" + value
    return value


def plain(value: Any) -> Any:
    """A JSON-ready value: dates as YYYY-MM-DD, datetimes ISO 8601 with offset, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return as_record(value)
    return value


def as_record(item: Any) -> dict[str, Any]:
    # Field by field (raw_record), not `asdict`, which deep-copies every value first.
    return {k: plain(v) for k, v in raw_record(item).items()}


def cell_text(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def choose_format(fmt: Format | None, output: Path | None) -> Format:
    """The explicit format; else from the output file's suffix; else table on a terminal."""
    allowed = tuple(f.value for f in Format)
    return Format(format_for(fmt.value if fmt else None, output, allowed))


def format_for(fmt: str | None, output: Path | None, allowed: Sequence[str]) -> str:
    """`fmt`, which must agree with the --output suffix; else the suffix's format; else table
    (to a file with another suffix, or a terminal) or json (piped). A suffix this command cannot
    write, or one that contradicts --format, is a usage error rather than a surprise file."""
    implied = SUFFIX_FORMATS.get(output.suffix.lower()) if output is not None else None
    if fmt is not None:
        if implied is not None and implied != fmt:
            raise UsageError(
                _(
                    "--format {fmt} does not match --output {output}, which names a {implied} "
                    "file; give one of them, or make them agree"
                ).format(fmt=fmt, output=output, implied=implied)
            )
        return fmt
    if implied is not None:
        if implied not in allowed:
            endings = ", ".join("." + a for a in allowed if a != "table")
            raise UsageError(
                _(
                    "--output {output}: this command cannot write {implied}; "
                    "expected a file ending in {endings}"
                ).format(output=output, implied=implied, endings=endings)
            )
        return implied
    if output is not None:
        return "table"
    return "table" if sys.stdout.isatty() else "json"


def to_json(records: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def csv_cell(value: Any) -> str:
    """Text is made inert for spreadsheets; our own numbers stay numbers."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return csv_safe(cell_text(value))


def to_csv(records: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.key for c in columns])
    for record in records:
        writer.writerow([csv_cell(record.get(c.key)) for c in columns])
    return buffer.getvalue()


RowStyle = Callable[[Mapping[str, Any]], str | None]


# ---------------------------------------------------------------- tables for people
#
# Every column is as wide as its longest word (a column that must not wrap: its longest line),
# so no word, date, id or e-mail address is ever broken. When even that is too wide for the
# terminal, columns leave in a stated order (`drop`; by default the last first, never the first)
# and the caption says which.

# The table has a rule under the headings and no frame: three spaces between columns, none at
# the edges (a frame would cost two to three more columns per column on an 80-column terminal).
_BETWEEN = 3


def _overhead(columns: int) -> int:
    return _BETWEEN * max(columns - 1, 0)


def _words(text: str) -> list[str]:
    return text.split()


def _span(text: str, wrap: bool) -> tuple[int, int]:
    """(narrowest, widest) a cell's text can be shown in without breaking a word, or a line
    when it must not wrap."""
    lines = text.splitlines() or [""]
    widest = max(cell_len(line) for line in lines)
    if not wrap:
        return widest, widest
    return max((cell_len(w) for w in _words(text)), default=0), widest


def column_spans(
    records: Sequence[Mapping[str, Any]], columns: Sequence[Column], lang: str
) -> list[tuple[int, int]]:
    spans = []
    for col in columns:
        narrow, wide = _span(col.heading(lang), wrap=True)
        for record in records:
            n, w = _span(cell_text(record.get(col.key)), col.wrap)
            narrow, wide = max(narrow, n), max(wide, w)
        spans.append((max(narrow, 1), max(wide, 1)))
    return spans


def fit_widths(spans: Sequence[tuple[int, int]], width: int | None) -> list[int] | None:
    """Each column's width so the table fits `width` (None: no limit) with no word broken;
    None when even the narrowest table is wider. The columns with the most room to give shrink
    first."""
    widths = [wide for _narrow, wide in spans]
    if width is None:
        return widths
    room = width - _overhead(len(spans))
    if sum(narrow for narrow, _wide in spans) > room:
        return None
    for _step in range(sum(widths) - room):
        i = max(range(len(widths)), key=lambda k: widths[k] - spans[k][0])
        widths[i] -= 1
    return widths


def drop_order(columns: Sequence[Column], drop: Sequence[str] | None) -> list[str]:
    """`drop` as given; by default the last column first, never the first."""
    if drop is not None:
        return list(drop)
    return [c.key for c in reversed(columns[1:])]


def fitted_table(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    lang: str,
    width: int | None,
    drop: Sequence[str] | None = None,
    title: str | None = None,
    footer: str | None = None,
    row_style: RowStyle | None = None,
) -> Table:
    """The table at `width`: columns leave in `drop` order until the rest fit unbroken."""
    shown = list(columns)
    leaving = [k for k in drop_order(columns, drop) if any(c.key == k for c in columns)]
    dropped: list[Column] = []
    while (widths := fit_widths(column_spans(records, shown, lang), width)) is None and leaving:
        key = leaving.pop(0)
        dropped += [c for c in shown if c.key == key]
        shown = [c for c in shown if c.key != key]
    if widths is None:  # even one column is too wide: let it fold rather than cut it off
        widths = [None] * len(shown)  # type: ignore[list-item]
    if dropped:
        note = _(
            "Not shown, to fit {width} columns: {names} (a wider window, or --format xlsx, "
            "shows them)"
        ).format(width=width, names=", ".join(c.heading(lang) for c in dropped))
        footer = f"{footer}\n{note}" if footer else note
    table = Table(
        title=title,
        caption=footer,
        caption_justify="left",
        expand=False,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for col, w in zip(shown, widths, strict=True):
        table.add_column(
            col.heading(lang),
            justify=cast(JustifyMethod, col.justify),
            width=w,
            no_wrap=not col.wrap,
            overflow="fold",
        )
    for record in records:
        style = row_style(record) if row_style else None
        # Register text is data, never markup: a name like "Anna [/x]" must print as it is.
        links = record.get("_links") or {}
        table.add_row(*(_cell(record, c.key, links.get(c.key)) for c in shown), style=style)
    return table


def to_table(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    lang: str,
    title: str | None = None,
    footer: str | None = None,
    row_style: RowStyle | None = None,
) -> Table:
    """The whole table, however wide (for a file)."""
    return fitted_table(
        records, columns, lang=lang, width=None, title=title, footer=footer, row_style=row_style
    )


# ---------------------------------------------------------------- the pager
#
# Long output on a terminal goes through a pager, as git and gh do: $TASTEGET_PAGER, else
# $PAGER, else less; --no-pager (or an empty TASTEGET_PAGER, or "cat") prints it as it is.

PAGING: ContextVar[bool] = ContextVar("PAGING", default=True)


def pager_command() -> str | None:
    """$TASTEGET_PAGER, else $PAGER, else less (or more on Windows); None: do not page.
    An empty value or "cat" means no pager, as for git."""
    for name in ("TASTEGET_PAGER", "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            return None if value.strip() in ("", "cat") else value
    if shutil.which("less"):
        return "less"
    return "more" if os.name == "nt" else None


def may_page(console: Console) -> bool:
    """Paging is on (no --no-pager), both the console and stdout are a terminal, and a pager
    is there to use."""
    return (
        PAGING.get() and console.is_terminal and sys.stdout.isatty() and pager_command() is not None
    )


def show(console: Console, renderable: Any) -> None:
    """Print to the terminal, through the pager when it is longer than the screen."""
    if not may_page(console):
        console.print(renderable)
        return
    with console.capture() as capture:
        console.print(renderable)
    text = capture.get()
    if text.count("\n") > console.height:
        page(text)
    else:
        print_text(text)


def show_text(text: str) -> None:
    """JSON or CSV on stdout; through the pager when a person reads it on a terminal."""
    console = Console()
    if may_page(console) and text.count("\n") > console.height:
        page(text)
    else:
        print_text(text)


def print_text(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def page(text: str) -> None:
    """`text` through the pager; less as git runs it: quit if one screen, keep colours."""
    command = pager_command()
    assert command is not None
    env = {**os.environ}
    env.setdefault("LESS", "FRX")
    encoding = sys.stdout.encoding or "utf-8"
    try:
        subprocess.run(command, shell=True, input=text.encode(encoding, "replace"), env=env)
    except OSError:
        print_text(text)


def _cell(record: Mapping[str, Any], key: str, link: str | None) -> str | Text:
    """A cell's text; with a link, a terminal hyperlink (plain text where links are unknown)."""
    text = cell_text(record.get(key))
    if link:
        return Text(text, style=Style(link=link))
    return escape(text)


def render(
    items: Sequence[Any],
    columns: Sequence[Column],
    *,
    fmt: Format | None,
    output: Path | None,
    lang: str = "sv",
    title: str | None = None,
    footer: str | None = None,
    row_style: RowStyle | None = None,
    console: Console | None = None,
    drop: Sequence[str] | None = None,
) -> None:
    """Render a listing in the chosen format, to `output` or stdout. A table on the terminal
    fits its width: the columns in `drop` leave in that order (default: the last first) while
    the rest cannot fit unbroken."""
    chosen = choose_format(fmt, output)
    if chosen is Format.xlsx:
        records = [raw_record(item) for item in items]
        write_binary(to_xlsx(records, columns, lang=lang, title=title), output)
        return
    records = [as_record(item) for item in items]
    if chosen is Format.json:
        text = to_json(records)
    elif chosen is Format.csv:
        text = to_csv(records, columns)
    elif output is None:
        console = console or Console()
        table = fitted_table(
            records, columns, lang=lang, width=console.width, drop=drop,
            title=title, footer=footer, row_style=row_style,
        )  # fmt: skip
        show(console, table)
        return
    else:
        table = to_table(
            records, columns, lang=lang, title=title, footer=footer, row_style=row_style
        )
        capture = Console(file=io.StringIO(), width=10_000, color_system=None)
        capture.print(table)
        text = "\n".join(line.rstrip() for line in capture.file.getvalue().splitlines()) + "\n"  # type: ignore[attr-defined]
    if output is None:
        show_text(text)
    else:
        write_atomically(output, text)


def write_binary(data: bytes, output: Path | None) -> None:
    """A workbook to its file, or to a redirected stdout (never onto a terminal)."""
    if output is not None:
        write_atomically(output, data)
        return
    if sys.stdout.isatty():
        raise UsageError(_("--format xlsx writes a workbook: give --output FILE.xlsx"))
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


# ---------------------------------------------------------------- Excel


def raw_record(item: Any) -> dict[str, Any]:
    """Like as_record, but dates stay dates: the workbook types its cells from them."""
    if is_dataclass(item) and not isinstance(item, type):
        return {f.name: getattr(item, f.name) for f in fields(item)}
    if isinstance(item, Mapping):
        return dict(item)
    raise TypeError(f"cannot render {type(item).__name__}")


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def sheet_value(value: Any) -> Any:
    """A cell value: numbers stay numbers, days become date cells (also a YYYY-MM-DD text that
    a command turned into text), times Stockholm wall-clock time (Excel has no time zones)."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.astimezone(STOCKHOLM).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(plain(value), ensure_ascii=False)
    return value


def to_xlsx(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    lang: str,
    title: str | None = None,
) -> bytes:
    """One sheet: a bold, frozen heading row with an autofilter, typed cells, fitted widths,
    and the person's name linked to their card when the record carries a `link`."""
    from openpyxl import Workbook  # imported here: only a workbook needs it, and it is slow
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "tasteget"
    if title:
        book.properties.title = title
    widths = [len(c.heading(lang)) for c in columns]
    for i, col in enumerate(columns, 1):
        sheet.cell(row=1, column=i, value=col.heading(lang)).font = Font(bold=True)
    for r, record in enumerate(records, 2):
        for i, col in enumerate(columns, 1):
            value = sheet_value(record.get(col.key))
            cell = sheet.cell(row=r, column=i)
            if isinstance(value, str):
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell.data_type = "s"  # text, even "=..." from the register: never a formula
            else:
                cell.value = value
            if isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
            elif col.number_format and isinstance(value, int | float):
                cell.number_format = col.number_format
            link = record.get("link")
            if col.key == "name" and isinstance(link, str) and link:
                cell.hyperlink = link
                cell.style = "Hyperlink"
            widths[i - 1] = max(widths[i - 1], _shown_width(value))
    for i, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(i)].width = min(width + 2, 60)
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{max(len(records) + 1, 1)}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _shown_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


Add = Callable[[Mapping[str, Any]], None]


@contextmanager
def streamed(
    columns: Sequence[Column], *, fmt: Format, output: Path | None, lang: str = "sv"
) -> Iterator[Add]:
    """A listing written as its records come, so that memory stays flat and a stop part-way
    still shows what was done: JSON (one array, closed however the block ends) and CSV go out
    record by record; other formats (a table) are drawn from the records when the block ends."""
    if fmt not in (Format.json, Format.csv):
        records: list[Mapping[str, Any]] = []
        try:
            yield records.append
        finally:
            render(records, columns, fmt=fmt, output=output, lang=lang)
        return
    with _stream_target(output) as handle:
        if fmt is Format.csv:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow([c.key for c in columns])
            yield lambda record: writer.writerow([csv_cell(record.get(c.key)) for c in columns])
            return
        count = 0

        def add(record: Mapping[str, Any]) -> None:
            nonlocal count
            text = json.dumps(dict(record), ensure_ascii=False, indent=2)
            handle.write(("[\n" if count == 0 else ",\n") + "  " + text.replace("\n", "\n  "))
            count += 1

        try:
            yield add
        finally:
            handle.write("\n]\n" if count else "[]\n")


@contextmanager
def _stream_target(output: Path | None) -> Iterator[TextIO]:
    if output is not None:
        with replaced_when_done(output) as handle:
            yield handle
        return
    try:
        yield sys.stdout
    finally:
        sys.stdout.flush()
