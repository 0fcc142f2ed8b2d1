"""Secrets in the operating system's keyring: a person's login and the secrets cron needs.

Windows Credential Manager, the macOS Keychain or the Secret Service on Linux, through `keyring`,
which honours `PYTHON_KEYRING_BACKEND` (tests and headless servers choose a backend with it).
The refresh and access tokens are separate entries: Windows keeps at most 2,560 bytes in one.
What is not secret about a login (tenant, WebAPI address, associate id, administrator or not)
sits in a small JSON file beside the config, so `whoami` can say who you are without a network.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .files import write_atomically
from .models import Identity, Session

SERVICE = "tasteget"


def _keyring() -> Any:
    import keyring  # imported when used: finding a backend costs time every command need not pay

    return keyring


def _errors() -> tuple[type[BaseException], ...]:
    from keyring.errors import KeyringError

    return (KeyringError, RuntimeError)


def get_secret(name: str) -> str | None:
    """A secret kept with `tasteget secrets set`, or None (also when there is no keyring)."""
    try:
        value = _keyring().get_password(SERVICE, name)
    except _errors():
        return None
    return value or None


def set_secret(name: str, value: str) -> None:
    try:
        _keyring().set_password(SERVICE, name, value)
    except _errors() as exc:
        raise ConfigError(_no_keyring(exc)) from None


def delete_secret(name: str) -> bool:
    """Forgets a secret; False when there was none."""
    try:
        _keyring().delete_password(SERVICE, name)
    except _errors() as exc:
        from keyring.errors import PasswordDeleteError

        if isinstance(exc, PasswordDeleteError):
            return False
        raise ConfigError(_no_keyring(exc)) from None
    return True


def _no_keyring(exc: BaseException) -> str:
    return (
        f"the operating system's keyring cannot be used ({type(exc).__name__}: {exc}); "
        "set PYTHON_KEYRING_BACKEND, or use environment variables"
    )


# ---------------------------------------------------------------- a person's login


class LoginStore:
    """Where one login (login host + app) is kept: tokens in the keyring, identity in a file."""

    def __init__(self, identity_file: Path, owner: str) -> None:
        self.identity_file = identity_file
        self.owner = owner  # login host and client id: a session from elsewhere is not ours

    def load(self) -> Session | None:
        identity = self._identity()
        if identity is None:
            return None
        refresh = get_secret(self._entry("refresh"))
        if refresh is None:
            return None
        access = get_secret(self._entry("access")) or ""
        expires = float(self._stored().get("expires_at", 0)) if access else 0.0
        return Session(access, expires, refresh, identity)

    def save(self, session: Session) -> None:
        set_secret(self._entry("refresh"), session.refresh_token)
        set_secret(self._entry("access"), session.access_token)
        data = {
            "owner": self.owner,
            "expires_at": session.expires_at,
            "identity": asdict(session.identity),
        }
        self.identity_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.identity_file, json.dumps(data, indent=2), private=True)

    def forget(self) -> Session | None:
        """Forgets the login; answers what was kept so the caller can revoke it."""
        session = self.load()
        for kind in ("refresh", "access"):
            with contextlib.suppress(ConfigError):
                delete_secret(self._entry(kind))
        with contextlib.suppress(FileNotFoundError):
            self.identity_file.unlink()
        return session

    def _entry(self, kind: str) -> str:
        return f"login:{kind}:{self.owner}"

    def _stored(self) -> dict[str, Any]:
        try:
            data = json.loads(self.identity_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) and data.get("owner") == self.owner else {}

    def _identity(self) -> Identity | None:
        raw = self._stored().get("identity")
        if not isinstance(raw, dict):
            return None
        try:
            return Identity(**raw)
        except TypeError:
            return None
