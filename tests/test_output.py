"""Rendering: JSON is one array and nothing else, CSV is safe in a spreadsheet, tables read well."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ta_steget_cli.errors import UsageError
from ta_steget_cli.models import OverdueItem
from ta_steget_cli.output import Column, Format, choose_format, csv_safe, render

COLUMNS = [
    Column("person_id", "Id"),
    Column("name", "Name"),
    Column("kommuner", "Municipalities"),
    Column("due", "Due"),
]


def item(name: str, kommuner: tuple[str, ...] = ("Krokom",)) -> OverdueItem:
    return OverdueItem(
        person_id=7,
        name=name,
        kommuner=kommuner,
        registered=date(2026, 3, 2),
        due=date(2026, 3, 9),
        working_days_overdue=7,
        status="overdue",
        email=None,
        phone="+46 70 123 45 67",
        preferred_contact="phone",
        our_contact=None,
    )


def test_json_is_one_array_with_spec_keys(capsys: pytest.CaptureFixture[str]) -> None:
    render([item("Åsa O'Neil")], COLUMNS, fmt=Format.json, output=None)
    out = json.loads(capsys.readouterr().out)
    assert out == [
        {
            "person_id": 7,
            "name": "Åsa O'Neil",
            "kommuner": ["Krokom"],
            "registered": "2026-03-02",
            "due": "2026-03-09",
            "working_days_overdue": 7,
            "status": "overdue",
            "email": None,
            "phone": "+46 70 123 45 67",
            "preferred_contact": "phone",
            "our_contact": None,
            "link": None,
        }
    ]


def test_json_of_nothing_is_an_empty_array(capsys: pytest.CaptureFixture[str]) -> None:
    render([], COLUMNS, fmt=Format.json, output=None)
    assert json.loads(capsys.readouterr().out) == []


def test_datetimes_keep_their_offset(capsys: pytest.CaptureFixture[str]) -> None:
    moment = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    render([{"at": moment}], [Column("at", "Time")], fmt=Format.json, output=None)
    assert json.loads(capsys.readouterr().out) == [{"at": "2026-03-02T23:30:00+00:00"}]


def test_csv_has_keys_as_header_and_joins_lists(capsys: pytest.CaptureFixture[str]) -> None:
    render([item('Eva "Evi" Berg', ("Krokom", "Åre"))], COLUMNS, fmt=Format.csv, output=None)
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["person_id", "name", "kommuner", "due"],
        ["7", 'Eva "Evi" Berg', "Krokom, Åre", "2026-03-09"],
    ]


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("x")', "+46 70", "-2", "@SUM(A1)", "\tx"])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(dangerous: str) -> None:
    assert csv_safe(dangerous) == "'" + dangerous
    assert csv_safe("Anna") == "Anna"
    assert csv_safe("") == ""


@given(st.text())
def test_csv_safe_never_starts_with_a_formula_character(text: str) -> None:
    safe = csv_safe(text)
    # A phone number in international form (+ and digits only) runs nothing and stays as it is.
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r")) or re.fullmatch(r"\+[0-9]+", safe)
    # Control characters other than tab and line breaks (a NUL) are dropped, nothing else.
    assert safe.endswith(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text))


@pytest.mark.parametrize("phone", ["+46701234567", "+4670"])
def test_a_phone_number_in_international_form_is_not_quoted(phone: str) -> None:
    assert csv_safe(phone) == phone
    assert csv_safe(phone + "=1") == "'" + phone + "=1"


def test_table_shows_swedish_headings_and_caption() -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=120, color_system=None)
    render(
        [item("Zoë Νίκος")],
        COLUMNS,
        fmt=Format.table,
        output=None,
        footer="1 person",
        console=console,
    )
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Namn" in text and "Svar senast" in text
    assert "Zoë Νίκος" in text
    assert "1 person" in text


def test_output_file_format_follows_suffix(tmp_path: Path) -> None:
    target = tmp_path / "list.csv"
    render([item("Anna")], COLUMNS, fmt=None, output=target)
    assert target.read_text(encoding="utf-8").startswith("person_id,name,kommuner,due")
    assert choose_format(None, tmp_path / "x.json") is Format.json
    assert choose_format(Format.csv, tmp_path / "x.txt") is Format.csv
    with pytest.raises(UsageError, match=r"x\.json"):  # issue 14: a mismatch is an error
        choose_format(Format.csv, tmp_path / "x.json")


def test_output_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        render([item("Anna")], COLUMNS, fmt=Format.json, output=tmp_path / "no" / "x.json")


def test_csv_keeps_negative_numbers_as_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"working_days_overdue": -1, "name": "-Anna"}]
    cols = [Column("working_days_overdue", "Days"), Column("name", "Name")]
    render(rows, cols, fmt=Format.csv, output=None)
    assert capsys.readouterr().out.splitlines()[1] == "-1,'-Anna"


def test_table_prints_register_text_as_it_is_never_as_markup() -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=120, color_system=None)
    render([item("Anna [/x] [bold]Berg")], COLUMNS, fmt=Format.table, output=None, console=console)
    assert "Anna [/x] [bold]Berg" in console.file.getvalue()  # type: ignore[attr-defined]


def test_headings_come_from_the_catalogue() -> None:
    """A heading is its English title in English and the catalogue's Swedish by default; a
    title that is no message (a quarter) and an empty one read the same in both languages."""
    moved = Column("households_moved", "Households moved")
    assert (moved.heading("sv"), moved.heading("en")) == ("Flyttade hushåll", "Households moved")
    assert Column("2025Q4", "2025Q4").heading("sv") == "2025Q4"
    assert Column("figure", "").heading("sv") == ""


def test_the_old_swedish_english_pair_form_fails_at_once() -> None:
    with pytest.raises(TypeError):
        Column("name", "Namn", "Name")
