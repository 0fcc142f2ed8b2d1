"""What people read is Swedish by default and English with --lang en or [ui] lang = "en": the
catalogue covers every message of the code, the compiled catalogue matches its source, and the
help and Click's own words follow the chosen language."""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import i18n
from ta_steget_cli import i18n_tools as tools


def test_every_message_of_the_code_has_a_swedish_text() -> None:
    missing = tools.untranslated("sv")
    assert not missing, (
        "messages without a Swedish text (run `python -m ta_steget_cli.i18n_tools update`, "
        "fill in the msgstr in the .po, then `... compile`):\n" + "\n".join(missing)
    )


def test_the_compiled_catalogue_is_the_po_file_compiled() -> None:
    shipped = gettext.GNUTranslations(io.BytesIO(tools.mo_path("sv").read_bytes()))
    fresh = gettext.GNUTranslations(io.BytesIO(tools.compiled("sv")))
    assert shipped._catalog == fresh._catalog, (  # type: ignore[attr-defined]
        "tasteget.mo is stale: run `python -m ta_steget_cli.i18n_tools compile`"
    )


def test_the_catalogue_ships_in_the_wheel() -> None:
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8")
    assert re.search(r'ta_steget_cli = \[[^\]]*"locale/\*/LC_MESSAGES/\*\.mo"', pyproject)


def test_swedish_plural_agrees_and_english_is_the_message_id() -> None:
    i18n.set_language("sv")
    assert i18n._("Usage: ") == "Användning: "
    assert i18n._("a message nobody wrote") == "a message nobody wrote"
    i18n.set_language("en")
    assert i18n._("Usage: ") == "Usage: "
    with pytest.raises(ValueError):
        i18n.set_language("de")


HELP_CASES = [
    ((), "Användning: tasteget", "Visa den här hjälpen och avsluta."),
    (("--lang", "en"), "Usage: tasteget", "Show this message and exit."),
    (("--lang=en",), "Usage: tasteget", "Show this message and exit."),
]


@pytest.mark.parametrize(("lang", "usage", "help_option"), HELP_CASES)
def test_help_is_in_the_chosen_language(
    cli: Callable[..., Any], lang: tuple[str, ...], usage: str, help_option: str
) -> None:
    for command in ((), ("overdue",), ("status", "set")):
        result = cli(*lang, *command, "--help", env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert usage in result.output
        assert help_option in result.output
    overdue = cli(*lang, "overdue", "--help", env={"COLUMNS": "200"}).output
    if lang:
        assert "Municipality name (any case)." in overdue and "Options" in overdue
    else:
        assert "Kommunens namn (stora eller små bokstäver)." in overdue
        assert "Alternativ" in overdue and "Options" not in overdue


def test_ui_lang_in_the_config_gives_english_and_lang_overrides_it(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ui]\nlang = "en"\n', encoding="utf-8")
    english = cli("--config", str(config), "overdue", "--bogus")
    assert "unknown option --bogus" in english.output
    swedish = cli("--config", str(config), "--lang", "sv", "overdue", "--bogus")
    assert "okänt alternativ --bogus" in swedish.output
    by_env = cli("overdue", "--help", env={"TASTEGET_CONFIG": str(config), "COLUMNS": "200"})
    assert "Usage: tasteget overdue" in by_env.output


def test_ui_lang_is_a_known_config_key_and_checked(tmp_path: Path) -> None:
    from ta_steget_cli.config import ConfigError, parse_config

    from .conftest import merge, sandbox_document

    document = sandbox_document("https://sod2.superoffice.com/Cust1/api", tmp_path)
    assert parse_config(merge(document, {"ui": {"lang": "en"}})).lang == "en"
    with pytest.raises(ConfigError, match=r"\[ui\] lang"):
        parse_config(merge(document, {"ui": {"lang": "de"}}))


# Click's own errors, as a person meets them: (arguments, Swedish, English).
CLICK_ERRORS = [
    (("--bogus",), "okänt alternativ --bogus", "unknown option --bogus"),
    (("overdue", "--bogus"), "okänt alternativ --bogus", "unknown option --bogus"),
    (("bogus",), "Det finns inget kommando som heter 'bogus'", "No such command 'bogus'"),
    (("status", "set"), "argumentet PERSON_ID saknas", "missing argument PERSON_ID"),
    (("overdue", "--kommun"), "--kommun behöver ett värde", "--kommun needs a value"),
    (("overdue", "--region=1"), "--region tar inget värde", "--region takes no value"),
    (("overdue", "extra"), "oväntat extra argument: extra", "unexpected extra argument: extra"),
    (
        ("overdue", "--due-soon", "x"),
        "ogiltigt värde för --due-soon: ange ett heltal",
        "invalid value for --due-soon: expected a whole number",
    ),
    (
        ("overdue", "--due-soon", "-1"),
        "ogiltigt värde för --due-soon: ange minst 0",
        "invalid value for --due-soon: expected at least 0",
    ),
    (
        ("overdue", "--format", "xml"),
        "ogiltigt värde för --format / -f: 'xml' är inte något av",
        "invalid value for --format / -f: 'xml' is not one of",
    ),
    (
        ("--lang", "de", "overdue"),
        "'de' går inte att använda; ange sv eller en",
        "found 'de', expected sv",
    ),
]


@pytest.mark.parametrize(("args", "swedish", "english"), CLICK_ERRORS)
def test_clicks_errors_are_one_line_in_the_chosen_language(
    cli: Callable[..., Any], args: tuple[str, ...], swedish: str, english: str
) -> None:
    sv = cli(*args)
    assert sv.exit_code == 2
    assert sv.output.startswith("tasteget: ") and swedish in sv.output
    if args[0] == "--lang":
        return  # the bad --lang itself: the run's language is the default
    en = cli("--lang", "en", *args)
    assert en.exit_code == 2
    assert en.output.startswith("tasteget: ") and english in en.output
    assert ("(se 'tasteget" in sv.output) == ("(see 'tasteget" in en.output)


def test_a_group_without_a_command_shows_its_help_and_no_empty_error_line(
    cli: Callable[..., Any],
) -> None:
    result = cli("status", env={"COLUMNS": "200"})
    assert "Användning: tasteget status" in result.output
    assert "tasteget:  " not in result.output and "(se 'tasteget status --help')" not in (
        result.output
    )


def test_no_message_is_hidden_inside_an_f_string() -> None:
    """Babel's extractor cannot see `_("...")` inside an f-string's braces (before Python 3.12):
    such a message never reaches the catalogue and stays English."""
    package = Path(tools.__file__).parent
    hidden = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"""\{_\(["']""", line)
    ]
    assert not hidden, "write the message outside the f-string: " + ", ".join(hidden)
