"""A run's secrets (from the environment, the secrets file a config may point to, or the
keyring), and what a secret must look like to be sent."""

from __future__ import annotations

import dataclasses as dc
import stat
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .files import POSIX_PERMISSIONS
from .i18n import _

SECRET_NAMES = (
    "TASTEGET_TICKET",
    "TASTEGET_APP_TOKEN",
    "TASTEGET_SYSTEM_TOKEN",
    "TASTEGET_PRIVATE_KEY_FILE",
    "TASTEGET_ACCESS_TOKEN",
    "TASTEGET_USERNAME",
    "TASTEGET_PASSWORD",
    "TASTEGET_SMTP_PASSWORD",
)
# Secrets that travel in HTTP headers, which carry ASCII only: anything else is a copy-paste
# accident (a curly quote, a line break) that no retry will mend.
HEADER_SECRETS = (
    "TASTEGET_TICKET",
    "TASTEGET_APP_TOKEN",
    "TASTEGET_SYSTEM_TOKEN",
    "TASTEGET_ACCESS_TOKEN",
)


def check_header_secret(name: str, value: str) -> None:
    """A ticket or token goes into an HTTP header as it is: one word of printable ASCII. Anything
    else (a line end or space copied along, a curly quote) can never be sent, and no retry mends
    that: a ConfigError (exit 2) says so at once, naming the variable, never the value."""
    if value != value.strip():
        text = _edge_text(value)
    elif not value.isascii():
        text = _(
            "{name} contains a character that is not ASCII (a curly quote or a letter like å?); "
            "expected the value exactly as SuperOffice issued it"
        )
    elif any(unicodedata.category(c) == "Cc" for c in value):
        text = _(
            "{name} contains a control character (a line break?); expected the value exactly "
            "as SuperOffice issued it"
        )
    elif any(c.isspace() for c in value):
        text = _("{name} contains a space; a ticket or token is one word: copy it again")
    else:
        return
    raise ConfigError(text.format(name=name))


def _edge_text(value: str) -> str:
    """What is stuck to the start or end of a secret, in a whole sentence per case."""
    trailing = value.rstrip() != value
    edge = value[-1] if trailing else value[0]
    if edge in "\r\n":
        if trailing:
            return _("{name} ends with a line break; remove it (a ticket or token is one word)")
        return _("{name} begins with a line break; remove it (a ticket or token is one word)")
    if trailing:
        return _("{name} ends with a space or tab; remove it (a ticket or token is one word)")
    return _("{name} begins with a space or tab; remove it (a ticket or token is one word)")


def read_secrets_file(path: Path, names: Sequence[str]) -> dict[str, str]:
    """NAME=value lines, NAME among `names`; the file must be readable by its owner only."""
    try:
        mode = path.stat().st_mode
    except OSError:
        text = _("{path}: secrets_file does not exist or cannot be read")
        raise ConfigError(text.format(path=path)) from None
    # Windows reports every file as 0666 (no modes; its access lists guard the profile), so the
    # check is for POSIX systems only; files.py says where privacy comes from there.
    if POSIX_PERMISSIONS and mode & (stat.S_IRWXG | stat.S_IRWXO):
        text = _(
            "{path}: secrets_file is readable by others (mode {mode}); expected 600: "
            "run chmod 600 {path}"
        )
        raise ConfigError(text.format(path=path, mode=f"{stat.S_IMODE(mode):o}"))
    out: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or name not in names:
            text = _("{path}:{number}: found a line that is not NAME=value with NAME among {names}")
            raise ConfigError(text.format(path=path, number=number, names=", ".join(names)))
        out[name] = _unquoted(value.strip())
    return out


def _unquoted(value: str) -> str:
    """NAME="value" as in a shell or .env file: the quotes are not part of the secret."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


@dataclass(frozen=True)
class Secrets:
    """Secrets from the environment and the secrets_file, and from the keyring when one is
    asked for that neither holds. `repr` never shows values."""

    values: Mapping[str, str] = dc.field(default_factory=dict, repr=False)
    # Asked only for a name the run needs: finding the keyring's backend costs ~0.15 s and a
    # locked keyring may ask the person to unlock it, for secrets this command never uses.
    keyring: Callable[[str], str | None] | None = dc.field(default=None, repr=False, compare=False)
    _kept: dict[str, str | None] = dc.field(default_factory=dict, repr=False, compare=False)

    def get(self, name: str) -> str | None:
        value = self.values.get(name) or self._from_keyring(name)
        return value or None

    def require(self, name: str, why: str) -> str:
        value = self.get(name)
        if not value:
            text = _("{name} is not set in the environment; {why} needs it")
            raise ConfigError(text.format(name=name, why=why))
        return value

    def all_values(self) -> list[str]:
        """Every secret value known so far (the keyring's once asked for), for redaction."""
        known = [*self.values.values(), *self._kept.values()]
        return [v for v in known if v]

    def _from_keyring(self, name: str) -> str | None:
        if self.keyring is None or name not in SECRET_NAMES:
            return None
        if name not in self._kept:
            value = self.keyring(name)
            if value and name in HEADER_SECRETS:
                check_header_secret(name, value)
            self._kept[name] = value
        return self._kept[name]
