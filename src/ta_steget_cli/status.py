"""Move status, written: `status set`, `status import` and where the review left off (the list
is read in `status_list`).

An import reads its rows' current values through the register (ids filtered per status item,
never display texts; `status_batch`). Writing is one GET and at most one PATCH per person: the
PATCH carries a `test` on `UpdatedDate`, so a change someone else made between our read and our
write is reported, never overwritten.
"""

from __future__ import annotations

import csv
import json
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from .config import Config
from .errors import Conflict, Forbidden, NotFound, UsageError
from .files import write_atomically
from .i18n import _
from .import_file import delimiter_of as delimiter_of
from .import_file import import_lines as import_lines
from .move_status import (
    StatusChange,
    current_status,
    make_change,
    wanted_fields,
)
from .status_batch import HeldValues, already_held, batches, side_by_side
from .status_words import StatusNames, contradiction_reason, contradictions, status_word
from .superoffice.values import same_value

OUTCOMES = ("set", "would_set", "unchanged", "skipped", "failed")
IMPORT_COLUMNS = ("person_id", "status", "moved_to", "date")
# What a column of an import file may be called: its key, or its heading in `status list`'s
# table or workbook (Swedish or English), so that a list can be edited and imported back.
COLUMN_NAMES: Mapping[str, tuple[str, ...]] = {
    "person_id": ("person_id", "id", "personid"),
    "status": ("status", "flyttstatus", "move status"),
    "moved_to": ("moved_to", "flyttat till", "moved to"),
    "date": ("date", "move_date", "flyttdatum", "move date"),
}
# Columns of `status list` that an import reads past: they are there for the reader.
LIST_ONLY_COLUMNS = (
    "name", "namn", "registered", "registrerad", "kommuner", "municipalities",
    "last_activity", "senaste aktivitet", "last activity",
)  # fmt: skip


class PersonClient(Protocol):
    """What setting a status needs of the SuperOffice client."""

    def get_person(self, person_id: int) -> dict[str, Any]: ...

    def write_custom_fields(
        self, person_id: int, entity: dict[str, Any], fields: dict[str, str]
    ) -> dict[str, Any]: ...


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
        return SetResult(pid, "failed", _("no person with this id"), change.status)
    except Forbidden:
        return SetResult(pid, "failed", _("no right to read this person"), change.status)
    diff = changes_needed(entity, wanted)
    if not diff:
        return SetResult(pid, "unchanged", None, change.status)
    if dry_run:
        return SetResult(pid, "would_set", None, change.status, tuple(diff))
    try:
        # Only the fields that differ, and only if nobody changed the person since our read.
        client.write_custom_fields(pid, entity, diff)
    except Conflict as exc:
        lost = tuple(diff) if exc.after_retry else ()
        return after_conflict(client, config, change, wanted, lost)
    except NotFound:
        return SetResult(pid, "failed", _("the person was deleted before the write"), change.status)
    except Forbidden:
        return SetResult(pid, "failed", _("no right to change this person"), change.status)
    return SetResult(pid, "set", None, change.status, tuple(diff))


def after_conflict(
    client: PersonClient,
    config: Config,
    change: StatusChange,
    wanted: Mapping[str, str],
    lost: tuple[str, ...] = (),
) -> SetResult:
    """Someone changed the person between our read and write: re-read and tell what is there.
    `lost`: the fields of a write whose first answer was lost and whose retry met the conflict,
    which may then be our own first write, committed."""
    pid = change.person_id
    try:
        entity = client.get_person(pid)
    except NotFound:
        return SetResult(pid, "failed", _("the person was deleted by someone else"), change.status)
    if lost and not changes_needed(entity, wanted):
        # The tenant holds our values: our write went through; only its answer was lost.
        why = _("the first answer was lost; read back, the person holds the new values")
        return SetResult(pid, "set", why, change.status, lost)
    if not changes_needed(entity, wanted):
        # The other change already set what we wanted: nothing was lost.
        return SetResult(pid, "unchanged", None, change.status)
    now = status_word(current_status(config, entity)) or "-"
    reason = _(
        "changed by someone else since it was read (updated {updated}, status now {now}); "
        "not overwritten, run again to apply"
    ).format(updated=entity.get("UpdatedDate"), now=now)
    return SetResult(pid, "failed", reason, change.status, conflict=True)


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


