"""Issue 9, the config under hostile conditions, through the CLI against the sandbox tenant:
unknown keys (5), duplicate ids (6), CRLF in a mail address (17), a BOM, a decomposed
"Östersund" and quoted secrets (19)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import config as cfg
from ta_steget_cli import config_keys
from ta_steget_cli.sandbox import SandboxTenant, ids

from .conftest import AS_OF


@pytest.fixture
def env(sandbox_env: Callable[..., Any]) -> Any:
    return sandbox_env(SandboxTenant(persons=30, today=AS_OF))


def append(env: Any, text: str) -> None:
    with env.config_path.open("a", encoding="utf-8") as handle:
        handle.write(text)


# ---------------------------------------------------------------- 5: unknown keys


def test_a_misspelt_key_is_an_error_naming_the_closest_known_one(env: Any) -> None:
    text = env.config_path.read_text(encoding="utf-8")
    env.config_path.write_text(text.replace("[purge]\n", "[purge]\ninactive_year = 10\n"))
    for args in (("doctor",), ("purge", "--dry-run", "--as-of", str(AS_OF))):
        result = env.run(*args)
        assert result.exit_code == 2, result.output
        assert "[purge] inactive_year: okänd nyckel; menade du inactive_years?" in result.output
        result = env.run("--lang", "en", *args)
        assert "[purge] inactive_year: unknown key; did you mean inactive_years?" in result.output


def test_an_unknown_table_is_an_error_naming_the_closest_known_one(env: Any) -> None:
    append(env, "\n[notfy]\nsmtp_host = 'x'\n")
    result = env.run("--lang", "en", "doctor")
    assert result.exit_code == 2
    assert "notfy: unknown key; did you mean notify?" in result.output


def test_an_unknown_key_with_nothing_close_lists_the_known_ones(env: Any) -> None:
    append(env, "\n[report]\nbanana = 1\n")
    result = env.run("--lang", "en", "overdue", "--all", "--as-of", str(AS_OF), "-f", "json")
    assert result.exit_code == 2
    assert "[report] banana: unknown key; known here: goals, recipients" in result.stderr
    assert result.stdout == ""


def test_every_key_of_the_example_config_is_known(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    cfg.load_config(example)  # raises on an unknown key


def test_the_known_keys_follow_the_settings_dataclasses() -> None:
    known = config_keys.known_keys(cfg.Config)
    assert "purge.inactive_years" in known and "notify.from" in known
    assert known["kommuner"] is True and known["move_status.values"] is True
    assert "notify.sender" not in known and "path" not in known


# ---------------------------------------------------------------- 6: duplicate ids


@pytest.mark.parametrize(
    ("table", "duplicate"),
    [
        ("kommuner", ("Krokom", ids.KOMMUN_INTERESTS["Berg"])),
        ("move_status.values", ("moved", ids.MOVE_STATUS_VALUES["interested"])),
        ("move_status.moved_to_values", ("Krokom", ids.MOVED_TO_VALUES["Berg"])),
    ],
)
def test_one_id_under_two_names_is_an_error(
    sandbox_env: Callable[..., Any], table: str, duplicate: tuple[str, int]
) -> None:
    name, item = duplicate
    override: dict[str, Any] = {name: item}
    for part in reversed(table.split(".")):
        override = {part: override}
    env = sandbox_env(SandboxTenant(persons=30, today=AS_OF), **override)
    result = env.run("doctor")
    assert result.exit_code == 2, result.output
    assert f"[{table}] {name}: värdet {item}" in result.output
    assert "ange ett eget id (det är redan id för" in result.output
    result = env.run("notify", "--dry-run", "--as-of", str(AS_OF))
    assert result.exit_code == 2


# ---------------------------------------------------------------- 17: CRLF in an address


def test_a_line_break_in_a_mail_address_is_a_config_error(env: Any, tmp_path: Path) -> None:
    text = env.config_path.read_text(encoding="utf-8")
    env.config_path.write_text(
        text.replace('"inflytt@region.example"', '"inflytt@region.example\\r\\nBcc: x@evil.test"')
    )
    result = env.run("notify", "--dry-run", "--as-of", str(AS_OF), "--outbox", str(tmp_path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "[notify.recipients] region" in lines[0]
    assert "ange e-postadresser" in lines[0] and "internal error" not in lines[0]


def test_a_line_break_in_the_sender_address_is_a_config_error(env: Any, tmp_path: Path) -> None:
    text = env.config_path.read_text(encoding="utf-8")
    env.config_path.write_text(
        text.replace('"tasteget@region.example"', '"tasteget@region.example\\nBcc: x@evil.test"')
    )
    result = env.run("notify", "--dry-run", "--as-of", str(AS_OF), "--outbox", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "[notify] from: värdet" in result.stderr and "ange en e-postadress" in result.stderr


# ---------------------------------------------------------------- 19: BOM, NFC, quotes


def test_a_config_with_a_byte_order_mark_is_read(env: Any) -> None:
    data = env.config_path.read_bytes()
    env.config_path.write_bytes(b"\xef\xbb\xbf" + data)
    result = env.run("doctor")
    assert result.exit_code == 0, result.output


def test_a_decomposed_municipality_name_in_the_config_is_that_municipality(env: Any) -> None:
    text = env.config_path.read_text(encoding="utf-8")
    decomposed = unicodedata.normalize("NFD", "Östersund")
    assert decomposed != "Östersund"
    env.config_path.write_text(text.replace('"Östersund"', f'"{decomposed}"'), encoding="utf-8")
    assert decomposed in env.config_path.read_text(encoding="utf-8")
    result = env.run("doctor")
    assert result.exit_code == 0, result.output
    result = env.run("overdue", "--kommun", decomposed, "--as-of", str(AS_OF), "--format", "json")
    assert result.exit_code == 0, result.output


def test_quotes_around_a_value_in_the_secrets_file_are_not_part_of_it(
    env: Any, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text(
        f"TASTEGET_TICKET=\"{ids.TICKET}\"\nTASTEGET_APP_TOKEN='{ids.APP_TOKEN}'\n",
        encoding="utf-8",
    )
    secrets.chmod(0o600)
    env.config_path.write_text(
        f'secrets_file = "{secrets}"\n' + env.config_path.read_text(encoding="utf-8")
    )
    env.env = {}
    result = env.run("overdue", "--all", "--as-of", str(AS_OF), "--format", "json")
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- 5: retired keys


def test_the_retired_top_level_lang_warns_in_one_line_and_still_takes_effect(env: Any) -> None:
    env.config_path.write_text('lang = "en"\n' + env.config_path.read_text(encoding="utf-8"))
    result = env.run("overdue", "--kommun", "Krokom", "--as-of", str(AS_OF), "--format", "json")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "retired" in line]
    assert warnings == [f"warning: {env.config_path}: lang is retired; use [ui] lang instead"]
    listed = env.run("status", "list", "--region", "--as-of", str(AS_OF), "--format", "json")
    assert " contacts" in listed.stderr  # English: the retired key took effect


def test_ui_lang_is_read_and_gives_no_warning(env: Any) -> None:
    append(env, '\n[ui]\nlang = "en"\n')
    result = env.run("status", "list", "--region", "--as-of", str(AS_OF), "--format", "json")
    assert result.exit_code == 0, result.output
    assert " contacts" in result.stderr and "retired" not in result.stderr


def test_each_retired_key_warns_once(env: Any) -> None:
    text = env.config_path.read_text(encoding="utf-8")
    text = text.replace("[first_response]\n", "[first_response]\nlookback_days = 90\n")
    env.config_path.write_text('lang = "sv"\n' + text, encoding="utf-8")
    result = env.run("--lang", "en", "overdue", "--all", "--as-of", str(AS_OF), "-f", "json")
    assert result.exit_code == 0, result.output
    retired = [line for line in result.stderr.splitlines() if "retired" in line]
    assert len(retired) == 2, retired
    assert any("lookback_days" in line and "since" in line for line in retired)
    assert any("lang is retired; use [ui] lang instead" in line for line in retired)
