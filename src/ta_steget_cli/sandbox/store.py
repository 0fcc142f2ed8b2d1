"""The `--sandbox` tenant's state between commands, so that it can be trained in.

A tenant is rebuilt from its seed for every command (that is cheap and deterministic); what the
commands changed since it was first made is kept in one JSON-lines file beside it: a header that
says which tenant (seed, size, the day it was laid out around, a fingerprint of the generated
people), then one line per change, appended and flushed as it happens, like a real tenant's
database: a person's stored fields after a write, delete or undelete, or an activity added.
Loading replays the lines. A line cut short by a crash is ignored; a file for another build of
the generator (fingerprint differs) is started over.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from .records import PERSON_FIELDS, Activity, decode
from .tenant import SandboxTenant

STATE_FILE = "tenant.jsonl"
FORMAT = 1


def fingerprint(tenant: SandboxTenant) -> str:
    """What identifies the generated people: ids, names, registration times, activity counts."""
    digest = hashlib.sha256()
    for person in tenant.persons():
        line = f"{person.id}|{person.full_name}|{person.registered}|{len(person.activities)}\n"
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()[:32]


class TenantStore:
    """The folder that holds the `--sandbox` tenant's state (made on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / STATE_FILE
        self.started_over = False  # a state file was there but could not be used

    def exists(self) -> bool:
        return self.path.exists()

    def load(self, persons: int, seed: int, today: date) -> SandboxTenant:
        """The stored tenant with every change replayed, or a new one laid out around `today`.

        Every change made to the returned tenant is appended to the state file."""
        header, lines = self._read()
        if header is not None:
            tenant = SandboxTenant(
                persons=int(header["persons"]),
                seed=int(header["seed"]),
                today=date.fromisoformat(header["today"]),
            )
            if fingerprint(tenant) == header.get("fingerprint"):
                for line in lines:
                    _replay(tenant, line)
                tenant.recorder = self._append
                return tenant
            self.started_over = True
        if self.started_over and self.path.exists():
            # Kept beside it, not deleted: the next change starts a new file.
            self.path.replace(self.path.with_suffix(".old"))
        tenant = SandboxTenant(persons=persons, seed=seed, today=today)
        head = {
            "format": FORMAT,
            "seed": seed,
            "persons": persons,
            "today": tenant.today.isoformat(),
            "fingerprint": fingerprint(tenant),
        }

        # Written on first use, so that the day it is laid out around stays fixed.
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(head) + "\n", encoding="utf-8")
        tmp.replace(self.path)
        tenant.recorder = self._append
        return tenant

    def reset(self) -> bool:
        """Remove the folder (the tenant and everything done in it); False if there was none."""
        if not self.folder.exists():
            return False
        shutil.rmtree(self.folder)
        return True

    def _read(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, []
        except (OSError, UnicodeDecodeError):
            self.started_over = True
            return None, []
        rows: list[dict[str, Any]] = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: the change never finished
            if isinstance(row, dict):
                rows.append(row)
        if not rows or rows[0].get("format") != FORMAT or "fingerprint" not in rows[0]:
            self.started_over = self.path.exists()
            return None, []
        return rows[0], rows[1:]

    def _append(self, line: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
            file.flush()


def _replay(tenant: SandboxTenant, line: dict[str, Any]) -> None:
    try:
        if "person" in line and "fields" in line:
            person = tenant.person(int(line["person"]))
            for name, value in line["fields"].items():
                if name in PERSON_FIELDS:
                    setattr(person, name, decode(value))
        elif "activity" in line:
            person = tenant.person(int(line["person"]))
            user = tuple(line["user"])
            activity = Activity(
                person,
                str(line["kind"]),
                int(line["date"]),
                int(line["registered"]),
                (int(user[0]), str(user[1]), str(user[2])),
                bool(line["completed"]),
            )
            activity.id = int(line["activity"])
            person.activities.append(activity)
            tenant.next_activity_id_after(activity.id)
    except (KeyError, ValueError, TypeError, IndexError):
        return  # a line from a person the generator no longer makes: nothing to replay
