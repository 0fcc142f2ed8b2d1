"""The purge's files: the plan, the journal and the backup.

All three are created readable by the owner only (0600): the backup holds whole person records of
people who were meant to be forgotten, and the plan and journal say who they were. The journal and
the backup are JSON lines, appended and synced to disk line by line, so that a crash loses at
most the step in flight, and that step is always re-checked on the next run.

The plan's checksum is a SHA-256 over its canonical content. It catches a plan that was edited or
damaged since it was made; it is not a signature (anyone who can edit the file can recompute it),
which is why every person is checked against the rule again before the delete anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import warnings
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

with warnings.catch_warnings():
    # filelock warns when neither fcntl nor msvcrt can be imported (only a simulated Windows in
    # the tests): its soft lock, a lock file that exists while held, still keeps a second purge
    # out, and the warning would be the first line of every command.
    warnings.simplefilter("ignore", UserWarning)
    import filelock

from .errors import TastegetError, UsageError
from .files import PRIVATE, make_private, write_atomically
from .i18n import _

PLAN_FORMAT = "tasteget-purge-plan/1"

# Journal steps. An `intent` is written after the backup line and before the DELETE; an intent
# without an outcome means "the delete may or may not have happened": re-check on the next run.
INTENT = "intent"
DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"
UNDONE = "undone"
UNDO_FAILED = "undo_failed"
# Outcomes after which `--plan` never touches the person again.
FINAL = frozenset({DONE, SKIPPED, UNDONE})


# ---------------------------------------------------------------- private files


def ensure_private_dir(directory: Path) -> Path:
    directory = directory.expanduser()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def write_private(path: Path, text: str | bytes) -> None:
    """The whole file or nothing, 0600 from the first byte, on disk before it counts."""
    write_atomically(path, text, private=True, sync=True)


def open_append_private(path: Path) -> BinaryIO:
    """An unbuffered append handle on `path`, created 0600 if new.

    Unbuffered, so that a failed write leaves nothing behind in a buffer to be written later
    (after a full disk has been freed, say) onto whatever comes next."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
    make_private(path)  # an older file with looser rights is tightened, not trusted
    return os.fdopen(fd, "ab", buffering=0)


_APPENDING = threading.RLock()  # re-entered by Backup.write around its read-back
# Handles that a failed write left ending in a torn line (cutting it off failed too, as on a full
# disk): nothing more is appended to them, or the next line, another purge worker's, would be
# glued to the torn one and lost with it (an intent lost so: a deleted person no undo knows of).
# The next run's open moves the torn tail aside (repair_torn_tail).
_TORN: weakref.WeakKeyDictionary[BinaryIO, OSError] = weakref.WeakKeyDictionary()


def encode_line(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def append_synced(handle: BinaryIO, record: Mapping[str, Any]) -> int:
    """One JSON line, on disk before this returns (fsync); answers where the line begins.

    A write that fails half-way (a full disk) is cut off again where it began, so the file
    still ends in a whole line; if even that fails, the next open repairs it (repair_torn_tail)."""
    line = encode_line(record)
    fd = handle.fileno()
    # Purge workers append at once: where a line begins, and cutting a failed one off again,
    # hold only if nobody else appends in between.
    with _APPENDING:
        if (torn := _TORN.get(handle)) is not None:
            raise OSError(torn.errno, torn.strerror, torn.filename)
        start = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            try:
                os.ftruncate(fd, start)
            except OSError as exc:
                _TORN[handle] = exc
            raise
    return start


def repair_torn_tail(path: Path) -> Path | None:
    """Cuts off a torn last line (a crash or a full disk mid-write) and keeps it beside the file.

    A JSON-lines file must end in a newline before anything is appended, or the next record
    would be glued to the torn one and both would be unreadable. Answers the file the torn
    bytes were moved to, or None when the file was whole (or absent)."""
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        return None
    with handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return None
        keep = _last_newline_end(handle, size)
        handle.seek(keep)
        torn = handle.read()
        aside = _aside_name(path)
        write_private(aside, torn)  # moved aside first: nothing is lost if the cut fails
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return aside


def _last_newline_end(handle: BinaryIO, size: int) -> int:
    """The offset just past the last newline before `size` (0 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - 65536)
        handle.seek(start)
        block = handle.read(end - start)
        found = block.rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def _aside_name(path: Path) -> Path:
    """purge-KEY.backup.jsonl -> purge-KEY.backup.20261201T104500Z.torn.jsonl (pruned with it)."""
    stem = path.name.removesuffix(".jsonl")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{stem}.{stamp}.torn.jsonl")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{stem}.{stamp}-{n}.torn.jsonl")
    return candidate


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON lines of `path`; a torn last line (a crash mid-write) is ignored."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            with contextlib.suppress(json.JSONDecodeError):
                record = json.loads(line)
                if isinstance(record, dict):
                    yield record


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PlannedPerson:
    person_id: int
    updated: str | None  # the person's UpdatedDate as seen when the plan was made (UTC text)


@dataclass(frozen=True)
class Plan:
    tenant: str
    as_of: date
    created_at: datetime
    rule: Mapping[str, Any]
    persons: tuple[PlannedPerson, ...]
    checksum: str = ""
    checksum_ok: bool = True
    path: Path | None = field(default=None, compare=False)

    @property
    def ids(self) -> list[int]:
        return [p.person_id for p in self.persons]

    @property
    def cutoff(self) -> date:
        return date.fromisoformat(self.rule["cutoff"])

    @property
    def key(self) -> str:
        """Names this plan's journal, backup and report: the same plan, the same files."""
        return content_checksum(plan_content(self))[:16]


def plan_content(plan: Plan) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "tenant": plan.tenant,
        "as_of": plan.as_of.isoformat(),
        "created_at": plan.created_at.astimezone(UTC).isoformat(),
        "rule": dict(plan.rule),
        "persons": [{"id": p.person_id, "updated": p.updated} for p in plan.persons],
    }


