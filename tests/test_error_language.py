"""Every error path people meet prints Swedish by default and English with --lang en (issue 14,
item 3): a table of error paths (bad config, bad option values, no ticket, unknown municipality,
bad dates, a bad import file, a refused connection, a missing person) run through the CLI. A
message that bypasses gettext shows up here as English words in the Swedish run."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from tests.conftest import AS_OF, merge, sandbox_document, to_toml

# Words of English sentences that are not Swedish words: one in a Swedish run is a leak.
ENGLISH = {
    "the", "not", "is", "are", "was", "of", "with", "expected", "found", "must", "cannot",
    "could", "should", "an", "for", "from", "this", "that", "which", "missing", "invalid",
    "unknown", "error", "line", "option", "file", "needs", "set", "no", "or", "and", "only",
    "did", "does", "one", "give", "use", "value", "date", "got", "refused", "connection",
    "person", "key", "table", "string", "integer", "read", "write", "usage", "try", "help",
}  # fmt: skip
# Words of Swedish sentences that are not English words: one in an English run is a leak.
SWEDISH = {
    "och", "inte", "för", "är", "ett", "som", "med", "kan", "saknas", "fel", "rad", "fil",
    "eller", "ingen", "inget", "finns", "väntade", "hittade", "användning", "prova", "hjälp",
    "värde", "datum", "ange", "okänd", "okänt", "nyckel", "måste", "till", "från", "av", "på",
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    config: dict[str, Any] | None = None  # overrides of the sandbox config; None: no config
    raw_config: bytes | None = None  # the config file as it is
    env: tuple[tuple[str, str], ...] = (("TASTEGET_TICKET", ids.TICKET),)
    refused: bool = False  # point the config at a port nobody listens on
    file: tuple[str, bytes] | None = None  # a file the args name as {file}


DAY = ("--as-of", AS_OF.isoformat())
CASES = [
    Case("no such config file", ("--config", "{tmp}/none.toml", "overdue", "--all", *DAY)),
    Case("config not TOML", ("overdue", "--all", *DAY), raw_config=b"[superoffice\napi_url = 1\n"),
    Case("config not UTF-8", ("overdue", "--all", *DAY), raw_config=b"# \xff\n"),
    Case("bad config value", ("overdue", "--all", *DAY), {"superoffice": {"auth": "password"}}),
    Case("config: unknown key", ("overdue", "--all", *DAY), {"superoffice": {"speed": 3}}),
    Case(
        "config: unknown municipality",
        ("overdue", "--all", *DAY),
        {"kommuner": {"Gävle": 99}},
    ),
    Case("config: bad date", ("overdue", "--all", *DAY), {"first_response": {"since": "1.1.25"}}),
    Case("no ticket", ("overdue", "--all", *DAY), {}, env=()),
    Case("unknown municipality", ("overdue", "--kommun", "Gävle", *DAY), {}),
    Case("bad --as-of", ("overdue", "--all", "--as-of", "2026-13-01"), {}),
    Case("bad --since", ("overdue", "--all", *DAY, "--since", "igår"), {}),
    Case("bad --format", ("overdue", "--all", *DAY, "--format", "pdf"), {}),
    Case("no such option", ("overdue", "--alla"), {}),
    Case("bad quarter", ("report", "--quarter", "2025Q9", *DAY), {}),
    Case("quarter and year", ("report", "--quarter", "2025Q3", "--year", "2025", *DAY), {}),
    Case("unknown status", ("status", "set", "12", "flyttat", *DAY), {}),
    Case("missing person", ("status", "set", "99999999", "moved", *DAY), {}),
    Case(
        "bad import file",
        ("status", "import", "{file}", "--dry-run", *DAY),
        {},
        file=("flytt.csv", b"person;vad\r\n12;x\r\n"),
    ),
    Case(
        "import file not UTF-8",
        # Read as Windows-1252 (older Excel); the row's reason is read in the table.
        ("status", "import", "{file}", "--dry-run", "--format", "table", *DAY),
        {},
        file=("flytt.csv", b"person_id,status\r\n12,\xff\r\n"),
    ),
    Case("no such plan", ("purge", "--plan", "{tmp}/none.json", "--yes", *DAY), {}),
    Case("connection refused", ("overdue", "--all", *DAY), {}, refused=True),
    Case("doctor, connection refused", ("doctor", *DAY), {}, refused=True),
]


def words(text: str) -> set[str]:
    """The words of the message, without paths, options, quoted values, ids and config keys
    (doctor's `notify from` names [notify] from: the config's own words)."""
    text = re.sub(r"notify \w+", " ", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\S*[/\\_]\S*|--?[\w-]+|\[[\w.]+\]", " ", text)
    return {w.casefold() for w in re.findall(r"[^\W\d_]+", text)}


def run(case: Case, lang: tuple[str, ...], sandbox_env: Callable[..., Any], tmp_path: Path) -> Any:
    from typer.testing import CliRunner

    from ta_steget_cli.cli import app

    env = sandbox_env(tenant_for(case))
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    if case.file is not None:
        path = tmp_path / case.file[0]
        path.write_bytes(case.file[1])
        args = [a.replace("{file}", str(path)) for a in args]
    config = tmp_path / "case.toml"
    if case.raw_config is not None:
        config.write_bytes(case.raw_config)
    elif case.config is not None:
        api_url = "http://127.0.0.1:9/Cust1/api" if case.refused else env.server.api_url
        document = merge(sandbox_document(api_url, tmp_path / "data"), case.config)
        config.write_text(to_toml(document), encoding="utf-8")
    if "--config" not in args:
        args = ["--config", str(config), *args]
    environ = {"COLUMNS": "200", **dict(case.env)}
    return CliRunner().invoke(app, [*lang, *args], env=environ)


_TENANT: list[SandboxTenant] = []


def tenant_for(case: Case) -> SandboxTenant:
    if not _TENANT:
        _TENANT.append(SandboxTenant(persons=30, seed=5, today=AS_OF))
    return _TENANT[0]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_error_paths_speak_swedish_by_default_and_english_with_lang_en(
    case: Case, sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    swedish = run(case, (), sandbox_env, tmp_path)
    english = run(case, ("--lang", "en"), sandbox_env, tmp_path)
    for result in (swedish, english):
        assert result.exit_code not in (0, None), result.output
        assert "Traceback" not in result.output
    sv_words = words(swedish.output)
    en_words = words(english.output)
    assert sv_words & SWEDISH, swedish.output
    assert not sv_words & ENGLISH, (sorted(sv_words & ENGLISH), swedish.output)
    assert en_words & ENGLISH, english.output
    assert not en_words & SWEDISH, (sorted(en_words & SWEDISH), english.output)
