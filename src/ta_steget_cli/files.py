"""Files the tool writes: whole or not at all, UTF-8 whatever the locale, and owner-only when
they hold personal data or secrets (plans, backups, journals, mails, the ticket cache).

Owner-only means mode 0600 where files have POSIX modes (Linux, macOS). Windows has no such modes:
`os.chmod` there only sets the read-only flag, so privacy comes from the folder instead; the
tool's folders are under the user's own profile (%LOCALAPPDATA%), which Windows gives the user
alone by its access lists. A file written elsewhere on Windows has that folder's access list.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .errors import UsageError
from .i18n import _

PRIVATE = 0o600
# Whether file modes mean anything here (not on Windows; os.fchmod is missing there before 3.13).
POSIX_PERMISSIONS = os.name == "posix" and hasattr(os, "fchmod")


def make_private(path: Path) -> None:
    """Owner read and write only, where the platform has modes (see the module's note)."""
    if POSIX_PERMISSIONS:
        os.chmod(path, PRIVATE)


def _target(path: Path) -> tuple[Path, Path]:
    """`path` and its folder, or a UsageError saying why nothing can be written there."""
    path = path.expanduser()
    if not str(path) or path.is_dir():
        raise UsageError(
            _("{path}: is a folder; expected a file name").format(path=str(path) or "(empty)")
        )
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        text = _("{path}: the folder {folder} does not exist")
        raise UsageError(text.format(path=path, folder=directory))
    return path, directory


def _temporary(path: Path, directory: Path) -> tuple[int, str]:
    try:
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(
            _("{path}: cannot write in the folder {folder} ({reason})").format(
                path=path, folder=directory, reason=exc.strerror
            )
        ) from None


def write_atomically(
    path: Path, data: str | bytes, *, private: bool = False, sync: bool = False
) -> None:
    """Replace `path` with `data` in one step: a crash never leaves half a file behind.

    `private` makes the file 0600 from its first byte (never readable by others for an instant);
    `sync` flushes it to disk before it replaces the old one.
    """
    path, directory = _target(path)
    fd, tmp = _temporary(path, directory)
    try:
        if private:
            make_private(Path(tmp))  # mkstemp made it 0600 already; say so, not rely on it
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def replaced_when_done(path: Path) -> Iterator[TextIO]:
    """A text file written as results come, which replaces `path` when the block ends however
    it ends (a stop part-way keeps the rows that were done: they happened). Until then `path`
    is untouched, and a crash before the end leaves only a hidden temporary file."""
    path, directory = _target(path)
    fd, tmp = _temporary(path, directory)
    handle = os.fdopen(fd, "w", encoding="utf-8", newline="")
    try:
        yield handle
    finally:
        handle.close()
        os.replace(tmp, path)
