"""Helpers more than one test module needs (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

ENTRY = "from ta_steget_cli.cli import main; main()"


def most_in_one_second(moments: Sequence[float]) -> int:
    """The most moments in any closed one-second window [t, t + 1]."""
    return most_in_window(moments, 1.0)


def most_in_window(moments: Sequence[float], seconds: float) -> int:
    """The most moments in any closed window [t, t + seconds]."""
    ordered = sorted(moments)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] > seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def start_cli(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    """The CLI started in a process of its own, for a test that signals it part-way: stdout and
    stderr are text pipes, unbuffered so that each line can be read as it is written (the test
    waits for a line, not for a time, before it sends the signal). Read on with the process's
    own pipes after a readline(): communicate() would miss what readline() already took."""
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
    )


class HeldAnswers:
    """The sandbox holding back its answers to the requests `holds(method, path)` picks, until
    `release()`: the test knows that those requests are under way and unanswered."""

    def __init__(self, tenant: Any, holds: Callable[[str, str], bool]) -> None:
        self.held = 0
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._request = threading.local()
        take, delay = tenant.faults.take, tenant.answer_delay

        def noted(path: str, *, is_api: bool, is_archive: bool, method: str = "GET") -> Any:
            self._request.seen = (method, path)  # on the thread answering this request
            return take(path, is_api=is_api, is_archive=is_archive, method=method)

        def held_back() -> float:
            if not self._released.is_set() and holds(*self._request.seen):
                with self._changed:
                    self.held += 1
                    self._changed.notify_all()
                self._released.wait()
            return delay()

        tenant.faults.take = noted  # type: ignore[method-assign]
        tenant.answer_delay = held_back  # type: ignore[method-assign]

    def wait_for(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.held >= count, timeout=120), self.held

    def release(self) -> None:
        self._released.set()


def run_on_a_terminal(
    args: Sequence[str], *, terminal: str, env: Mapping[str, str], cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """The CLI with `terminal` ("stdout" or "stderr") on a pseudo-terminal and the other stream
    to a pipe: the finished process (with the piped stream's bytes) and what the terminal
    showed. POSIX only: skips where there is no `pty` (Windows)."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, terminal: slave}
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *args],
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        cwd=cwd,
        **streams,
    )
    os.close(slave)
    shown = _read_until_closed(master)
    out, err = process.communicate(timeout=120)
    os.close(master)
    done = subprocess.CompletedProcess(process.args, process.returncode, out or b"", err or b"")
    return done, shown


def _read_until_closed(master: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # Linux: EIO once the last writer has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")
