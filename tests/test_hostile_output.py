"""Issue 9, what the tool prints: every line redacted (15), warnings and errors single unwrapped
lines (the "Also" item), through the CLI against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ta_steget_cli.sandbox import SandboxTenant, ids

from .conftest import AS_OF


def test_an_error_text_repeating_the_credentials_is_printed_redacted(
    sandbox_env: Callable[..., Any],
) -> None:
    env = sandbox_env(SandboxTenant(persons=20, today=AS_OF))
    env.tenant.faults.add("status", status=400, body="echo")
    result = env.run("overdue", "--all", "--as-of", str(AS_OF), "--format", "json")
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tasteget: ")
    assert "Not accepted" in lines[0] and "***" in lines[0]
    assert ids.TICKET not in result.output and ids.APP_TOKEN not in result.output
    assert ids.TICKET.split(":", 1)[1] not in result.output


def test_a_secret_from_the_environment_is_redacted_in_the_error_line(
    sandbox_env: Callable[..., Any],
) -> None:
    # The password pasted into the wrong key: the config error quotes what it found.
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF), notify={"smtp_port": "s3cret-pass"})
    env.env["TASTEGET_SMTP_PASSWORD"] = "s3cret-pass"
    result = env.run("notify", "--dry-run", "--as-of", str(AS_OF))
    assert result.exit_code == 2, result.output
    assert "smtp_port" in result.stderr and "***" in result.stderr
    assert "s3cret-pass" not in result.output


def test_a_warning_with_a_long_path_is_one_unwrapped_line(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    deep = tmp_path / ("a-folder-with-a-rather-long-name-" * 4) / "and-another-one-below-it"
    deep.mkdir(parents=True)
    config = deep / "config.toml"
    text = env.config_path.read_text(encoding="utf-8")
    config.write_text(f"# password = hunter2\n{text}", encoding="utf-8")
    config.chmod(0o644)
    env.config_path = config
    env.env["COLUMNS"] = "80"
    result = env.run("doctor")
    warning = [line for line in result.stderr.splitlines() if "kan läsas av andra" in line]
    assert len(warning) == 1, result.stderr
    assert str(config) in warning[0]


def test_a_config_path_with_markup_brackets_is_printed_as_it_is(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    folder = tmp_path / "odd [/] [bold]name"
    folder.mkdir(parents=True)
    config = folder / "config.toml"
    config.write_text(f"# password = x\n{env.config_path.read_text('utf-8')}", encoding="utf-8")
    config.chmod(0o644)
    env.config_path = config
    result = env.run("doctor")
    assert result.exit_code == 0, result.output
    assert str(config) in result.stderr
