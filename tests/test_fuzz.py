"""Fuzzing the places where outside text meets the tool: filter literals and column names against
the sandbox's own filter parser, and the CSV of `status import` (the config loader has its own
property test in test_config.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ta_steget_cli import filters as f
from ta_steget_cli import status
from ta_steget_cli.errors import UsageError
from ta_steget_cli.sandbox import SandboxTenant
from ta_steget_cli.sandbox.query import QueryError, tokens
from ta_steget_cli.sandbox.tool_config import sandbox_config

TRICKY = st.sampled_from(["'", "\\", "\\'", "''", " or ", ")", "(", "ö", "Ω", "🏔", "\x00", "\n"])
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=5)), max_size=12).map("".join)


@given(TEXT)
def test_a_quoted_value_parses_back_to_itself_in_the_sandbox(value: str) -> None:
    """What the tool sends is read by the tenant as exactly one string literal, the same text."""
    parsed = tokens(f"fullName eq {f.quote(value)}")
    assert [t.kind for t in parsed] == ["word", "word", "str", "end"]
    assert parsed[2].text == value


@given(TEXT, TEXT)
def test_a_literal_never_ends_early_whatever_follows(first: str, second: str) -> None:
    text = f"{f.quote(first)} and {f.quote(second)}"
    parsed = tokens(text)
    assert [t.text for t in parsed if t.kind == "str"] == [first, second]


@given(TEXT)
def test_a_column_name_with_anything_but_a_name_is_refused(name: str) -> None:
    """Either a plain name the parser reads as one word, or refused before it is sent."""
    try:
        checked = f.column(name)
    except ValueError:
        return
    parsed = tokens(f"{checked} gt 1")
    assert parsed[0].kind == "word" and parsed[0].text == name
    assert [t.kind for t in parsed] == ["word", "word", "num", "end"]


@pytest.mark.parametrize(
    "name", ["personId gt 0 or personId", "a)or(b", "x'", "fullName eq 'a'", "a\tb", "a\\b"]
)
def test_column_names_with_operators_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        f.column(name)


def test_the_sandbox_refuses_a_broken_literal() -> None:
    """The other side of the round trip: the parser is strict, so passing it means something."""
    for broken in ("'open", "'bad \\x escape'"):
        with pytest.raises(QueryError):
            tokens(broken)


# ---------------------------------------------------------------- status import

CELL = st.one_of(
    st.sampled_from(["1001", "-5", "0", "99999999999999999999", "moved", "interested", "Krokom"]),
    st.sampled_from(["2026-02-30", "2026-03-01", "", " ", "\ufeff", "=1+1", "ö", "x" * 300]),
    st.text(alphabet=st.characters(blacklist_characters="\r\n\"'"), max_size=8),
)
LINE = st.lists(CELL, max_size=6).flatmap(
    lambda cells: st.sampled_from([",", ";"]).map(lambda sep: sep.join(cells))
)
# A BOM is taken off by import_lines before parsing (the command test below sends one).
HEADERS = st.sampled_from(["person_id,status", "person_id;status;moved_to;date"])


@given(HEADERS, st.lists(LINE, max_size=15))
def test_every_import_line_gets_a_result(header: str, lines: list[str]) -> None:
    text = "\n".join([header, *lines])
    rows = list(status.parse_import(sandbox_config(), text))
    body = text.splitlines()[1:]
    numbered = [row.line for row in rows]
    # Every line with something on it has its result, in order; blank lines at the very end
    # may be taken as the file's end.
    assert numbered == sorted(set(numbered))
    assert {n for n, line in enumerate(body, 2) if line.strip()} <= set(numbered)
    assert all(2 <= n < 2 + len(body) for n in numbered)
    for row in rows:
        assert row.change is not None or (row.outcome and row.reason), row


def test_a_header_the_csv_module_cannot_read_is_one_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^file: line 1: new-line character"):
        list(status.parse_import(sandbox_config(), iter(["\r\x00"])))


@given(st.binary(max_size=300))
def test_random_bytes_are_rows_or_one_usage_error(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        rows = list(status.parse_import(sandbox_config(), "person_id,status\n" + text))
    except UsageError:
        return
    for row in rows:
        assert row.change is not None or (row.outcome and row.reason), row


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200), header=st.booleans())
@example(data=b"\r\x00", header=False)  # a header line the csv module itself refuses
def test_status_import_command_never_tracebacks(
    sandbox_env: Callable[..., Any], tmp_path: Path, data: bytes, header: bool
) -> None:
    env = sandbox_env(SandboxTenant(persons=0))
    path = tmp_path / "import.csv"
    path.write_bytes((b"\xef\xbb\xbfperson_id;status\n" if header else b"") + data)
    result = env.run("status", "import", str(path), "--dry-run")
    assert "Traceback" not in result.output + result.stderr
    assert "internal error" not in result.stderr
    assert result.exit_code in (0, 2, 3), result.output
