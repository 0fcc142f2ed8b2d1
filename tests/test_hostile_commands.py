"""Issue 9, commands given hostile input, through the CLI against the sandbox tenant over real
HTTP: dates and periods out of range, --output and --outbox that cannot be written, a data
folder that is read-only or full (17), SMTP login in clear text (13), `notify --only Oslo` and
`--plan-out X --output X` (19)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant

from .conftest import AS_OF
from .helpers import start_cli

DAY = str(AS_OF)
NOTIFY_KROKOM = ("notify", "--dry-run", "--only", "Krokom", "--send-empty", "--as-of", DAY)


@pytest.fixture
def env(sandbox_env: Callable[..., Any]) -> Any:
    return sandbox_env(SandboxTenant(persons=40, today=AS_OF))


def one_line(result: Any, code: int = 2) -> str:
    """The run ended with `code` and one stderr line that is no internal error; that line."""
    lines = result.stderr.splitlines()
    assert result.exit_code == code, result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tasteget: ") and "internal error" not in lines[0]
    return str(lines[0])


# ---------------------------------------------------------------- 17: dates and periods


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("command", [["overdue", "--all"], ["purge", "--dry-run"], ["report"]])
def test_an_as_of_date_out_of_range_is_one_line(env: Any, day: str, command: list[str]) -> None:
    line = one_line(env.run("--lang", "en", *command, "--as-of", day))
    assert f"--as-of: found {day}, expected a date from 1990-01-01 to " in line


@pytest.mark.parametrize(("option", "value"), [("--quarter", "0000Q1"), ("--quarter", "9999Q4"),
                                                ("--year", "1")])  # fmt: skip
def test_a_report_period_out_of_range_is_one_line(env: Any, option: str, value: str) -> None:
    line = one_line(env.run("--lang", "en", "report", option, value, "--as-of", DAY))
    assert f"{option}: found {value}, expected 1990" in line


# ---------------------------------------------------------------- 17: where output goes


def test_output_to_a_folder_or_to_nothing_is_one_line(env: Any, tmp_path: Path) -> None:
    for output, fmt in ((tmp_path, "json"), ("", "csv"), (tmp_path, "table")):
        result = env.run(
            "--lang", "en", "overdue", "--all", "--as-of", DAY, "-f", fmt, "--output", str(output)
        )
        assert "is a folder; expected a file name" in one_line(result)


def test_notify_outbox_that_is_a_file_is_one_line(env: Any, tmp_path: Path) -> None:
    box = tmp_path / "outbox"
    box.write_text("not a folder", encoding="utf-8")
    result = env.run("--lang", "en", *NOTIFY_KROKOM, "--outbox", str(box))
    assert f"--outbox {box}: is a file; expected a folder" in one_line(result)
    assert box.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's read-only /sys")
def test_notify_outbox_that_cannot_be_written_is_one_line(env: Any) -> None:
    result = env.run("--lang", "en", *NOTIFY_KROKOM, "--outbox", "/sys/tasteget-outbox")
    assert "--outbox /sys/tasteget-outbox: cannot write the messages there" in one_line(result)


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's read-only /sys")
def test_a_read_only_data_folder_names_the_folder_and_says_running_again_continues(
    sandbox_env: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ta_steget_cli.cli.status.has_terminal", lambda: True)
    env = sandbox_env(
        SandboxTenant(persons=40, today=AS_OF), purge={"data_dir": "/sys/tasteget-data"}
    )
    result = env.run("--lang", "en", "status", "review", "--region", "--as-of", DAY, input="\n")
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, result.output
    assert lines[-1].startswith("tasteget: cannot write /sys/tasteget-data")
    assert "run the same command again: it continues where it stopped" in lines[-1]


def test_a_full_data_folder_names_the_folder_and_says_running_again_continues(
    sandbox_env: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A full disk cannot be made in a test: the write that finds it full is made to.
    monkeypatch.setattr("ta_steget_cli.cli.status.has_terminal", lambda: True)
    env = sandbox_env(SandboxTenant(persons=40, today=AS_OF))
    real_replace = os.replace

    def full(source: Any, target: Any) -> None:
        if "review" in str(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(source))
        real_replace(source, target)

    monkeypatch.setattr("ta_steget_cli.files.os.replace", full)
    result = env.run("--lang", "en", "status", "review", "--region", "--as-of", DAY, input="\n")
    assert result.exit_code == 2, result.output
    line = result.stderr.splitlines()[-1]
    assert f"in the folder {env.data_dir / 'review'}" in line and "No space left" in line
    assert "run the same command again: it continues where it stopped" in line


# ---------------------------------------------------------------- 17: a ticket with å


def test_a_ticket_with_a_non_ascii_character_is_one_line(env: Any) -> None:
    env.env["TASTEGET_TICKET"] = env.env["TASTEGET_TICKET"] + "å"
    line = one_line(env.run("--lang", "en", "overdue", "--all", "--as-of", DAY, "--format", "json"))
    assert "TASTEGET_TICKET contains a character that is not ASCII" in line
    assert env.env["TASTEGET_TICKET"] not in line


# ---------------------------------------------------------------- 13: SMTP login in clear text


def test_smtp_login_without_encryption_to_another_host_is_refused(
    sandbox_env: Callable[..., Any],
) -> None:
    env = sandbox_env(
        SandboxTenant(persons=40, today=AS_OF),
        notify={
            "transport": "smtp",
            "smtp_host": "smtp.example.se",
            "starttls": False,
            "username": "tasteget",
        },
    )
    env.env["TASTEGET_SMTP_PASSWORD"] = "hunter2-x"
    line = one_line(
        env.run("--lang", "en", "notify", "--only", "Krokom", "--send-empty", "--as-of", DAY)
    )
    assert "the SMTP password would go to smtp.example.se unencrypted" in line
    assert "hunter2-x" not in line


def test_smtp_login_without_encryption_to_this_machine_is_allowed() -> None:
    from ta_steget_cli.config import NotifySettings
    from ta_steget_cli.mail import require_encrypted_login

    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        require_encrypted_login(NotifySettings(smtp_host=host, starttls=False, username="u"))


# ---------------------------------------------------------------- 19: messages and refusals


def test_notify_only_an_unknown_place_names_only(env: Any) -> None:
    line = one_line(
        env.run("--lang", "en", "notify", "--dry-run", "--only", "Oslo", "--as-of", DAY)
    )
    assert line.startswith("tasteget: --only: unknown municipality 'Oslo'")
    assert "--kommun" not in line and line.endswith("Östersund, region")


def test_plan_out_and_output_the_same_file_is_refused(env: Any, tmp_path: Path) -> None:
    same = tmp_path / "plan.json"
    result = env.run(
        "--lang",
        "en",
        "purge",
        "--dry-run",
        "--as-of",
        DAY,
        "--plan-out",
        str(same),
        "--output",
        str(same),
    )
    assert "--plan-out and --output are the same file" in one_line(result)
    assert not same.exists()


# ---------------------------------------------------------------- 19: SIGTERM


@pytest.mark.skipif(os.name == "nt", reason="Windows has no SIGTERM to send")
def test_sigterm_stops_any_command_with_a_line_and_exit_143(
    sandbox_env: Callable[..., Any],
) -> None:
    tenant = SandboxTenant(persons=300, today=AS_OF)
    tenant.latency = 0.2  # every answer slow: the signal comes while the command waits
    env = sandbox_env(tenant)
    argv = ["--config", str(env.config_path), "--lang", "en", "--verbose", "overdue", "--all"]
    process = start_cli(argv, env.env)
    assert process.stderr is not None
    # An API call logged: the command is running (and its signal handler is in place).
    for _line in range(100):
        if "/v1/" in process.stderr.readline():
            break
    process.terminate()  # SIGTERM
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stderr.splitlines()[-1] == "tasteget: stopped (SIGTERM)"
    assert "Traceback" not in stderr
