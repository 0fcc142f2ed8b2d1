"""The filter builder: no value can escape its literal, no column can smuggle an operator."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ta_steget_cli import filters as f


def test_building_blocks() -> None:
    assert f.one_of("personInterestIds", [104, 107]) == "personInterestIds oneOf (104,107)"
    assert f.not_one_of("personInterestIds", [1]) == "personInterestIds notOneOf (1)"
    assert f.equals("personUdef/SuperOffice:7", 203) == "personUdef/SuperOffice:7 equals 203"
    assert f.gt("personId", 4711) == "personId gt 4711"
    assert f.before("personRegisteredDate", date(2026, 3, 19)) == (
        "personRegisteredDate before '2026-03-19'"
    )
    assert f.between("date", date(2026, 1, 1), date(2026, 3, 31)) == (
        "date between ('2026-01-01','2026-03-31')"
    )
    assert f.is_set("hasEmarketingConsent", True) == "hasEmarketingConsent set 1"


def test_and_binds_tighter_so_or_is_bracketed() -> None:
    either = f.any_of(
        f.after("date", date(2021, 3, 17)), f.after("registeredDate", date(2021, 3, 17))
    )
    combined = f.all_of(f.one_of("personId", [1, 2]), either, None)
    assert combined == (
        "personId oneOf (1,2) and (date after '2021-03-17' or registeredDate after '2021-03-17')"
    )
    assert f.all_of(None, "") is None
    assert f.all_of("a eq 1") == "a eq 1"


def test_quotes_and_backslashes_are_escaped() -> None:
    assert f.quote("O'Neil") == r"'O\'Neil'"
    assert f.quote("ends with \\") == r"'ends with \\'"


@pytest.mark.parametrize("bad", ["personId or 1", "a) or (b", "", "x y", "1abc"])
def test_column_names_cannot_carry_operators(bad: str) -> None:
    with pytest.raises(ValueError):
        f.column(bad)


def test_ids_must_be_ints_and_not_empty() -> None:
    with pytest.raises(TypeError):
        f.one_of("personId", ["1) or (personId gt 0"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        f.one_of("personId", [True])
    with pytest.raises(ValueError):
        f.one_of("personId", [])


def unquote(literal: str) -> str:
    """The reading side of quote(), as the contract defines it."""
    assert literal[0] == literal[-1] == "'"
    out, i, body = [], 0, literal[1:-1]
    while i < len(body):
        if body[i] == "\\":
            out.append(body[i + 1])
            i += 2
        else:
            assert body[i] != "'", "an unescaped quote would end the literal early"
            out.append(body[i])
            i += 1
    return "".join(out)


@given(st.text())
def test_any_string_round_trips_through_its_literal(text: str) -> None:
    assert unquote(f.quote(text)) == text


@pytest.mark.parametrize("name", ["personId\n", "personId\n gt 0 or personId", "a/b\n"])
def test_a_column_name_with_a_trailing_newline_is_refused(name: str) -> None:
    # Found by test_fuzz: `$` in the check matched before a final newline.
    with pytest.raises(ValueError, match="not a valid archive column name"):
        f.column(name)
