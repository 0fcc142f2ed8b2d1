"""Move status: the municipality's list for the yearly review, and setting a person's status.

Reading goes through the register (ids filtered per status item, never display texts). Writing
is one GET and at most one PATCH per person: the PATCH carries a `test` on `UpdatedDate`, so a
change someone else made between our read and our write is reported, never overwritten.
"""

from __future__ import annotations

import csv
import io
import json
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from .config import Config
from .errors import Conflict, Forbidden, NotFound, UsageError
from .files import write_atomically
from .i18n import _
from .models import Activity
from .move_status import (
    StatusChange,
    current_status,
    make_change,
    status_key,
    wanted_fields,
)
from .register import Register
from .superoffice.values import same_value
from .workdays import local_date

OUTCOMES = ("set", "would_set", "unchanged", "skipped", "failed")
IMPORT_COLUMNS = ("person_id", "status", "moved_to", "date")


class PersonClient(Protocol):
    """What setting a status needs of the SuperOffice client."""

    def get_person(self, person_id: int) -> dict[str, Any]: ...

    def write_custom_fields(
        self, person_id: int, entity: dict[str, Any], fields: dict[str, str]
    ) -> dict[str, Any]: ...


# ---------------------------------------------------------------- the list


@dataclass(frozen=True, slots=True)
class StatusItem:
    """One line of `status list`."""

    person_id: int
    name: str
    status: str | None
    registered: date | None
    kommuner: tuple[str, ...]
    last_activity: date | None


def list_statuses(
    register: Register, *, kommun: str | None, status: str | None = None
) -> list[StatusItem]:
    """The contacts of `kommun` (None: the region, persons with no municipality), by id."""
    config = register.config
    area = register.kommun_filter(kommun) if kommun else register.region_filter()
    wanted = register.status_filter(status_key(config, status)) if status else None
    persons = list(register.persons(area, wanted))
    statuses = register.move_statuses(area, wanted)
    ids = [p.person_id for p in persons]
    kommuner = memberships_in(register, kommun, ids, wanted) if kommun else {}
    activities = register.activities(ids, config.purge.activity_kinds)
    last = last_activities(activities, register.as_of)
    return [
        StatusItem(
            person_id=p.person_id,
            name=p.name,
            status=statuses.get(p.person_id),
            registered=local_date(p.registered) if p.registered else None,
            kommuner=kommuner.get(p.person_id, ()),
            last_activity=last.get(p.person_id),
        )
        for p in sorted(persons, key=lambda p: p.person_id)
    ]


def memberships_in(
    register: Register, kommun: str, ids: Iterable[int], *conditions: str | None
) -> dict[int, tuple[str, ...]]:
    """The municipalities of `kommun`'s contacts. Everyone is in `kommun` already, so only the
    other seven are asked (each scan narrowed to `kommun`): one scan of the largest set saved."""
    area = register.kommun_filter(kommun)
    others: dict[int, set[str]] = {}
    for other in register.config.kommuner:
        if other != kommun:
            for pid in register.person_ids(register.kommun_filter(other), area, *conditions):
                others.setdefault(pid, set()).add(other)
    order = list(register.config.kommuner)
    return {pid: tuple(sorted({kommun, *others.get(pid, ())}, key=order.index)) for pid in ids}


def last_activities(activities: Iterable[Activity], as_of: date) -> dict[int, date]:
    """Each person's latest activity day (Stockholm) up to as_of. A follow-up planned for a
    later day counts on the day it was registered: it has not happened yet."""
    last: dict[int, date] = {}
    for activity in activities:
        day = activity_day(activity, as_of)
        if day is not None and day > last.get(activity.person_id, date.min):
            last[activity.person_id] = day
    return last


def activity_day(activity: Activity, as_of: date) -> date | None:
    if activity.date is not None and local_date(activity.date) <= as_of:
        return local_date(activity.date)
    return local_date(activity.registered) if activity.registered is not None else None


# ---------------------------------------------------------------- one change


@dataclass(frozen=True, slots=True)
class SetResult:
    person_id: int | None
    outcome: str  # one of OUTCOMES
    reason: str | None = None
    status: str | None = None
    changed: tuple[str, ...] = ()  # ProgIds written (or that would be written)
    conflict: bool = False  # someone else changed the person between our read and write


def changes_needed(entity: Mapping[str, Any], wanted: Mapping[str, str]) -> dict[str, str]:
    """The wanted fields whose value differs from the entity's; only these are sent. Values
    are compared decoded, so `[D:2025.8.7]` and `[DT:08/07/2025 00:00:00.0000000]` are the
    same date and nothing is written for them."""
    current = entity.get("CustomFields") or {}
    return {k: v for k, v in wanted.items() if not same_value(current.get(k), v)}