@dataclass(frozen=True, slots=True)
class ImportChecks:
    """How rows are read beyond their syntax: the status names (the tenant's too), and, with
    `as_of`, whether a row that contradicts itself is skipped (unless `confirmed`)."""

    names: StatusNames | None = None
    as_of: date | None = None
    confirmed: bool = False


def parse_import(
    config: Config,
    lines: Iterable[str] | str,
    source: str = "file",
    checks: ImportChecks | None = None,
) -> Iterator[ImportRow]:
    """Every line after the header as an ImportRow, read as it is needed (a file of any size
    in flat memory). The header is read at once: a missing, wrong or repeated column is a usage
    error before anything is done. The header is `person_id,status[,moved_to,date]`, or the
    headings of a file written by `status list` (its other columns are read past)."""
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
            _("{source}: the file is empty; expected a header {header}").format(
                source=source, header=",".join(IMPORT_COLUMNS)
            )
        )
    delimiter = delimiter_of(text)
    header = import_header(_header_cells(text, delimiter, source, number))
    if "person_id" not in header or "status" not in header:
        raise UsageError(
            _(
                "{source}: line {line} must be the header person_id,status[,moved_to,date] "
                "(comma or semicolon separated; a file written by status list also works); "
                "found {found!r}"
            ).format(source=source, line=number, found=text.strip())
        )
    repeated = next((h for i, h in enumerate(header) if h and h in header[:i]), None)
    if repeated is not None:
        raise UsageError(
            _(
                "{source}: line {line}: the column {column} appears twice in the header; "
                "expected each column once"
            ).format(source=source, line=number, column=repeated)
        )
    return _rows(config, lines, delimiter, header, (source, number), checks or ImportChecks())


def import_header(cells: Sequence[str]) -> list[str | None]:
    """Each header cell's column key; None for a column of `status list` that is read past.
    Empty when a cell is neither (the caller says what the header must be)."""
    out: list[str | None] = []
    for cell in cells:
        key = next((k for k, names in COLUMN_NAMES.items() if cell in names), None)
        if key is None and cell not in LIST_ONLY_COLUMNS:
            return []
        out.append(key)
    return out


def _header_cells(text: str, delimiter: str, source: str, number: int) -> list[str]:
    """The header's column names; a header the csv module cannot read is a usage error too."""
    try:
        cells = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error as exc:
        raise UsageError(f"{source}: line {number}: {exc}") from None
    return [" ".join(cell.split()).casefold() for cell in cells]


def _rows(
    config: Config,
    lines: Iterator[str],
    delimiter: str,
    header: Sequence[str | None],
    where: tuple[str, int],
    checks: ImportChecks,
) -> Iterator[ImportRow]:
    source, header_line = where
    seen = SeenIds()
    names = checks.names or StatusNames(config)
    reader = csv.reader(lines, delimiter=delimiter)
    for offset, cells in enumerate(_records(reader, source, header_line)):
        number = header_line + 1 + offset
        row = parse_row(config, number, header, cells, names)
        if row.change is not None:
            earlier = seen.first_line(row.change.person_id, number)
            if earlier != number:
                row = ImportRow(
                    number, None, row.person_id, row.status, "skipped",
                    _("person {id} is already on line {line}").format(
                        id=row.person_id, line=earlier
                    ),
                )  # fmt: skip
            elif checks.as_of is not None and not checks.confirmed:
                row = unless_contradicting(row, checks.as_of)
        yield row


