"""Status in the users' words and a review that shows before it writes (issue 13 items 1, 2),
through the CLI against the sandbox tenant over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ta_steget_cli.sandbox import SandboxTenant, ids

from .conftest import AS_OF

DAY = AS_OF.isoformat()
MOVED = ids.MOVE_STATUS_VALUES["moved"]
PLANNING = ids.MOVE_STATUS_VALUES["planning"]
NOT_MOVING = ids.MOVE_STATUS_VALUES["not_moving"]
INTERESTED = ids.MOVE_STATUS_VALUES["interested"]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def said(result: Any) -> str:
    return " ".join(result.output.split())


def patches(tenant: SandboxTenant) -> list[tuple[str, str, int]]:
    return [r for r in tenant.requests if r[0] == "PATCH"]


@pytest.fixture
def tenant() -> SandboxTenant:
    t = SandboxTenant(persons=0, today=AS_OF)
    t.add_person("Anna", "Öberg", registered=utc("2025-01-10T09:00:00"), kommuner=["Krokom"],
                 status="planning", email="anna@example.com", phone="070-174 06 10",
                 preferred="phone", our_contact="ELNY")  # fmt: skip
    t.add_person("Bo", "Åslund", registered=utc("2025-06-01T09:00:00"),
                 kommuner=["Krokom", "Östersund"], status="interested")  # fmt: skip
    t.add_person("Cia", "Ek", registered=utc("2025-09-01T09:00:00"), kommuner=["Krokom"],
                 status="moved", moved_to="Östersund", move_date=date(2025, 12, 1),
                 email="cia@example.net", preferred="email")  # fmt: skip
    t.add_person("Dan", "Berg", registered=utc("2025-10-01T09:00:00"), kommuner=["Krokom"])
    return t


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ta_steget_cli.cli.status.has_terminal", lambda: True)


# ---------------------------------------------------------------- 1. the users' words


def test_an_excel_saved_windows_1252_file_with_swedish_status_names_imports(
    sandbox_env, tenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant)
    file = tmp_path / "excel.csv"
    rows = [
        "person_id;status;moved_to;date",
        "1001;Har flyttat;ostersund;2026-02-01",
        "1002; flyttar INTE ;;",
        "1004;planerar flytt;;",
        "",
    ]
    file.write_bytes("\r\n".join(rows).encode("cp1252"))
    result = env.run("status", "import", str(file), "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["outcome"] for r in json.loads(result.stdout)] == ["set", "set", "set"]
    anna = tenant.person(1001)
    assert (anna.status, anna.moved_to, anna.move_date) == (
        MOVED, ids.MOVED_TO_VALUES["Östersund"], date(2026, 2, 1)
    )  # fmt: skip
    assert tenant.person(1002).status == NOT_MOVING
    assert tenant.person(1004).status == PLANNING
    assert "3 ändrade" in result.stderr


def test_set_accepts_the_name_in_any_case_and_answers_in_swedish(sandbox_env, tenant) -> None:
    env = sandbox_env(tenant)
    result = env.run("status", "set", "1002", "  har FLYTTAT ", "--moved-to", "are",
                     "--date", "2026-01-15", "--as-of", DAY)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Person 1002: flyttstatus satt till Har flyttat."
    assert tenant.person(1002).moved_to == ids.MOVED_TO_VALUES["Åre"]
    english = env.run("--lang", "en", "status", "set", "1004", "Not moving")
    assert english.stdout.strip() == "Person 1004: move status set to Not moving."


def test_the_tenants_own_list_item_name_is_accepted(sandbox_env, tenant, monkeypatch) -> None:
    from ta_steget_cli.sandbox import entity

    # This tenant calls "interested" something the tool has no word for.
    names = {**entity.LIST_ITEMS[ids.MOVE_STATUS_LIST], INTERESTED: "Nyfiken på länet"}
    monkeypatch.setitem(entity.LIST_ITEMS, ids.MOVE_STATUS_LIST, names)
    env = sandbox_env(tenant)
    result = env.run("status", "set", "1001", "nyfiken på länet")
    assert result.exit_code == 0, result.output
    assert tenant.person(1001).status == INTERESTED
    unknown = env.run("status", "set", "1001", "emigrerat")
    assert unknown.exit_code == 2
    assert "interested (Nyfiken på länet)" in said(unknown)


def list_to(env: Any, path: Path) -> None:
    result = env.run("status", "list", "-k", "krokom", "--as-of", DAY, "--output", str(path))
    assert result.exit_code == 0, result.output


def test_a_list_imports_back_with_zero_changes(sandbox_env, tenant, tmp_path: Path) -> None:
    env = sandbox_env(tenant)
    path = tmp_path / "krokom.csv"
    list_to(env, path)
    result = env.run("status", "import", str(path), "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    outcomes = [(r["person_id"], r["outcome"]) for r in json.loads(result.stdout)]
    assert outcomes == [
        (1001, "unchanged"),
        (1002, "unchanged"),
        (1003, "unchanged"),
        (1004, "skipped"),
    ]  # fmt: skip  (Dan has no status to import)
    assert not patches(tenant)


def test_a_list_saved_by_swedish_excel_and_edited_changes_only_the_edit(
    sandbox_env, tenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant)
    path = tmp_path / "krokom.csv"
    list_to(env, path)
    # What Swedish Excel does on save: semicolons, Windows-1252, CRLF; the guide edits Bo's row.
    lines = path.read_text(encoding="utf-8").splitlines()
    import csv
    import io

    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    for row in rows:
        if row[0] == "1002":
            row[2:5] = ["Har flyttat", "Bräcke", "2026-03-02"]
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode("cp1252"))
    result = env.run("status", "import", str(path), "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    outcomes = {r["person_id"]: r["outcome"] for r in json.loads(result.stdout)}
    assert outcomes == {1001: "unchanged", 1002: "set", 1003: "unchanged", 1004: "skipped"}
    bo = tenant.person(1002)
    assert (bo.status, bo.moved_to, bo.move_date) == (
        MOVED, ids.MOVED_TO_VALUES["Bräcke"], date(2026, 3, 2)
    )  # fmt: skip
    assert len(patches(tenant)) == 1


def test_import_skips_a_row_that_contradicts_itself_unless_yes(
    sandbox_env, tenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant)
    file = tmp_path / "c.csv"
    file.write_text("person_id,status,moved_to,date\n1002,interested,Krokom,\n"
                    "1004,moved,Krokom,2026-04-01\n", encoding="utf-8")  # fmt: skip
    result = env.run("status", "import", str(file), "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["outcome"] for r in rows] == ["skipped", "skipped"]
    assert "flyttat till Krokom men flyttstatus Intresserad" in rows[0]["reason"]
    assert "flyttdatumet 2026-04-01 har inte kommit än" in rows[1]["reason"]
    assert not patches(tenant)
    forced = env.run("status", "import", str(file), "--as-of", DAY, "--yes", "--format", "json")
    assert [r["outcome"] for r in json.loads(forced.stdout)] == ["set", "set"]


def test_set_warns_and_refuses_a_contradiction_without_a_terminal(sandbox_env, tenant) -> None:
    env = sandbox_env(tenant)
    refused = env.run("status", "set", "1002", "interested", "--moved-to", "Krokom",
                      "--as-of", DAY)  # fmt: skip
    assert refused.exit_code == 2
    assert "Varning: flyttat till Krokom men flyttstatus Intresserad" in said(refused)
    assert "--yes" in said(refused)
    future = env.run("status", "set", "1002", "moved", "--date", "2026-06-01", "--as-of", DAY)
    assert future.exit_code == 2 and "har inte kommit än" in said(future)
    assert not patches(tenant)
    forced = env.run("status", "set", "1002", "moved", "--date", "2026-06-01", "--as-of", DAY,
                     "--yes")  # fmt: skip
    assert forced.exit_code == 0, forced.output
    assert tenant.person(1002).move_date == date(2026, 6, 1)


# ---------------------------------------------------------------- 2. the review


def test_review_shows_moved_to_and_date_before_overwriting(sandbox_env, tenant, terminal) -> None:
    env = sandbox_env(tenant)
    # Cia only (--status by its Swedish name): shown with Östersund and the date; the guide
    # chooses "Intresserad", is warned that Östersund stays, declines, then keeps.
    result = env.run("status", "review", "-k", "Krokom", "--status", "har flyttat",
                     "--as-of", DAY, input="1\nn\n\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = said(result)
    assert "Genomgång av Krokom: 1 kontakter kvar av 1" in text
    assert "Person 1003: Cia Ek" in text
    assert "Flyttat till: Östersund" in text and "Flyttdatum: 2025-12-01" in text
    assert "E-post: cia@example.net" in text and "Kontaktväg: e-post" in text
    assert "Registrerad: 2025-09-01" in text and "Kommuner: Krokom" in text
    assert text.index("Flyttat till: Östersund") < text.index("Ny flyttstatus")
    assert "Varning: flyttat till Östersund men flyttstatus Intresserad" in text
    assert "Inte sparat" in text
    assert not patches(tenant)
    assert tenant.person(1003).status == MOVED


def test_review_confirmed_contradiction_is_written(sandbox_env, tenant, terminal) -> None:
    env = sandbox_env(tenant)
    result = env.run("status", "review", "-k", "Krokom", "--status", "moved", "--as-of", DAY,
                     input="1\nj\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert tenant.person(1003).status == INTERESTED
    assert len(patches(tenant)) == 1


def test_review_moved_keeps_the_shown_moved_to_on_enter(sandbox_env, tenant, terminal) -> None:
    env = sandbox_env(tenant)
    result = env.run("status", "review", "-k", "Krokom", "--status", "moved", "--as-of", DAY,
                     input="3\n\n2026-01-10\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Enter behåller Östersund" in said(result)
    cia = tenant.person(1003)
    assert (cia.moved_to, cia.move_date) == (ids.MOVED_TO_VALUES["Östersund"], date(2026, 1, 10))


def test_review_filters_by_our_contact(sandbox_env, tenant, terminal) -> None:
    env = sandbox_env(tenant)
    result = env.run("status", "review", "-k", "Krokom", "--our-contact", "elin nyberg",
                     "--as-of", DAY, input="q\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = said(result)
    assert "1 kontakter kvar av 1" in text
    assert "Anna Öberg" in text and "Telefon: 070-174 06 10" in text
    assert "Kontaktväg: telefon" in text and "Vår kontakt: Elin Nyberg" in text
    assert "Bo Åslund" not in text


def test_an_edited_workbook_with_swedish_headings_imports(
    sandbox_env, tenant, tmp_path: Path
) -> None:
    """A list as a person keeps it in Excel: Swedish headings, typed cells (a number id, a real
    date), the tool's words for the status; the columns for the reader are read past."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Id", "Namn", "Flyttstatus", "Flyttat till", "Flyttdatum", "Registrerad",
                  "Kommuner", "Senaste aktivitet"])  # fmt: skip
    sheet.append([1001, "Anna Öberg", "Planerar flytt", None, None, date(2025, 1, 10),
                  "Krokom", None])  # fmt: skip
    sheet.append([1003, "Cia Ek", "Har flyttat", "Östersund", datetime(2025, 12, 1),
                  date(2025, 9, 1), "Krokom", None])  # fmt: skip
    sheet.append([1004, "Dan Berg", "Har flyttat", "Krokom", date(2026, 2, 1), None, None, None])
    path = tmp_path / "krokom.xlsx"
    book.save(path)
    env = sandbox_env(tenant)
    result = env.run("status", "import", str(path), "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    outcomes = [(r["person_id"], r["outcome"]) for r in json.loads(result.stdout)]
    assert outcomes == [(1001, "unchanged"), (1003, "unchanged"), (1004, "set")]
    dan = tenant.person(1004)
    assert (dan.status, dan.moved_to, dan.move_date) == (
        MOVED, ids.MOVED_TO_VALUES["Krokom"], date(2026, 2, 1)
    )  # fmt: skip
    assert len(patches(tenant)) == 1


def test_a_file_that_is_not_a_workbook_is_one_usage_error(sandbox_env, tenant, tmp_path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("person_id,status\n1001,moved\n", encoding="utf-8")
    result = sandbox_env(tenant).run("status", "import", str(path))
    assert result.exit_code == 2
    assert "inte en .xlsx-arbetsbok" in result.output and "Traceback" not in result.output


def test_a_name_the_tenant_keeps_in_several_languages_is_read_in_each() -> None:
    """Without a language header SuperOffice answers a list text as SV:"...";US:"...";NO:"...";
    each part is a name of the status, and a plain text is one name."""
    from ta_steget_cli.status_words import item_names

    stored = 'SV:"Har flyttat";US:"Has moved";NO:"Har flyttet";'
    assert item_names(stored) == {"SV": "Har flyttat", "US": "Has moved", "NO": "Har flyttet"}
    assert item_names("Har flyttat") == {"": "Har flyttat"}
    assert item_names('SV:"Har flyttat"; och mer') == {"": 'SV:"Har flyttat"; och mer'}


def test_an_unknown_status_lists_the_tenants_names(sandbox_env, tenant) -> None:
    unknown = sandbox_env(tenant).run("status", "set", "1002", "emigrerat")
    assert unknown.exit_code == 2
    assert "moved (Har flyttat)" in said(unknown) and 'SV:"' not in said(unknown)


def test_a_list_written_as_xlsx_imports_back_with_zero_changes(
    sandbox_env, tenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant)
    path = tmp_path / "krokom.xlsx"
    list_to(env, path)
    result = env.run("status", "import", str(path), "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    outcomes = [(r["person_id"], r["outcome"]) for r in json.loads(result.stdout)]
    assert outcomes == [(1001, "unchanged"), (1002, "unchanged"), (1003, "unchanged"),
                        (1004, "skipped")]  # fmt: skip
    assert not patches(tenant)


# ---------------------------------------------------------------- any input, never a traceback

LIST_HEADER = "Id;Namn;Flyttstatus;Flyttat till;Flyttdatum;Registrerad;Kommuner;Senaste aktivitet\n"


@settings(deadline=None)
@given(st.binary(max_size=300))
@example(b"\r\x00")
@example(b"1001;x;Har flyttat;\xd6stersund;2026-13-01\r\n1001;;moved")
def test_random_rows_under_a_list_header_are_rows_or_one_usage_error(data: bytes) -> None:
    from ta_steget_cli import status
    from ta_steget_cli.errors import UsageError
    from ta_steget_cli.sandbox.tool_config import sandbox_config

    text = LIST_HEADER + data.decode("cp1252", errors="replace")
    checks = status.ImportChecks(as_of=AS_OF)
    try:
        rows = list(status.parse_import(sandbox_config(), text, "file", checks))
    except UsageError:
        return
    for row in rows:
        assert row.change is not None or (row.outcome and row.reason), row


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output + result.stderr
    assert "internal error" not in result.stderr
    assert result.exit_code in (0, 2, 3), result.output


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200))
@example(data=b"PK\x03\x04")
def test_random_bytes_named_xlsx_are_one_usage_error(sandbox_env, tmp_path, data) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    path = tmp_path / "import.xlsx"
    path.write_bytes(data)
    result = env.run("status", "import", str(path), "--dry-run")
    no_traceback(result)
    assert result.exit_code == 2


# openpyxl refuses to store control characters; anything else a person can type in a cell.
CELL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=12
) | st.sampled_from(["1001", "Har flyttat", "moved", "ostersund", "=1+1", "2026-02-30", " "])
CELL = st.one_of(
    st.none(),
    CELL_TEXT,
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.booleans(),
)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(CELL, max_size=9), max_size=6))
def test_any_cells_in_a_workbook_never_traceback(sandbox_env, tmp_path, rows) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Id", "Namn", "Flyttstatus", "Flyttat till", "Flyttdatum"])
    for row in rows:
        sheet.append(row)
    path = tmp_path / "cells.xlsx"
    book.save(path)
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    no_traceback(env.run("status", "import", str(path), "--dry-run", "--as-of", DAY))
