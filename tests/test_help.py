"""Help and completion (issue 14, item 6): completion installs and completes municipality and
status names; every command's help has an example that parses; no empty placeholders; flags
are shown as flags."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main

from ta_steget_cli.cli import app
from ta_steget_cli.cli.examples import EXAMPLES, examples_of
from ta_steget_cli.cli.localize import walk

WIDE = {"COLUMNS": "200"}


def command_paths() -> list[str]:
    return [path for _command, path in walk(typer.main.get_command(app))]


def complete(cli: Callable[..., Any], line: str, **env: str) -> list[str]:
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    result = cli(
        env={
            "_TASTEGET_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
            **env,
        }
    )
    assert result.exit_code == 0, result.output
    return result.output.split()


def test_show_completion_gives_a_script_for_the_shell(cli: Callable[..., Any]) -> None:
    result = cli("--show-completion", "bash")
    assert result.exit_code == 0
    assert "_TASTEGET_COMPLETE=complete_bash" in result.output
    assert "complete " in result.output and "tasteget" in result.output


def test_install_completion_writes_the_shells_startup_file(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = cli("--install-completion", "bash", env={"HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "tasteget" in (tmp_path / ".bashrc").read_text(encoding="utf-8")


def test_municipality_names_complete(cli: Callable[..., Any]) -> None:
    assert complete(cli, "tasteget overdue --kommun Kr") == ["Krokom"]
    assert complete(cli, "tasteget overdue -k Ö") == ["Östersund"]
    assert complete(cli, "tasteget status set 12 moved --moved-to Str") == ["Strömsund"]
    assert complete(cli, "tasteget notify --only re") == ["region"]
    assert len(complete(cli, "tasteget status list --kommun ")) == 8


def test_status_names_complete_from_the_config(cli: Callable[..., Any], tmp_path: Path) -> None:
    from .conftest import sandbox_document, to_toml

    document = sandbox_document("http://127.0.0.1:9/Cust1/api", tmp_path)
    document["move_status"]["values"] = {"moved": 3, "maybe_later": 9}
    config = tmp_path / "config.toml"
    config.write_text(to_toml(document), encoding="utf-8")
    line = f"tasteget --config {config} status list --kommun Berg --status m"
    assert sorted(complete(cli, line)) == ["maybe_later", "moved"]
    assert complete(cli, f"tasteget --config {config} status set 12 ma") == ["maybe_later"]
    # No readable config: nothing offered, and no error in the middle of the command line.
    assert complete(cli, f"tasteget --config {tmp_path / 'none.toml'} status list --status ") == []


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_command_shows_an_example_that_parses(cli: Callable[..., Any], lang: str) -> None:
    heading = {"sv": "Exempel:", "en": "Example"}[lang]
    for path in command_paths():
        examples = examples_of(path)
        assert examples, f"{path} has no example: add one to EXAMPLES in cli/examples.py"
        args = path.split()[1:]
        shown = cli("--lang", lang, *args, "--help", env=WIDE)
        assert heading in shown.output and examples[0] in shown.output, path
        for example in examples:
            words = shlex.split(example)[1:]
            parsed = cli("--lang", lang, *words, "--help", env=WIDE)
            assert parsed.exit_code == 0, f"{example}: {parsed.output}"
            assert f"tasteget {' '.join(args)}".strip() in parsed.output


def test_examples_name_only_commands_that_exist() -> None:
    paths = {path.removeprefix("tasteget").strip() for path in command_paths()}
    assert set(EXAMPLES) <= paths


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_help_has_no_empty_placeholder_and_shows_flags_as_flags(
    cli: Callable[..., Any], lang: str
) -> None:
    for path in command_paths():
        text = cli("--lang", lang, *path.split()[1:], "--help", env=WIDE).output
        assert "<bool>" not in text, path
        assert not re.search(r"\(\s*\)|\(\w+( \w+)* \)|:  \w|\w  ,", text), (path, text)
    assert "[notify] outbox" in cli("--lang", lang, "notify", "--help", env=WIDE).output
    listing = cli("--lang", lang, "status", "list", "--help", env=WIDE).output
    assert "[move_status.values]" in listing and "STATUS" in listing and "KOMMUN" in listing
