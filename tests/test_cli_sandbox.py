"""The foundation's promise end to end: `tasteget sandbox serve` in its own process, `doctor`
passing against it with its ticket and failing with exit 4 on a wrong one, and --sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ta_steget_cli.sandbox import ids

ENTRY = "from ta_steget_cli.cli import main; main()"


def tasteget(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    """`tasteget sandbox serve --port 0 --write-config ...` running; yields the config path."""
    config = tmp_path / "sandbox.toml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ENTRY,
            "sandbox",
            "serve",
            "--port",
            "0",
            "--persons",
            "300",
            "--as-of",
            "2026-03-18",
            "--write-config",
            str(config),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = process.stderr.readline()  # type: ignore[union-attr]
            lines.append(line)
            if "Ctrl-C" in line or not line:  # the last line, in any language
                break
        assert config.exists(), "".join(lines)
        yield config
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_doctor_passes_against_the_served_sandbox(served: Path) -> None:
    env = {"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
    result = tasteget("--config", str(served), "doctor", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith("ok") for line in lines)
    assert any("intresse Östersund: persint 108" in line for line in lines)
    assert any("move_status.field moved: listvärde 203" in line for line in lines)


def test_doctor_fails_in_one_line_with_a_wrong_ticket(served: Path) -> None:
    env = {"TASTEGET_TICKET": "7T:not-the-ticket", "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
    result = tasteget("--config", str(served), "doctor", env=env)
    assert result.returncode == 4, result.stdout + result.stderr
    failing = [line for line in result.stdout.splitlines() if line.startswith("FEL")]
    assert len(failing) == 1 and "inloggning" in failing[0]
    assert "7T:not-the-ticket" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_reports_a_missing_secret(served: Path) -> None:
    result = tasteget("--config", str(served), "doctor", env={"TASTEGET_TICKET": ""})
    assert result.returncode == 2
    assert "TASTEGET_TICKET finns inte bland miljövariablerna" in result.stdout + result.stderr


def test_doctor_names_an_id_the_tenant_lacks(tmp_path: Path, served: Path) -> None:
    text = served.read_text(encoding="utf-8").replace('"Ragunda" = 105', '"Ragunda" = 199')
    config = tmp_path / "wrong-id.toml"
    config.write_text(text, encoding="utf-8")
    env = {"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
    result = tasteget("--config", str(config), "doctor", env=env)
    assert result.returncode == 1
    assert "FEL   intresse Ragunda: persint 199 finns inte eller är borttaget" in result.stdout


def test_sandbox_flag_needs_no_config_and_no_credentials(cli) -> None:
    result = cli("--sandbox", "doctor")
    assert result.exit_code == 0, result.output
    assert "den inbyggda övningsmiljöns inställningar" in result.output


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.output.startswith("tasteget ")


def test_serve_refuses_to_overwrite_a_config(tmp_path: Path, cli) -> None:
    existing = tmp_path / "mine.toml"
    existing.write_text("# mine\n", encoding="utf-8")
    result = cli("sandbox", "serve", "--write-config", str(existing))
    assert result.exit_code == 2
    assert existing.read_text(encoding="utf-8") == "# mine\n"


def test_a_fresh_served_config_is_complete_and_notify_works(served: Path) -> None:
    """`serve --write-config` writes [notify] with transport = "outbox": doctor checks the mail
    side and passes, and notify (dry run or not) writes the mails into the outbox folder."""
    env = {"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
    doctor = tasteget("--config", str(served), "doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "ok    notify transport: outbox" in doctor.stdout
    assert "ok    notify recipients region: inflytt@region.example" in doctor.stdout
    dry = tasteget("--config", str(served), "notify", "--dry-run", "--as-of", "2026-03-18", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    outbox = served.parent / "outbox"
    written = sorted(p.name for p in outbox.iterdir())
    assert "2026-03-18-region.eml" in written and "2026-03-18-ostersund.eml" in written
    again = tasteget("--config", str(served), "notify", "--as-of", "2026-03-18", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "skrivna till" in again.stdout