def unless_contradicting(row: ImportRow, as_of: date) -> ImportRow:
    """The row, or skipped with the warning when it contradicts itself."""
    change = row.change
    if change is None:
        return row
    found = contradictions(
        change.status, change.moved_to, change.move_date, as_of, new_date=change.move_date
    )
    if not found:
        return row
    return ImportRow(
        row.line, None, row.person_id, row.status, "skipped", contradiction_reason(found)
    )


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


def parse_row(
    config: Config,
    number: int,
    header: Sequence[str | None],
    cells: list[str],
    names: StatusNames | None = None,
) -> ImportRow:
    cells = [c.strip() for c in cells]
    if not any(cells):
        return ImportRow(number, None, outcome="skipped", reason=_("empty line"))
    if len(cells) > len(header):
        # Excel pads rows with trailing separators; only cells beyond the header that hold
        # something make the row wrong.
        if any(cells[len(header) :]):
            return ImportRow(
                number, None, outcome="failed",
                reason=_("found {found} columns, expected {expected} as in the header").format(
                    found=len(cells), expected=len(header)
                ),
            )  # fmt: skip
        cells = cells[: len(header)]
    values = {k: v for k, v in zip(header, cells, strict=False) if k is not None}
    raw_id, raw_status = values.get("person_id", ""), values.get("status", "")
    try:
        person_id = int(raw_id)
        if person_id <= 0:
            raise ValueError
    except ValueError:
        return ImportRow(number, None, None, raw_status or None, "failed",
                         _("person_id {value!r} is not a positive whole number").format(
                             value=raw_id))  # fmt: skip
    if not raw_status:
        return ImportRow(number, None, person_id, None, "skipped", _("no status given"))
    move_date = None
    if values.get("date"):
        try:
            move_date = date.fromisoformat(values["date"])
        except ValueError:
            return ImportRow(number, None, person_id, raw_status, "failed",
                             _("date {value!r} is not a date as YYYY-MM-DD").format(
                                 value=values["date"]))  # fmt: skip
    try:
        change = make_change(
            config, person_id, raw_status, values.get("moved_to"), move_date, names
        )
    except UsageError as exc:
        return ImportRow(number, None, person_id, raw_status, "failed", str(exc))
    return ImportRow(number, change, person_id, change.status)


def run_import(
    client: PersonClient,
    config: Config,
    rows: Iterable[ImportRow],
    *,
    dry_run: bool = False,
    held: HeldValues | None = None,
    workers: int = 1,
    batch_size: Callable[[], int] = lambda: 1,
) -> Generator[ImportResult, None, None]:
    """Apply each usable row through the same logic as `status set`; one result per row, in
    the file's order, each given as soon as it and those before it are done.

    The rows come `batch_size()` at a time. With `held` (the register), a batch's persons are
    first asked through the archive which already hold every value their row asks for: those
    rows are unchanged without a request of their own. Only the others are read and written,
    on up to `workers` threads; a person the archive does not return is read as before."""
    for batch in batches(rows, batch_size):
        changes = [row.change for row in batch if row.change is not None]
        unchanged = already_held(held, changes, workers) if held and changes else set()
        write = partial(_write_row, client, config, dry_run)
        yield from side_by_side(write, batch, workers, partial(_settled, unchanged))


def _settled(unchanged: set[int], row: ImportRow) -> ImportResult | None:
    """A row's result when it needs no request: a line that cannot be used, or a person who
    already holds what it asks for. None: the person must be read (and maybe written)."""
    if row.change is None:
        return ImportResult(row.line, row.person_id, row.status, row.outcome or "failed",
                            row.reason)  # fmt: skip
    if row.change.person_id in unchanged:
        return ImportResult(row.line, row.person_id, row.status, "unchanged")
    return None


def _write_row(client: PersonClient, config: Config, dry_run: bool, row: ImportRow) -> ImportResult:
    assert row.change is not None  # _settled answered the rows without a change
    result = set_status(client, config, row.change, dry_run=dry_run)
    return ImportResult(row.line, row.person_id, row.status, result.outcome, result.reason)


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
