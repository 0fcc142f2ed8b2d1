"""Every command the CLI offers is documented in the README, and the README's promises hold."""

from __future__ import annotations

import re
from pathlib import Path

from ta_steget_cli.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def command_names() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    names: list[str] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        if sub:
            names += [f"{name} {s}" for s in sub]
        else:
            names.append(name)
    return names


def test_every_command_is_documented() -> None:
    names = command_names()
    assert "doctor" in names
    for name in names:
        assert re.search(rf"^#+ .*`tasteget {re.escape(name)}", README, re.M), (
            f"README has no section for `tasteget {name}`"
        )


def test_readme_opens_with_the_two_setup_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert blocks[0].startswith("pip install . && tasteget --sandbox ")
    assert blocks[1] == "pip install -e '.[test]' && python -m pytest"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci
    assert "set -euo pipefail" in ci
