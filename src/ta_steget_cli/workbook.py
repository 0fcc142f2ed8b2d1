"""Reads a workbook people keep in Excel as the lines of the CSV text the tool already reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .errors import UsageError
from .i18n import _


def sheet_lines(path: Path) -> Iterator[str]:
    """The first sheet of a workbook, row by row, as CSV lines (dates as YYYY-MM-DD, whole
    numbers without a decimal part), so that it is read exactly like a CSV file. The workbook
    is opened here, before the first line is asked for: a file that is not one is a usage
    error at once."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise UsageError(
            _("{path}: not an .xlsx workbook ({why})").format(path=path, why=type(exc).__name__)
        ) from None
    return _rows_as_lines(path, book, sheet)


def _rows_as_lines(path: Path, book: Any, sheet: Any) -> Iterator[str]:
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in sheet.iter_rows(values_only=True):
            buffer.seek(0)
            buffer.truncate()
            # A line break inside a cell would end the CSV line early: a cell is one line.
            writer.writerow([" ".join(xlsx_cell(value).splitlines()) for value in row])
            yield buffer.getvalue()
    except UsageError:
        raise
    except Exception as exc:  # a damaged sheet part, found only when it is read
        raise UsageError(
            _("{path}: not an .xlsx workbook ({why})").format(path=path, why=type(exc).__name__)
        ) from None
    finally:
        book.close()


def xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
