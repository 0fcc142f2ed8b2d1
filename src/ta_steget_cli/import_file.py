"""The lines of a file to import, as they are read: the text encodings Excel saves in, and an
.xlsx workbook's first sheet as CSV lines."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import UsageError
from .i18n import _
from .workbook import sheet_lines


def import_lines(path: Path) -> Iterator[str]:
    """The file's lines as they are read, never the whole file at once. UTF-16 (as Excel's
    "Unicode text" saves) is recognised; otherwise each line is UTF-8 (with or without a BOM),
    else Windows-1252 as older Excel saves. An .xlsx workbook's first sheet, row by row, as the
    lines of a CSV file."""
    if path.suffix.casefold() == ".xlsx" and path.is_file():
        return sheet_lines(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UsageError(_("{path}: no such file").format(path=path)) from None
    except IsADirectoryError:
        raise UsageError(_("{path}: is a folder, expected a CSV file").format(path=path)) from None
    except OSError as exc:
        raise UsageError(
            _("{path}: cannot read it ({why})").format(path=path, why=exc.strerror)
        ) from None
    start = handle.read(4096)
    handle.seek(0)
    encoding = utf16_encoding(start)
    if encoding is not None:
        return _utf16_lines(handle, encoding)
    return _byte_lines(handle)


def utf16_encoding(start: bytes) -> str | None:
    """UTF-16 by its byte order mark, or by the zero byte beside every ASCII letter."""
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    pairs = len(start) // 2
    if pairs >= 2:
        if start[1::2].count(0) > pairs // 2 and start[0::2].count(0) == 0:
            return "utf-16-le"
        if start[0::2].count(0) > pairs // 2 and start[1::2].count(0) == 0:
            return "utf-16-be"
    return None


def _utf16_lines(handle: BinaryIO, encoding: str) -> Iterator[str]:
    with io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="") as text:
        yield from text


def _byte_lines(handle: BinaryIO) -> Iterator[str]:
    with handle:
        for number, raw in enumerate(handle):
            if number == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                yield raw.decode("cp1252", errors="replace")


def delimiter_of(header: str) -> str:
    """Swedish Excel writes `;` (the comma is the decimal sign); everyone else `,`."""
    return ";" if header.count(";") > header.count(",") else ","
