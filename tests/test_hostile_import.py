"""Issue 9, `status import` under hostile conditions, through the CLI against the sandbox tenant
over real HTTP: stopped part-way (8, and SIGTERM from 19), a repeated column (10), streaming
(16), UTF-16, NUL and the input as --output (19)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import status as st
from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.sandbox.tool_config import sandbox_config

from .conftest import AS_OF
from .helpers import start_cli

PERSONS = 12


@pytest.fixture
def tenant() -> SandboxTenant:
    t = SandboxTenant(persons=0, today=AS_OF)
    for n in range(PERSONS):
        t.add_person(f"Test{n}", "Person", registered=datetime(2025, 1, 10, 9, tzinfo=UTC))
    return t


def import_file(folder: Path, count: int = PERSONS, status: str = "moved") -> Path:
    path = folder / "status.csv"
    lines = ["person_id,status", *(f"{1001 + n},{status}" for n in range(count))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- 8: stopped part-way


def test_an_import_stopped_by_a_lasting_503_shows_the_rows_done_and_the_summary(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, tmp_path: Path
) -> None:
    # One worker: the rows after the failing one are exactly those not done (with several,
    # see test_an_import_stopped_part_way_on_several_workers_shows_every_write_it_made).
    settings = {"max_retries": 1, "max_retry_seconds": 1, "max_in_flight": 1}
    env = sandbox_env(tenant, superoffice=settings)
    env.tenant.faults.add("status", status=503, path="/v1/Person/1004", times=50)
    result = env.run("status", "import", str(import_file(tmp_path)), "--format", "json")
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)  # a whole JSON array, closed although the run stopped
    assert [(r["person_id"], r["outcome"]) for r in rows] == [
        (1001, "set"),
        (1002, "set"),
        (1003, "set"),
    ]
    stderr = result.stderr.splitlines()
    assert "3 ändrade" in stderr[0]
    assert stderr[1].startswith("tasteget: importen stoppades efter rad 4:")
    assert len(stderr) == 2


def test_an_import_to_a_file_stopped_part_way_keeps_the_rows_done(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant, superoffice={"max_retries": 0, "max_in_flight": 1})
    env.tenant.faults.add("status", status=503, path="/v1/Person/1003", times=50)
    out = tmp_path / "results.csv"
    result = env.run("--lang", "en", "status", "import", str(import_file(tmp_path)), "-o", str(out))
    assert result.exit_code == 1, result.output
    assert out.read_text(encoding="utf-8").splitlines() == [
        "line,person_id,status,outcome,reason",
        "2,1001,moved,set,",
        "3,1002,moved,set,",
    ]
    assert "2 set" in result.stderr and "the import stopped after line 3" in result.stderr


@pytest.mark.skipif(os.name == "nt", reason="Windows has no SIGINT/SIGTERM to send")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_import_stopped_by_a_signal_streams_rows_says_so_and_exits_with_its_code(
    sandbox_env: Callable[..., Any], tmp_path: Path, sig: int, code: int
) -> None:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    for n in range(200):
        tenant.add_person(f"T{n}", "Person", registered=datetime(2025, 1, 10, 9, tzinfo=UTC))
    tenant.latency = 0.02  # slow enough that the signal comes long before the end
    env = sandbox_env(tenant)
    argv = ["--config", str(env.config_path), "status", "import", str(import_file(tmp_path, 200))]
    process = start_cli([*argv, "-f", "csv"], env.env)
    assert process.stdout is not None
    assert process.stdout.readline() == "line,person_id,status,outcome,reason\n"
    first = process.stdout.readline()  # a result row, printed as it happened
    assert first.startswith("2,1001,moved,")
    process.send_signal(sig)
    rest, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    done = [first, *rest.splitlines()]
    assert len(done) < 200
    lines = stderr.splitlines()
    assert "ändrade" in lines[-2] and "Traceback" not in stderr
    assert lines[-1].startswith(
        ("tasteget: importen stoppades efter rad ", "tasteget: importen stoppades vid rad ")
    )
    assert "avbruten" in lines[-1]


# ---------------------------------------------------------------- 10: a repeated column


def test_a_repeated_column_in_the_header_is_a_usage_error(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant)
    path = tmp_path / "twice.csv"
    path.write_text("person_id,status,person_id\n1001,moved,1002\n", encoding="utf-8")
    result = env.run("status", "import", str(path))
    assert result.exit_code == 2
    assert "kolumnen person_id finns två gånger i rubrikraden" in result.stderr
    result = env.run("--lang", "en", "status", "import", str(path))
    assert "the column person_id appears twice in the header" in result.stderr
    assert not [r for r in tenant.requests if r[0] == "PATCH"]


# ---------------------------------------------------------------- 16: streaming


def test_the_import_reads_lines_only_as_it_needs_them() -> None:
    def endless() -> Iterator[str]:
        yield "person_id,status\n"
        n = 0
        while True:
            n += 1
            yield f"{n},moved\n"

    rows = st.parse_import(sandbox_config(), endless())
    first = next(rows)
    assert (first.line, first.person_id) == (2, 1)


def test_repeats_are_found_across_a_long_file_in_small_memory() -> None:
    seen = st.SeenIds()
    assert seen.first_line(5, 2) == 2 and seen.first_line(5, 9) == 2
    assert seen.first_line(st.SeenIds.REACH + 3, 4) == 4
    assert seen.first_line(st.SeenIds.REACH + 3, 8) == 4
    assert seen.first_line(1, 10) == 10


# ---------------------------------------------------------------- 19: encodings, NUL, output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf16_file_is_read_as_utf16(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, tmp_path: Path, encoding: str
) -> None:
    env = sandbox_env(tenant)
    path = tmp_path / "unicode.csv"
    path.write_bytes("person_id;status;moved_to\n1001;moved;Östersund\n".encode(encoding))
    result = env.run("status", "import", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["outcome"] == "set"
    assert tenant.person(1001).moved_to == ids.MOVED_TO_VALUES["Östersund"]


def test_a_nul_in_a_status_does_not_reach_the_output_csv(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant)
    path = tmp_path / "nul.csv"
    path.write_bytes(b"person_id,status\n1001,mov\x00ed\n")
    out = tmp_path / "out.csv"
    result = env.run("status", "import", str(path), "--output", str(out))
    assert result.exit_code == 3, result.output
    data = out.read_bytes()
    assert b"\x00" not in data and b"1001" in data


def test_the_file_being_imported_cannot_be_the_output(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, tmp_path: Path
) -> None:
    env = sandbox_env(tenant)
    path = import_file(tmp_path)
    before = path.read_bytes()
    for given in (str(path), str(tmp_path / "." / path.name)):
        result = env.run("--lang", "en", "status", "import", str(path), "--output", given)
        assert result.exit_code == 2
        assert "that is the file being imported" in result.stderr
    assert path.read_bytes() == before
    assert not [r for r in tenant.requests if r[0] == "PATCH"]


def test_a_phone_number_in_international_form_gets_no_quote_in_csv(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    tenant.add_person(
        "Pia",
        "Nyström",
        registered=datetime(2026, 3, 2, 9, tzinfo=UTC),
        kommuner=["Krokom"],
        phone="+46701234567",
    )
    env = sandbox_env(tenant)
    result = env.run("overdue", "--kommun", "Krokom", "--as-of", "2026-03-18", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert ",+46701234567," in result.stdout and "'+46" not in result.stdout


# ---------------------------------------------------------------- 9: review after a failed write


def test_review_keeps_its_position_before_a_person_whose_write_failed(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ta_steget_cli.cli.status.has_terminal", lambda: True)
    env = sandbox_env(tenant)
    env.tenant.faults.add("status", status=403, path="/v1/Person/1002", times=1)
    # 1001: not moving (written); 1002: not moving (refused); 1003 would be kept.
    first = env.run("status", "review", "--region", "--as-of", str(AS_OF), input="4\n4\n\n")
    assert first.exit_code == 3, first.output
    assert "Person 1002 ändrades inte" in first.output
    position = env.data_dir / "review" / "region.json"
    assert json.loads(position.read_text(encoding="utf-8"))["done_through"] == 1001
    second = env.run("status", "review", "--region", "--as-of", str(AS_OF), input="4\nq\n")
    assert "Person 1002" in second.output and "Person 1001:" not in second.output
    assert tenant.person(1002).status == ids.MOVE_STATUS_VALUES["not_moving"]