def set_status(
    client: PersonClient, config: Config, change: StatusChange, *, dry_run: bool = False
) -> SetResult:
    """Read the person, write only what differs, and never overwrite someone else's change."""
    pid = change.person_id
    wanted = wanted_fields(config, change)
    try:
        entity = client.get_person(pid)
    except NotFound:
        return SetResult(pid, "failed", "no person with this id", change.status)
    except Forbidden:
        return SetResult(pid, "failed", "no right to read this person", change.status)
    diff = changes_needed(entity, wanted)
    if not diff:
        return SetResult(pid, "unchanged", None, change.status)
    if dry_run:
        return SetResult(pid, "would_set", None, change.status, tuple(diff))
    try:
        # Only the fields that differ, and only if nobody changed the person since our read.
        client.write_custom_fields(pid, entity, diff)
    except Conflict:
        return after_conflict(client, config, change, wanted)
    except NotFound:
        return SetResult(pid, "failed", "the person was deleted before the write", change.status)
    except Forbidden:
        return SetResult(pid, "failed", "no right to change this person", change.status)
    return SetResult(pid, "set", None, change.status, tuple(diff))


def after_conflict(
    client: PersonClient, config: Config, change: StatusChange, wanted: Mapping[str, str]
) -> SetResult:
    """Someone changed the person between our read and write: re-read and tell what is there."""
    pid = change.person_id
    try:
        entity = client.get_person(pid)
    except NotFound:
        return SetResult(pid, "failed", "the person was deleted by someone else", change.status)
    if not changes_needed(entity, wanted):
        # The other change already set what we wanted: nothing was lost.
        return SetResult(pid, "unchanged", None, change.status)
    now = current_status(config, entity) or "none"
    return SetResult(
        pid,
        "failed",
        f"changed by someone else since it was read (updated {entity.get('UpdatedDate')}, "
        f"status now {now}); not overwritten, run again to apply",
        change.status,
        conflict=True,
    )


# ---------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One line of an import file: a change to make, or why the line cannot be used."""

    line: int
    change: StatusChange | None
    person_id: int | None = None
    status: str | None = None
    outcome: str | None = None  # set when the line is settled without asking SuperOffice
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """One result row of `status import`."""

    line: int
    person_id: int | None
    status: str | None
    outcome: str
    reason: str | None = None


@dataclass
class ImportSummary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    @property
    def failed(self) -> int:
        return self.counts["failed"]


def import_lines(path: Path) -> Iterator[str]:
    """The file's lines as they are read, never the whole file at once. UTF-16 (as Excel's
    "Unicode text" saves) is recognised; otherwise each line is UTF-8 (with or without a BOM),
    else Windows-1252 as older Excel saves."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, expected a CSV file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None
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


def parse_import(
    config: Config, lines: Iterable[str] | str, source: str = "file"
) -> Iterator[ImportRow]:
    """Every line after the header as an ImportRow, read as it is needed (a file of any size
    in flat memory). The header is read at once: a missing, wrong or repeated column is a usage
    error before anything is done."""
    if isinstance(lines, str):
        lines = lines.splitlines(keepends=True)
    lines = iter(lines)
    number = 0
    for text in lines:
        number += 1
        if text.strip():
            break
    else:
        raise UsageError(
            f"{source}: the file is empty; expected a header {','.join(IMPORT_COLUMNS)}"
        )
    delimiter = delimiter_of(text)
    header = _header_cells(text, delimiter, source, number)
    if header[:2] != ["person_id", "status"] or any(h not in IMPORT_COLUMNS for h in header):
        raise UsageError(
            f"{source}: line {number} must be the header person_id,status[,moved_to,date] "
            f"(comma or semicolon separated); found {text.strip()!r}"
        )
    repeated = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if repeated is not None:
        raise UsageError(
            _(
                "{source}: line {line}: the column {column} appears twice in the header; "
                "expected each column once"
            ).format(source=source, line=number, column=repeated)
        )
    return _rows(config, lines, delimiter, header, (source, number))


def _header_cells(text: str, delimiter: str, source: str, number: int) -> list[str]:
    """The header's column names; a header the csv module cannot read is a usage error too."""
    try:
        cells = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error as exc:
        raise UsageError(f"{source}: line {number}: {exc}") from None
    return [cell.strip().casefold() for cell in cells]


def _rows(
    config: Config,
    lines: Iterator[str],
    delimiter: str,
    header: Sequence[str],
    where: tuple[str, int],
) -> Iterator[ImportRow]:
    source, header_line = where
    seen = SeenIds()
    reader = csv.reader(lines, delimiter=delimiter)
    for offset, cells in enumerate(_records(reader, source, header_line)):
        number = header_line + 1 + offset
        row = parse_row(config, number, header, cells)
        if row.change is not None:
            earlier = seen.first_line(row.change.person_id, number)
            if earlier != number:
                row = ImportRow(
                    number, None, row.person_id, row.status, "skipped",
                    f"person {row.person_id} is already on line {earlier}",
                )  # fmt: skip
        yield row


