"""`tasteget status list|set|import|review` against the sandbox tenant over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.superoffice import SuperOfficeClient

from .conftest import AS_OF

DAY = AS_OF.isoformat()
MOVED = ids.MOVE_STATUS_VALUES["moved"]
PLANNING = ids.MOVE_STATUS_VALUES["planning"]
NOT_MOVING = ids.MOVE_STATUS_VALUES["not_moving"]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def said(result: Any) -> str:
    """Everything printed, whitespace and panel borders collapsed (independent of wrapping)."""
    return " ".join(result.output.translate(str.maketrans("", "", "│╭╮╰╯─")).split())


def patches(tenant: SandboxTenant) -> list[tuple[str, str, int]]:
    return [r for r in tenant.requests if r[0] == "PATCH"]


@pytest.fixture
def tenant() -> SandboxTenant:
    """Three Krokom contacts, one shared with Östersund, and one region contact."""
    t = SandboxTenant(persons=0, today=AS_OF)
    a = t.add_person("Anna", "Öberg", registered=utc("2025-01-10T09:00:00"), kommuner=["Krokom"],
                     status="planning")  # fmt: skip
    t.add_activity(a, "appointment", date=utc("2025-02-03T10:00:00"))
    # A follow-up planned after the as-of date counts on the day it was written down.
    t.add_activity(a, "appointment", date=utc("2026-05-04T10:00:00"),
                   registered=utc("2026-03-02T08:00:00"))  # fmt: skip
    t.add_activity(a, "mailing", date=utc("2026-03-10T08:00:00"), registered_by=ids.MAILING_USER)
    b = t.add_person("Bo", "O'Brien", registered=utc("2025-06-01T09:00:00"),
                     kommuner=["Krokom", "Östersund"])  # fmt: skip
    t.add_person("Cia", "Ek", registered=utc("2025-09-01T09:00:00"), kommuner=["Krokom"],
                 status="moved", moved_to="Krokom", move_date=date(2025, 12, 1))  # fmt: skip
    t.add_person("Dan", "Berg", registered=utc("2025-02-01T09:00:00"), status="interested")
    # Registered after the as-of date: not in the register as it stood then.
    t.add_person("Eva", "Sen", registered=utc("2026-03-19T09:00:00"), kommuner=["Krokom"])
    t.add_activity(b, "document", date=utc("2025-06-02T23:30:00"))  # 2025-06-03 in Stockholm
    return t


# ---------------------------------------------------------------- list


def test_list_kommun_gives_status_keys_registration_and_last_activity(sandbox_env, tenant):
    env = sandbox_env(tenant)
    result = env.run("status", "list", "--kommun", "krokom", "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert items == [
        {"person_id": 1001, "name": "Anna Öberg", "status": "planning", "moved_to": None,
         "move_date": None, "registered": "2025-01-10", "kommuner": ["Krokom"],
         "last_activity": "2026-03-02"},
        {"person_id": 1002, "name": "Bo O'Brien", "status": None, "moved_to": None,
         "move_date": None, "registered": "2025-06-01", "kommuner": ["Krokom", "Östersund"],
         "last_activity": "2025-06-03"},
        {"person_id": 1003, "name": "Cia Ek", "status": "moved", "moved_to": "Krokom",
         "move_date": "2025-12-01", "registered": "2025-09-01", "kommuner": ["Krokom"],
         "last_activity": None},
    ]  # fmt: skip


def test_list_region_and_status_filter(sandbox_env, tenant):
    env = sandbox_env(tenant)
    region = env.run("status", "list", "--region", "--as-of", DAY, "--format", "json")
    assert [(i["person_id"], i["status"], i["kommuner"]) for i in json.loads(region.stdout)] == [
        (1004, "interested", [])
    ]
    moved = env.run("status", "list", "-k", "Krokom", "--status", "MOVED", "--as-of", DAY,
                    "--format", "csv")  # fmt: skip
    assert moved.exit_code == 0, moved.output
    lines = moved.stdout.splitlines()
    assert lines[0] == (
        "person_id,name,status,moved_to,move_date,registered,kommuner,last_activity"
    )
    assert lines[1:] == ["1003,Cia Ek,moved,Krokom,2025-12-01,2025-09-01,Krokom,"]


def test_list_requests_filter_on_item_ids_not_one_per_person(sandbox_env, tenant):
    env = sandbox_env(tenant)
    env.run("status", "list", "--kommun", "Krokom", "--as-of", DAY, "--format", "json")
    gets = [r for r in tenant.requests if r[0] in ("GET", "POST") and "/Archive/" in r[1]]
    # persons, 4 statuses, 8 moved-to items, the move dates, the 7 other municipalities,
    # 1 activity chunk: pages, never persons.
    assert len(gets) == 1 + len(ids.MOVE_STATUS_VALUES) + len(ids.MOVED_TO_VALUES) + 1 + 7 + 1
    assert not [r for r in tenant.requests if "/v1/Person/" in r[1]]


def test_list_reads_no_addresses_or_phones(sandbox_env, tenant, monkeypatch):
    """The list shows name, status and dates: the persons' addresses and phones stay in the
    tenant (only the review, which shows how to reach them, reads them)."""
    selected: set[str] = set()
    scan = SuperOfficeClient.scan

    def recorded(self: SuperOfficeClient, provider: str, **kwargs: Any) -> Any:
        selected.update(kwargs.get("select") or ())
        return scan(self, provider, **kwargs)

    monkeypatch.setattr(SuperOfficeClient, "scan", recorded)
    env = sandbox_env(tenant)
    result = env.run("status", "list", "--kommun", "Krokom", "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    assert [i["name"] for i in json.loads(result.stdout)] == ["Anna Öberg", "Bo O'Brien", "Cia Ek"]
    assert "fullName" in selected
    assert not {c for c in selected if "email" in c.lower() or "phone" in c.lower()}, selected


def test_list_bad_input(sandbox_env, tenant):
    env = sandbox_env(tenant)
    unknown = env.run("status", "list", "--kommun", "Oslo")
    assert unknown.exit_code == 2 and "Krokom" in said(unknown)
    neither = env.run("status", "list")
    assert neither.exit_code == 2 and "--region" in said(neither)
    bad_status = env.run("status", "list", "-k", "krokom", "--status", "gone")
    assert bad_status.exit_code == 2 and "not_moving" in said(bad_status)


# ---------------------------------------------------------------- set


def test_set_writes_status_moved_to_and_date_then_second_run_is_unchanged(sandbox_env, tenant):
    env = sandbox_env(tenant)
    result = env.run("status", "set", "1002", "moved", "--moved-to", "östersund",
                     "--date", "2026-02-27")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1002" in result.stdout
    person = tenant.person(1002)
    assert (person.status, person.moved_to, person.move_date) == (
        MOVED,
        ids.MOVED_TO_VALUES["Östersund"],
        date(2026, 2, 27),
    )
    assert [p[2] for p in patches(tenant)] == [200]

    again = env.run("status", "set", "1002", "Moved", "--moved-to", "Östersund",
                    "--date", "2026-02-27")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "redan" in again.stdout  # "har redan flyttstatus moved"
    assert len(patches(tenant)) == 1


def test_set_sends_only_changed_keys_with_a_test_on_updated_date(sandbox_env, tenant, monkeypatch):
    sent: list[Any] = []
    original = SuperOfficeClient.patch_person

    def spy(self: SuperOfficeClient, person_id: int, operations: list[dict[str, Any]]) -> Any:
        sent.append(operations)
        return original(self, person_id, operations)

    monkeypatch.setattr(SuperOfficeClient, "patch_person", spy)
    env = sandbox_env(tenant)
    updated = tenant.person(1001).updated
    assert env.run("status", "set", "1001", "not_moving").exit_code == 0
    assert sent == [[
        {"op": "test", "path": "UpdatedDate",
         "value": datetime.fromtimestamp(updated, UTC).strftime("%Y-%m-%dT%H:%M:%S")},
        {"op": "replace", "path": "CustomFields", "value": {ids.MOVE_STATUS_FIELD: "[I:204]"}},
    ]]  # fmt: skip
    assert tenant.person(1001).status == NOT_MOVING


def test_set_conflict_is_reported_and_not_overwritten(sandbox_env, tenant, monkeypatch):
    """Someone else sets the status between our GET and our PATCH."""
    original = SuperOfficeClient.get_person
    calls = []

    def read_then_someone_else_writes(self: SuperOfficeClient, person_id: int) -> Any:
        entity = original(self, person_id)
        calls.append(person_id)
        if len(calls) == 1:
            with tenant.lock:
                person = tenant.person(person_id)
                person.status = NOT_MOVING
                tenant.touch(person)
        return entity

    monkeypatch.setattr(SuperOfficeClient, "get_person", read_then_someone_else_writes)
    env = sandbox_env(tenant)
    result = env.run("status", "set", "1001", "moved")
    assert result.exit_code == 3, result.output
    assert "ändrad av någon annan" in said(result)
    assert "flyttstatus nu Flyttar inte" in said(result)  # what the re-read found
    assert tenant.person(1001).status == NOT_MOVING
    assert [p[2] for p in patches(tenant)] == [409]
    assert calls == [1001, 1001]  # read, then re-read after the 409


def test_set_bad_input(sandbox_env, tenant):
    env = sandbox_env(tenant)
    unknown = env.run("status", "set", "1001", "emigrated")
    assert unknown.exit_code == 2
    assert "interested (Intresserad), planning (Planerar flytt), moved" in said(unknown)
    missing = env.run("status", "set", "999999", "moved")
    assert missing.exit_code == 1 and "det finns ingen person med detta id" in said(missing)
    bad_date = env.run("status", "set", "1001", "moved", "--date", "2026-02-30")
    assert bad_date.exit_code == 2 and "ÅÅÅÅ-MM-DD" in said(bad_date)
    bad_kommun = env.run("status", "set", "1001", "moved", "--moved-to", "Oslo")
    assert bad_kommun.exit_code == 2 and "Oslo" in said(bad_kommun)
    assert not patches(tenant)
    assert "Traceback" not in said(unknown) + said(missing) + said(bad_date)


# ---------------------------------------------------------------- import


def write_semicolon_file(path: Path) -> Path:
    """As Swedish Excel saves it: a BOM, semicolons, CRLF, an empty line, padded cells."""
    rows = [
        "person_id;status;moved_to;date",
        "1001;moved;Krokom;2026-03-01",
        "1002;Not_Moving;;",
        "",
        "1003;moved;Krokom;2025-12-01",  # already so: unchanged
        "424242;moved;;",  # no such person
        "1004;emigrated;;",  # unknown status
        "1004;moved;;2026-13-01",  # bad date
        "1004;moved;Åre;2026-01-05;extra",  # too many columns
        "abc;moved;;",  # not an id
        "1002;planning;;",  # the same person twice
        "1004;;;",  # no status
        ";;;",  # a line Excel pads out
    ]
    path.write_bytes("\ufeff".encode() + "\r\n".join(rows).encode("utf-8") + b"\r\n")
    return path


def test_import_good_and_bad_rows_then_second_run_writes_nothing(sandbox_env, tenant, tmp_path):
    env = sandbox_env(tenant)
    file = write_semicolon_file(tmp_path / "status.csv")
    result = env.run("status", "import", str(file), "--format", "json")
    assert result.exit_code == 3, result.output
    rows = json.loads(result.stdout)
    got = [(r["line"], r["person_id"], r["outcome"]) for r in rows]
    assert got == [
        (2, 1001, "set"),
        (3, 1002, "set"),
        (4, None, "skipped"),
        (5, 1003, "unchanged"),
        (6, 424242, "failed"),
        (7, 1004, "failed"),
        (8, 1004, "failed"),
        (9, None, "failed"),
        (10, None, "failed"),
        (11, 1002, "skipped"),
        (12, 1004, "skipped"),
        (13, None, "skipped"),
    ]
    reasons = {r["line"]: r["reason"] for r in rows}
    assert reasons[4] == "tom rad"
    assert reasons[6] == "det finns ingen person med detta id"
    assert "okänd flyttstatus 'emigrated'" in reasons[7] and "not_moving" in reasons[7]
    assert "'2026-13-01' är inte ett datum" in reasons[8]
    assert "5 kolumner, men rubrikraden har 4" in reasons[9]
    assert "'abc' är inte ett positivt heltal" in reasons[10]
    assert "finns redan på rad 3" in reasons[11]
    assert reasons[12] == "ingen flyttstatus angiven"
    assert "2 ändrade" in result.stderr and "5 misslyckade" in result.stderr

    p1001, p1002 = tenant.person(1001), tenant.person(1002)
    assert (p1001.status, p1001.moved_to, p1001.move_date) == (
        MOVED,
        ids.MOVED_TO_VALUES["Krokom"],
        date(2026, 3, 1),
    )
    assert p1002.status == NOT_MOVING
    assert tenant.person(1004).status == ids.MOVE_STATUS_VALUES["interested"]
    assert len(patches(tenant)) == 2

    again = env.run("status", "import", str(file), "--format", "json")
    assert again.exit_code == 3  # the bad rows are still bad
    assert [r["outcome"] for r in json.loads(again.stdout)][:4] == [
        "unchanged", "unchanged", "skipped", "unchanged"
    ]  # fmt: skip
    assert len(patches(tenant)) == 2  # nothing more written


def test_import_comma_dry_run_writes_nothing_and_exits_0(sandbox_env, tenant, tmp_path):
    env = sandbox_env(tenant)
    file = tmp_path / "status.csv"
    file.write_text("Person_ID,Status\n1001,moved\n1004,interested\n", encoding="utf-8")
    result = env.run("status", "import", str(file), "--dry-run", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "line,person_id,status,outcome,reason",
        "2,1001,moved,would_set,",
        "3,1004,interested,unchanged,",
    ]
    assert not patches(tenant)
    assert tenant.person(1001).status == PLANNING


def test_import_bad_files_are_usage_errors(sandbox_env, tenant, tmp_path):
    env = sandbox_env(tenant)
    missing = env.run("status", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "filen finns inte" in said(missing)
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("1001;moved\n", encoding="utf-8")
    no_header = env.run("status", "import", str(headerless))
    assert no_header.exit_code == 2 and "rubrikraden person_id,status" in said(no_header)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n")
    assert env.run("status", "import", str(empty)).exit_code == 2
    assert not patches(tenant)


def test_import_reads_windows_1252_as_older_excel_saves_it(sandbox_env, tenant, tmp_path):
    env = sandbox_env(tenant)
    file = tmp_path / "ansi.csv"
    file.write_bytes("person_id;status;moved_to\n1002;moved;Östersund\n".encode("cp1252"))
    result = env.run("status", "import", str(file), "--format", "json")
    assert result.exit_code == 0, result.output
    assert tenant.person(1002).moved_to == ids.MOVED_TO_VALUES["Östersund"]


# ---------------------------------------------------------------- review


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ta_steget_cli.cli.status.has_terminal", lambda: True)


def test_review_needs_a_terminal(sandbox_env, tenant):
    env = sandbox_env(tenant)
    result = env.run("status", "review", "--kommun", "Krokom", input="1\n")
    assert result.exit_code == 2
    assert "behöver en terminal" in said(result)
    assert not patches(tenant)


def test_review_sets_keeps_stops_and_picks_up_again(sandbox_env, tenant, terminal):
    env = sandbox_env(tenant)
    # Anna: 4 (not_moving); Bo: Enter keeps; at Cia, q stops.
    first = env.run("status", "review", "-k", "krokom", "--as-of", DAY, input="4\n\nq\n")
    assert first.exit_code == 0, first.output
    assert "Anna Öberg" in said(first) and "Bo O'Brien" in said(first)
    assert "Cia Ek" in said(first)
    assert "efter person 1002" in said(first)
    assert tenant.person(1001).status == NOT_MOVING
    assert tenant.person(1002).status is None
    assert tenant.person(1003).moved_to == ids.MOVED_TO_VALUES["Krokom"]
    position = env.data_dir / "review" / "krokom.json"
    assert json.loads(position.read_text())["done_through"] == 1002

    # Picks up at Cia: a wrong answer is asked again, then moved to Åre on a date.
    second = env.run("status", "review", "-k", "Krokom", "--as-of", DAY,
                     input="gone\nHar flyttat\nÅre\n2026-03-01\n")  # fmt: skip
    assert second.exit_code == 0, second.output
    assert "Anna Öberg" not in second.output
    assert "Okänt svar 'gone'" in said(second)
    assert "alla kontakter i Krokom" in said(second)
    cia = tenant.person(1003)
    assert (cia.status, cia.moved_to, cia.move_date) == (
        MOVED,
        ids.MOVED_TO_VALUES["Åre"],
        date(2026, 3, 1),
    )
    assert not position.exists()  # done: the next review starts from the top
    assert len(patches(tenant)) == 2
