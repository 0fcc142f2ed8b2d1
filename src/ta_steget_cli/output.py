"""Renders every listing as a table, JSON or CSV, to stdout or a file.

JSON is one array of objects and nothing else on stdout; notes and warnings go to stderr.
CSV cells that a spreadsheet would run as a formula are made inert.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .files import write_atomically


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    key: str
    sv: str
    en: str
    justify: str = "left"

    def heading(self, lang: str) -> str:
        return self.en if lang == "en" else self.sv


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a quote before it.

    Apply it to text cells only; numbers the tool writes itself (-3 working days) stay numbers.
    """
    if value and value.startswith(_FORMULA_START):
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
    return value


def as_record(item: Any) -> dict[str, Any]:
    if is_dataclass(item) and not isinstance(item, type):
        return {k: plain(v) for k, v in asdict(item).items()}
    if isinstance(item, Mapping):
        return {k: plain(v) for k, v in item.items()}
    raise TypeError(f"cannot render {type(item).__name__}")


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
    if fmt is not None:
        return fmt
    if output is not None:
        suffix = output.suffix.lower().lstrip(".")
        return Format(suffix) if suffix in ("json", "csv") else Format.table
    return Format.table if sys.stdout.isatty() else Format.json


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


def to_table(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    lang: str,
    title: str | None = None,
    footer: str | None = None,
    row_style: RowStyle | None = None,
) -> Table:
    table = Table(title=title, caption=footer, caption_justify="left", expand=False)
    for col in columns:
        table.add_column(col.heading(lang), justify=col.justify, overflow="fold")  # type: ignore[arg-type]
    for record in records:
        style = row_style(record) if row_style else None
        # Register text is data, never markup: a name like "Anna [/x]" must print as it is.
        table.add_row(*(escape(cell_text(record.get(c.key))) for c in columns), style=style)
    return table


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
) -> None:
    """Render a listing in the chosen format, to `output` or stdout."""
    records = [as_record(item) for item in items]
    chosen = choose_format(fmt, output)
    if chosen is Format.json:
        text = to_json(records)
    elif chosen is Format.csv:
        text = to_csv(records, columns)
    else:
        table = to_table(
            records, columns, lang=lang, title=title, footer=footer, row_style=row_style
        )
        if output is None:
            (console or Console()).print(table)
            return
        capture = Console(file=io.StringIO(), width=200, color_system=None)
        capture.print(table)
        text = capture.file.getvalue()  # type: ignore[attr-defined]
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(output, text)
