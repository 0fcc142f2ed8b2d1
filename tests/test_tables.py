"""Tables people can read: at a set width (never the real terminal's) no line is longer than the
width and no e-mail address, date or id is broken; columns that do not fit leave in the stated
order and a line says which; long output on a terminal goes through the pager."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.output import Column, column_spans, fit_widths, fitted_table
from ta_steget_cli.sandbox import SandboxTenant
from tests.conftest import AS_OF
from tests.helpers import ENTRY, run_on_a_terminal

DAY = ("--as-of", AS_OF.isoformat())


@pytest.fixture(scope="module")
def tenant() -> Any:
    return SandboxTenant(persons=600, seed=11, today=AS_OF)


def lines_of(text: str) -> list[str]:
    """Every line on stdout, overdue's note on older registrations under the table included."""
    return text.splitlines()


def words_of(text: str) -> set[str]:
    return set(text.split())


@pytest.mark.parametrize("width", [80, 120])
def test_overdue_fits_and_breaks_no_address_date_or_id(
    sandbox_env: Any, tenant: Any, width: int
) -> None:
    env = sandbox_env(tenant)
    env.env["COLUMNS"] = str(width)
    table = env.run("overdue", "--all", *DAY, "--format", "table")
    assert table.exit_code == 0, table.output
    data = json.loads(env.run("overdue", "--all", *DAY, "--format", "json").stdout)
    assert len(data) >= 5
    longest = max(len(line) for line in lines_of(table.stdout))
    assert longest <= width
    shown = words_of(table.stdout)
    for item in data:
        if item["email"]:
            assert item["email"] in shown, item["email"]  # whole, on one line
        assert str(item["person_id"]) in shown
        assert item["due"] in shown
    assert {"Arbetsdagar", "sen", "Svar", "senast"} <= shown  # headings say what they count


@pytest.mark.parametrize(("width", "lang"), [(80, "sv"), (80, "en"), (60, "sv"), (200, "en")])
def test_overdues_note_under_the_table_is_wrapped_and_keeps_the_option_whole(
    sandbox_env: Any, tenant: Any, width: int, lang: str
) -> None:
    env = sandbox_env(tenant)
    env.env["COLUMNS"] = str(width)
    result = env.run("--lang", lang, "overdue", "--all", *DAY, "--format", "table")
    assert result.exit_code == 0, result.output
    start = {"sv": "Dessutom väntar", "en": "Also waiting"}[lang]
    note = result.stdout[result.stdout.index(start) :]
    assert max(len(line) for line in note.splitlines()) <= width
    assert re.search(r"--since \d{4}-\d\d-\d\d$", note.rstrip())  # on one line, as it is copied


def test_at_80_columns_the_least_important_leave_first_and_a_line_says_so(
    sandbox_env: Any, tenant: Any
) -> None:
    env = sandbox_env(tenant)
    env.env["COLUMNS"] = "80"
    result = env.run("overdue", "--all", *DAY, "--format", "table")
    text = " ".join(result.stdout.split())
    assert "Visas inte, för att få plats på 80 tecken: Vår kontakt, Kontaktväg" in text
    env.env["COLUMNS"] = "200"
    wide = env.run("overdue", "--all", *DAY, "--format", "table")
    assert "Visas inte" not in wide.stdout
    assert "Registrerad" in wide.stdout and "Vår kontakt" in wide.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("status", "list", "--kommun", "Krokom"),
        ("report", "--year", "2025"),
        ("purge", "--dry-run"),
    ],
)
def test_other_tables_fit_80_columns(sandbox_env: Any, tenant: Any, args: tuple[str, ...]) -> None:
    env = sandbox_env(tenant)
    env.env["COLUMNS"] = "80"
    result = env.run(*args, *DAY, "--format", "table")
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in lines_of(result.stdout)) <= 80
    dates = {w for w in words_of(result.stdout) if w[:2] == "20" and len(w) >= 8}
    assert all(len(d.strip(",()")) == 10 for d in dates), dates  # no date cut in two


def test_columns_shrink_to_their_longest_word_and_no_further() -> None:
    columns = (Column("a", "A"), Column("b", "B", wrap=False))
    records = [{"a": "short words here", "b": "070-123 45 67"}]
    spans = column_spans(records, columns, "sv")
    assert spans == [(5, 16), (13, 13)]
    assert fit_widths(spans, 200) == [16, 13]
    assert fit_widths(spans, 5 + 13 + 3) == [5, 13]
    assert fit_widths(spans, 5 + 13 + 2) is None


def test_drop_order_is_kept_and_the_first_column_stays() -> None:
    columns = tuple(Column(k, k.upper()) for k in ("first", "second", "third"))
    records = [{"first": "x" * 20, "second": "y" * 20, "third": "z" * 20}]
    table = fitted_table(records, columns, lang="sv", width=45, drop=("second", "third"))
    assert [c.header for c in table.columns] == ["FIRST", "THIRD"]
    default = fitted_table(records, columns, lang="en", width=45)
    assert [c.header for c in default.columns] == ["FIRST", "SECOND"]
    assert "45" in str(default.caption) and ": THIRD (" in str(default.caption)


# ---------------------------------------------------------------- the pager


def on_a_terminal(tmp_path: Path, *args: str, **env: str) -> str:
    """Run the CLI with stdout on a pseudo-terminal of 80x10; what it printed there."""
    env = {"COLUMNS": "80", "LINES": "10", "TERM": "dumb", **env}
    return run_on_a_terminal(args, terminal="stdout", env=env, cwd=tmp_path)[1]


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_long_output_on_a_terminal_goes_through_the_pager(tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    pager = f"cat > {paged}"
    shown = on_a_terminal(tmp_path, "--sandbox", "overdue", *DAY, TASTEGET_PAGER=pager)
    assert paged.exists() and "Arbetsdagar" in paged.read_text(encoding="utf-8")
    assert "Arbetsdagar" not in shown  # it went to the pager, not straight to the terminal
    paged.unlink()
    direct = on_a_terminal(
        tmp_path, "--no-pager", "--sandbox", "overdue", *DAY, TASTEGET_PAGER=pager
    )
    assert not paged.exists()
    assert "Arbetsdagar" in direct


def test_no_pager_when_stdout_is_not_a_terminal(tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    run = subprocess.run(
        [sys.executable, "-c", ENTRY, "--sandbox", "overdue", *DAY, "-f", "table"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80", "TASTEGET_PAGER": f"cat > {paged}"},
    )
    assert run.returncode == 0, run.stderr
    assert "Arbetsdagar" in run.stdout and not paged.exists()