def content_checksum(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_plan(plan: Plan, path: Path) -> Plan:
    content = plan_content(plan)
    checksum = content_checksum(content)

    # One person per line: a reviewer can read and diff it; the checksum does not depend on it.
    def item(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    lines = ["{"]
    lines += [f" {item(k)}: {item(v)}," for k, v in content.items() if k != "persons"]
    lines.append(' "persons": [')
    lines.append(",\n".join("  " + item(p) for p in content["persons"]))
    lines.append(" ],")
    lines.append(f' "checksum": "sha256:{checksum}"')
    lines.append("}")
    write_private(path, "\n".join(lines) + "\n")
    return replace(plan, checksum=checksum, path=path)


def read_plan(path: Path) -> Plan:
    """The plan at `path`; a file that is not a plan is one clear usage error."""
    try:
        document = json.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(_("--plan {path}: no such file").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        text = _("--plan {path}: cannot read it ({reason})")
        raise UsageError(text.format(path=path, reason=exc)) from None
    except json.JSONDecodeError as exc:
        text = _("--plan {path}: not a plan file (not JSON: {reason})")
        raise UsageError(text.format(path=path, reason=exc.msg)) from None
    try:
        if document.get("format") != PLAN_FORMAT:
            raise ValueError(f"format is not {PLAN_FORMAT}")
        persons = tuple(
            PlannedPerson(int(p["id"]), None if p.get("updated") is None else str(p["updated"]))
            for p in document["persons"]
        )
        plan = Plan(
            tenant=str(document["tenant"]),
            as_of=date.fromisoformat(document["as_of"]),
            created_at=_aware(datetime.fromisoformat(document["created_at"])),
            rule=dict(document["rule"]),
            persons=persons,
            path=path,
        )
        date.fromisoformat(plan.rule["cutoff"])
        stored = str(document.get("checksum", "")).removeprefix("sha256:")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        text = _("--plan {path}: not a valid plan file ({reason})")
        raise UsageError(text.format(path=path, reason=exc)) from None
    if len({p.person_id for p in persons}) != len(persons):
        text = _("--plan {path}: not a valid plan file (an id appears twice)")
        raise UsageError(text.format(path=path))
    actual = content_checksum(plan_content(plan))
    return replace(plan, checksum=stored, checksum_ok=stored == actual)


def _aware(moment: datetime) -> datetime:
    """A hand-edited time without an offset is taken as UTC, as the plan writes it."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- journal and backup


def purge_files(data_dir: Path, key: str) -> tuple[Path, Path, Path]:
    """(journal, backup, report) of the plan with this key."""
    directory = ensure_private_dir(data_dir)
    stem = f"purge-{key}"
    return (
        directory / f"{stem}.journal.jsonl",
        directory / f"{stem}.backup.jsonl",
        directory / f"{stem}.report.csv",
    )


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def lock_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".lock")


class Journal:
    """Appends steps to the journal, each synced to disk before the next action.

    A torn last line left by a crash or a full disk is moved aside on opening (`repaired`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One run per journal at a time: two runs of one plan could delete in parallel and lose
        # each other's steps. An OS lock (flock, or LockFileEx on Windows) on a file beside the
        # journal: it ends with the process, so a crash never leaves the plan locked.
        self._lock = filelock.FileLock(str(lock_path(path)), timeout=0)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            text = _(
                "{path}: another purge with this plan or journal is running; wait for it to end"
            )
            raise UsageError(text.format(path=path)) from None
        make_private(lock_path(path))  # empty, but every file in data_dir is owner-only
        try:
            self._handle = open_append_private(path)
        except BaseException:
            self._lock.release()
            raise
        try:
            self.repaired = repair_torn_tail(path)
        except BaseException:
            self._handle.close()
            self._lock.release()
            raise

    def write(self, step: str, person_id: int | None = None, **extra: Any) -> None:
        record: dict[str, Any] = {"ts": now_text(), "step": step}
        if person_id is not None:
            record["id"] = person_id
        record.update({k: v for k, v in extra.items() if v is not None})
        append_synced(self._handle, record)

    def close(self) -> None:
        self._handle.close()
        self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class History:
    """A journal folded: each person's last step, who may have been deleted, who ran it."""

    states: dict[int, dict[str, Any]]
    # A delete intent was journaled for these: whatever came after, the DELETE may have gone
    # through (an error answer after the commit, a crash), so only a read settles it.
    maybe_deleted: frozenset[int]
    tenants: tuple[str, ...]  # the tenants the purge runs of this journal deleted in

    def maybe_gone(self) -> list[int]:
        """Persons this journal's purge deleted or may have deleted, and that are not back.

        Once a delete intent is journaled the person counts as maybe deleted, whatever came
        after (a 500 after the commit, a crash, a failed read on resume): undo tries every one,
        and an Undelete of someone who was never deleted only finds them in the register."""
        return [
            pid
            for pid, state in self.states.items()
            if state.get("step") != UNDONE
            and (pid in self.maybe_deleted or bool(state.get("deleted")))
        ]


def journal_history(path: Path) -> History:
    """The journal at `path` folded (absent file: nobody)."""
    states: dict[int, dict[str, Any]] = {}
    intents: set[int] = set()
    tenants: list[str] = []
    if path.exists():
        for record in read_lines(path):
            person_id = record.get("id")
            if isinstance(person_id, int) and not isinstance(person_id, bool):
                states[person_id] = record
                if record.get("step") == INTENT:
                    intents.add(person_id)
            elif record.get("step") == "start" and isinstance(record.get("tenant"), str):
                tenants.append(record["tenant"])
    return History(states, frozenset(intents), tuple(dict.fromkeys(tenants)))


def journal_states(path: Path) -> dict[int, dict[str, Any]]:
    """The last step of each person in the journal (absent file: nobody)."""
    return journal_history(path).states


class BackupUnreadable(TastegetError):
    """A backup line did not read back as written: the delete it protects must not happen."""


class Backup:
    """Appends whole person entities, synced and read back, before they are deleted.

    Opened only while the journal's lock is held, so nobody else appends in between."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.repaired = repair_torn_tail(path)
        self._handle = open_append_private(path)

    def write(self, person_id: int, entity: Mapping[str, Any]) -> None:
        """Appends the entity, then reads the line back from the file: BackupUnreadable (and
        no delete) unless it is there whole and names this person."""
        record = {"ts": now_text(), "id": person_id, "entity": entity}
        expected = encode_line(record)
        # Nobody appends between the line and its read-back: the line must be the file's end.
        with _APPENDING:
            start = append_synced(self._handle, record)
            with self.path.open("rb") as handle:
                handle.seek(max(start - 1, 0))
                before = handle.read(1) if start else b"\n"  # the line must begin a line
                found = handle.read(len(expected) + 1)
        if before != b"\n" or found != expected or _line_id(found) != person_id:
            raise BackupUnreadable(
                _(
                    "{path}: the backup of person {id} did not read back as written; nothing "
                    "was deleted for this person; check the disk, then run the same command again"
                ).format(path=self.path, id=person_id)
            )

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Backup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _line_id(line: bytes) -> Any:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get("id") if isinstance(record, dict) else None


def backed_up_ids(path: Path) -> set[int]:
    if not path.exists():
        return set()
    return {int(r["id"]) for r in read_lines(path) if "id" in r}
