"""`doctor --probe --record FILE`: the shapes of SuperOffice's answers, without personal data.

Every exchange the probe makes is kept as the request (method, path, parameters) and the answer
(status, the headers that matter, the body) with every personal text replaced by a placeholder
of the same kind: an e-mail address by another address, a phone number by zeros, a name by
letters, a user's login by `USER1`, ... Encoded values (`[I:…]`, `[DT:…]`), multi-language
strings, dates, ids, numbers and booleans keep their form, since they are what a maintainer
needs to reproduce a tenant's behaviour in the sandbox (`sandbox/replay.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import write_atomically

FORMAT = "tasteget-probe-recording/1"
KEPT_HEADERS = ("content-type", "retry-after", "allow")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s\-()/.]{5,}$")
_ENCODED = re.compile(r"^\[(B|DT|D|F|I|M|T):.*\]$", re.DOTALL)
_ISO = re.compile(r"^\d{4}-\d\d-\d\d(T[\d:.]+)?Z?$")
_MULTI = re.compile(r'^([A-Za-z]{2}:"[^"]*";?)+$')
_SYSTEM_LOGIN = re.compile(r"^sysCust\d+$", re.IGNORECASE)
# Keys whose values are not personal: ids, kinds, keys of SuperOffice's own vocabularies.
_KEPT_KEYS = frozenset(
    {
        "EntityName", "PrimaryKey", "ConsentPurposeKey", "LegalBaseKey", "ConsentSourceKey",
        "ErrorType", "Type", "FieldType", "ProgId", "MdoListName", "Justification",
        "ContextIdentifier", "State", "odata.metadata", "odata.nextLink", "Mask", "UserType",
        "recordType",
    }
)  # fmt: skip


@dataclass
class Recording:
    """The probe's exchanges, scrubbed as they come."""

    exchanges: list[dict[str, Any]] = field(default_factory=list)
    _logins: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        json_body: Any,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        try:
            parsed: Any = json.loads(body) if body else None
            kind = "json"
        except ValueError:
            parsed, kind = None, "text" if body else "empty"
        self.exchanges.append(
            {
                "method": method,
                "path": path,
                "params": dict(params or {}),
                "form": dict(form or {}),
                "json": json_body,
                "status": status,
                "headers": {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
                "body_kind": kind,
                "body": self.scrub(parsed),
            }
        )

    def scrub(self, value: Any, key: str = "") -> Any:
        """The value with every personal text replaced by a placeholder of the same kind."""
        if isinstance(value, dict):
            return {k: self.scrub(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v, key) for v in value]
        if not isinstance(value, str) or key in _KEPT_KEYS:
            return value
        return self.placeholder(value, key)

    def placeholder(self, text: str, key: str) -> str:
        stripped = text.strip()
        if not stripped or _ENCODED.match(stripped) or _ISO.match(stripped):
            return text
        if _MULTI.match(stripped):
            return text  # a list text an administrator entered in several languages
        if key.lower() in ("registeredby", "username", "name") and " " not in stripped:
            return self.login(stripped) if key.lower() != "name" else _letters(stripped)
        if _EMAIL.match(stripped):
            return f"person{len(stripped)}@example.invalid"
        if _PHONE.match(stripped) and any(c.isdigit() for c in stripped):
            return re.sub(r"\d", "0", stripped)
        return _letters(stripped)

    def login(self, login: str) -> str:
        if _SYSTEM_LOGIN.match(login):
            return login  # a system login names no person, and ignore_registered_by needs it
        return self._logins.setdefault(login, f"USER{len(self._logins) + 1}")

    def document(self) -> dict[str, Any]:
        return {"format": FORMAT, "exchanges": self.exchanges}

    def write(self, path: Path) -> None:
        text = json.dumps(self.document(), ensure_ascii=False, indent=1, sort_keys=True)
        write_atomically(path, text + "\n")


def _letters(text: str) -> str:
    """Letters for letters, keeping length, spaces and punctuation: a name's shape, not a name."""
    return re.sub(r"[^\W\d_]", "x", text)
