"""Progress on long reads: on a terminal, a read of more than one page says on stderr what it
is doing (pages, rows, requests, time left at the rate limit), in the user's language; nothing
when stderr is not a terminal; the services never print it (the client's observer does)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import i18n
from ta_steget_cli.cli.progress import TerminalProgress
from ta_steget_cli.sandbox import SandboxTenant
from tests.conftest import AS_OF
from tests.helpers import ENTRY, run_on_a_terminal

COMMAND = ("status", "list", "--kommun", "Krokom", "--as-of", AS_OF.isoformat(), "-f", "json")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def swedish() -> Any:
    i18n.set_language("sv")
    yield
    i18n.set_language("sv")


def test_the_line_says_pages_rows_requests_and_time_left(swedish: Any) -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream, rate=2.0, monotonic=Clock(), columns=lambda: 200)
    progress.started("PersonActivity", expected_pages=10)
    progress.page("PersonActivity", 500, requests=3)
    assert stream.getvalue() == ""  # one page: nothing to say yet
    progress.page("PersonActivity", 500, requests=4)
    line = stream.getvalue().rsplit("\r", 1)[-1]
    assert line.startswith("Läser aktiviteter: 2 sidor, 1000 aktiviteter, 4 anrop hittills")
    assert "cirka 4 s kvar med 2 anrop i sekunden" in line
    i18n.set_language("en")
    progress.page("PersonActivity", 10, requests=5)
    assert "Reading activities: 3 pages, 1010 activities, 5 requests so far" in stream.getvalue()
    progress.ended("PersonActivity")
    assert stream.getvalue().endswith("\r")  # the line is wiped before anything else prints
    narrow = io.StringIO()
    small = TerminalProgress(narrow, rate=2.0, monotonic=Clock(), columns=lambda: 40)
    small.page("Person", 50, 1)
    small.page("Person", 50, 2)
    assert len(narrow.getvalue().lstrip("\r")) == 39  # never wraps, so it can be rewritten


def run_with_stderr_on(
    tty: bool, config: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """The CLI with stdout to a pipe and stderr on a pseudo-terminal (or a pipe)."""
    if not tty:
        run = subprocess.run(
            [sys.executable, "-c", ENTRY, "--config", str(config), *COMMAND],
            capture_output=True, timeout=120, env={**os.environ, **env},
        )  # fmt: skip
        return run, run.stderr.decode()
    return run_on_a_terminal(
        ["--config", str(config), *COMMAND], terminal="stderr", env={"COLUMNS": "120", **env}
    )


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_a_long_read_shows_progress_on_a_terminal_only(sandbox_env: Any) -> None:
    env = sandbox_env(
        SandboxTenant(persons=600, seed=4, today=AS_OF), superoffice={"page_size": 50}
    )
    on_tty, shown = run_with_stderr_on(True, env.config_path, env.env)
    assert on_tty.returncode == 0, shown
    assert "Läser personer: " in shown and " sidor, " in shown and " anrop hittills" in shown
    assert on_tty.stdout.lstrip().startswith(b"[")  # stdout is the JSON alone
    piped, said = run_with_stderr_on(False, env.config_path, env.env)
    assert piped.returncode == 0, said
    assert "Läser" not in said and "sidor" not in said
    assert piped.stdout == on_tty.stdout
