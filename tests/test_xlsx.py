"""Excel workbooks: `overdue`, `status list` and `report` write .xlsx against the sandbox tenant
over real HTTP; the files open with openpyxl with Swedish headings, typed date and number cells,
a frozen heading row with an autofilter, and no formula from register text. --output's suffix
chooses the format, and one that contradicts --format is a usage error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ta_steget_cli.output import Column, to_xlsx
from ta_steget_cli.sandbox import SandboxTenant
from tests.conftest import AS_OF


@pytest.fixture(scope="module")
def tenant() -> Any:
    return SandboxTenant(persons=400, seed=5, today=AS_OF)


def workbook(path: Path) -> Any:
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    return sheet


def headings(sheet: Any) -> list[str]:
    return [c.value for c in sheet[1]]


def column(sheet: Any, heading: str) -> list[Any]:
    index = headings(sheet).index(heading)
    return [row[index].value for row in sheet.iter_rows(min_row=2)]


def check_frame(sheet: Any, rows: int) -> None:
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{rows + 1}"
    assert sheet.max_row == rows + 1
    assert all(sheet.column_dimensions[c.column_letter].width >= 5 for c in sheet[1])


def test_overdue_workbook(sandbox_env: Any, tenant: Any, tmp_path: Path) -> None:
    env = sandbox_env(tenant)
    out = tmp_path / "krokom.xlsx"
    result = env.run("overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat(), "-o", str(out))
    assert result.exit_code == 0, result.output
    json_run = env.run("overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat(), "-f", "json")
    expected = json.loads(json_run.stdout)
    assert expected, "the tenant must have someone overdue in Krokom"
    sheet = workbook(out)
    assert headings(sheet)[:6] == [
        "Id", "Namn", "Kommuner", "Registrerad", "Svar senast", "Arbetsdagar sen",
    ]  # fmt: skip
    check_frame(sheet, len(expected))
    assert column(sheet, "Id") == [e["person_id"] for e in expected]
    registered = column(sheet, "Registrerad")
    assert all(isinstance(v, datetime) for v in registered)  # a date cell reads back as datetime
    assert [v.date().isoformat() for v in registered] == [e["registered"] for e in expected]
    assert sheet.cell(2, 4).number_format == "yyyy-mm-dd"
    assert column(sheet, "Arbetsdagar sen") == [e["working_days_overdue"] for e in expected]
    assert set(column(sheet, "Status")) <= {"försenad", "förfaller snart"}


def test_status_list_workbook(sandbox_env: Any, tenant: Any, tmp_path: Path) -> None:
    env = sandbox_env(tenant)
    out = tmp_path / "status.xlsx"
    result = env.run("status", "list", "--kommun", "Krokom", "--as-of", AS_OF.isoformat(),
                     "--format", "xlsx", "--output", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    sheet = workbook(out)
    assert headings(sheet) == [
        "Id", "Namn", "Flyttstatus", "Flyttat till", "Flyttdatum", "Registrerad", "Kommuner",
        "Senaste aktivitet",
    ]  # fmt: skip
    assert sheet.max_row > 2
    assert all(isinstance(v, int) for v in column(sheet, "Id"))
    assert any(isinstance(v, datetime) for v in column(sheet, "Senaste aktivitet"))
    assert all(isinstance(v, datetime) for v in column(sheet, "Registrerad") if v is not None)
    assert "interested" not in column(sheet, "Flyttstatus")  # people's words, not keys
    check_frame(sheet, sheet.max_row - 1)


def test_report_workbook(sandbox_env: Any, tenant: Any, tmp_path: Path) -> None:
    env = sandbox_env(tenant)
    out = tmp_path / "report.xlsx"
    result = env.run("report", "--year", "2025", "--as-of", AS_OF.isoformat(), "-o", str(out))
    assert result.exit_code == 0, result.output
    sheet = workbook(out)
    assert headings(sheet)[:4] == [
        "Period", "Kommun", "Nya registreringar", "Vill ha flyttvägledning",
    ]  # fmt: skip
    shares = column(sheet, "Andel i tid")
    assert any(isinstance(v, float) and 0 <= v <= 1 for v in shares)
    share_cell = sheet.cell(2, headings(sheet).index("Andel i tid") + 1)
    assert share_cell.number_format == "0%"
    assert all(isinstance(v, int) for v in column(sheet, "Nya registreringar"))
    assert "Totalt" in column(sheet, "Kommun")


def test_register_text_is_never_a_formula_and_links_are_links(tmp_path: Path) -> None:
    records = [
        {"name": "=HYPERLINK(\"http://x\")", "day": "2026-03-18", "n": -3,
         "link": "https://online.superoffice.com/Cust1/default.aspx?person_id=7"},
        {"name": "Åsa\x07 Öberg", "day": datetime(2026, 3, 18, 23, 30, tzinfo=UTC), "n": 1.5},
    ]  # fmt: skip
    columns = (Column("name", "Name"), Column("day", "Day"), Column("n", "N"))
    path = tmp_path / "x.xlsx"
    path.write_bytes(to_xlsx(records, columns, lang="sv"))
    sheet = workbook(path)
    formula = sheet.cell(2, 1)
    assert formula.data_type == "s" and formula.value == records[0]["name"]
    assert formula.hyperlink is not None and formula.hyperlink.target == records[0]["link"]
    assert sheet.cell(2, 2).value == datetime(2026, 3, 18)
    assert sheet.cell(3, 1).value == "Åsa Öberg"  # a control character Excel cannot hold
    assert sheet.cell(3, 2).value == datetime(2026, 3, 19, 0, 30)  # Stockholm wall-clock time
    assert (sheet.cell(2, 3).value, sheet.cell(3, 3).value) == (-3, 1.5)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-f", "csv", "-o", "x.xlsx"), "stämmer inte med --output x.xlsx"),
        (("-f", "xlsx", "-o", "x.json"), "stämmer inte med --output x.json"),
        (("-o", "x.html"), "kan inte skriva html"),
        (("-f", "csv", "-o", "x.xlsx", "EN"), "does not match --output x.xlsx"),
    ],
)
def test_output_suffix_and_format_must_agree(
    cli: Any, tmp_path: Path, args: tuple[str, ...], expected: str, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    lang = ("--lang", "en") if args[-1] == "EN" else ()
    args = tuple(a for a in args if a != "EN")
    result = cli(*lang, "--sandbox", "overdue", "--as-of", AS_OF.isoformat(), *args)
    assert result.exit_code == 2
    assert expected in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_suffix_chooses_the_format(cli: Any, tmp_path: Path) -> None:
    for suffix, magic in ((".xlsx", b"PK"), (".csv", b"person_id,"), (".json", b"[")):
        out = tmp_path / f"list{suffix}"
        result = cli("--sandbox", "overdue", "--as-of", AS_OF.isoformat(), "-o", str(out))
        assert result.exit_code == 0, result.output
        assert out.read_bytes().startswith(magic), suffix


def test_help_says_csv_is_the_machine_format(cli: Any) -> None:
    swedish = cli("overdue", "--help", env={"COLUMNS": "200"})
    assert "csv är formatet för program" in " ".join(swedish.stdout.split())
    english = cli("--lang", "en", "overdue", "--help", env={"COLUMNS": "200"})
    text = " ".join(english.stdout.split())
    assert "csv is the machine format" in text and "xlsx" in text
