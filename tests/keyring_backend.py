"""A keyring backend for tests, chosen with PYTHON_KEYRING_BACKEND (keyring's own mechanism).

It keeps entries in the JSON file named by TASTEGET_TEST_KEYRING, so a login made by one
process is seen by the next, as with the real keychain, and no test touches the real one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError, PasswordSetError

BACKEND = "tests.keyring_backend.FileKeyring"


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path | None:
        # Unset outside a test's own scope (module fixtures): then the keyring is empty.
        name = os.environ.get("TASTEGET_TEST_KEYRING")
        return Path(name) if name else None

    def _entries(self) -> dict[str, str]:
        if self._path is None:
            return {}
        try:
            return dict(json.loads(self._path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    def _write(self, entries: dict[str, str]) -> None:
        if self._path is None:
            raise PasswordSetError("no test keyring outside a test (TASTEGET_TEST_KEYRING)")
        self._path.write_text(json.dumps(entries), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._entries()
        entries[f"{service}/{username}"] = password
        self._write(entries)

    def delete_password(self, service: str, username: str) -> None:
        entries = self._entries()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such entry")
        self._write(entries)
