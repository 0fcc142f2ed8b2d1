"""Files the tool writes: whole or not at all, and owner-only when they hold personal data or
secrets (plans, backups, journals, mails, the ticket cache)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UsageError

PRIVATE = 0o600


def write_atomically(
    path: Path, data: str | bytes, *, private: bool = False, sync: bool = False
) -> None:
    """Replace `path` with `data` in one step: a crash never leaves half a file behind.

    `private` makes the file 0600 from its first byte (never readable by others for an instant);
    `sync` flushes it to disk before it replaces the old one.
    """
    path = path.expanduser()
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"{path}: the folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        if private:
            os.fchmod(fd, PRIVATE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