def _records(reader: Any, source: str, header_line: int) -> Iterator[list[str]]:
    """The CSV records; a line the csv module cannot read at all is a usage error naming it."""
    try:
        yield from reader
    except csv.Error as exc:
        raise UsageError(f"{source}: line {header_line + reader.line_num}: {exc}") from None


class SeenIds:
    """The line each person id was first seen on. Person ids are dense and start at 1, so the
    lines sit in an array indexed by id, 4 bytes an id up to 2**22 (16 MB at most, a dict of
    Python ints would take about 100 bytes an id); larger ids, rare, go to a dict."""

    REACH = 1 << 22

    def __init__(self) -> None:
        self._lines = array("I")
        self._beyond: dict[int, int] = {}

    def first_line(self, person_id: int, line: int) -> int:
        """The line `person_id` was first seen on; `line` (and remembered) if never before."""
        if person_id >= self.REACH or line >= 1 << 32:
            return self._beyond.setdefault(person_id, line)
        if person_id >= len(self._lines):
            size = min(max(person_id + 1, 2 * len(self._lines)), self.REACH)
            self._lines.frombytes(bytes(self._lines.itemsize * (size - len(self._lines))))
        earlier = self._lines[person_id]
        if earlier:
            return earlier
        self._lines[person_id] = line
        return line


def parse_row(config: Config, number: int, header: Sequence[str], cells: list[str]) -> ImportRow:
    cells = [c.strip() for c in cells]
    if not any(cells):
        return ImportRow(number, None, outcome="skipped", reason="empty line")
    if len(cells) > len(header):
        # Excel pads rows with trailing separators; only cells beyond the header that hold
        # something make the row wrong.
        if any(cells[len(header) :]):
            return ImportRow(
                number, None, outcome="failed",
                reason=f"expected {len(header)} columns as in the header, found {len(cells)}",
            )  # fmt: skip
        cells = cells[: len(header)]
    values = dict(zip(header, cells, strict=False))
    raw_id, raw_status = values.get("person_id", ""), values.get("status", "")
    try:
        person_id = int(raw_id)
        if person_id <= 0:
            raise ValueError
    except ValueError:
        return ImportRow(number, None, None, raw_status or None, "failed",
                         f"person_id {raw_id!r} is not a positive whole number")  # fmt: skip
    if not raw_status:
        return ImportRow(number, None, person_id, None, "skipped", "no status given")
    move_date = None
    if values.get("date"):
        try:
            move_date = date.fromisoformat(values["date"])
        except ValueError:
            return ImportRow(number, None, person_id, raw_status, "failed",
                             f"date {values['date']!r} is not a date as YYYY-MM-DD")  # fmt: skip
    try:
        change = make_change(config, person_id, raw_status, values.get("moved_to"), move_date)
    except UsageError as exc:
        return ImportRow(number, None, person_id, raw_status, "failed", str(exc))
    return ImportRow(number, change, person_id, change.status)


def run_import(
    client: PersonClient, config: Config, rows: Iterable[ImportRow], *, dry_run: bool = False
) -> Iterator[ImportResult]:
    """Apply each usable row through the same logic as `status set`; one result per row."""
    for row in rows:
        if row.change is None:
            yield ImportResult(row.line, row.person_id, row.status, row.outcome or "failed",
                               row.reason)  # fmt: skip
            continue
        result = set_status(client, config, row.change, dry_run=dry_run)
        yield ImportResult(row.line, row.person_id, row.status, result.outcome, result.reason)


def summarize(results: Iterable[ImportResult]) -> ImportSummary:
    summary = ImportSummary()
    for result in results:
        summary.add(result.outcome)
    return summary


# ---------------------------------------------------------------- review


def review_file(data_dir: Path, area: str) -> Path:
    """Where a review of `area` (a municipality or "region") remembers how far it got."""
    slug = area.casefold().translate(str.maketrans("åäö", "aao"))
    return data_dir / "review" / f"{slug}.json"


def review_position(path: Path) -> int:
    """The last person id reviewed (0: start from the beginning). A damaged file restarts."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["done_through"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def save_review_position(path: Path, area: str, person_id: int) -> None:
    """Written after every person, whole or not at all, so a stop anywhere loses nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps({"area": area, "done_through": person_id}))


def still_to_review(items: Iterable[StatusItem], done_through: int) -> list[StatusItem]:
    """The persons after the last one reviewed, by id (ids only grow, so new ones come last)."""
    return [i for i in sorted(items, key=lambda i: i.person_id) if i.person_id > done_through]
