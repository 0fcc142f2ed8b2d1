"""Issue 9 finding 11 (the PATCH part): when SuperOffice commits our PATCH but its answer is lost
(a 503 or a dropped connection after the commit), the retry's `test` on UpdatedDate meets our own
change and comes back 409. The tool re-reads the person and reports what actually happened: set,
when the tenant now holds our values; a conflict only when it holds someone else's. Through the
CLI against the sandbox over real HTTP, with the sandbox's committed_* faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from tests.conftest import AS_OF

MOVED = ids.MOVE_STATUS_VALUES["moved"]
NOT_MOVING = ids.MOVE_STATUS_VALUES["not_moving"]
REGISTERED = datetime(2025, 5, 1, 9, tzinfo=UTC)


@pytest.fixture
def env(sandbox_env: Callable[..., Any]) -> Any:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    for first in ("Anna", "Bo", "Cia"):
        tenant.add_person(
            first, "Testsson", registered=REGISTERED, kommuner=["Krokom"], status="planning"
        )
    # One worker: the faults below take the PATCHes in the order they arrive, which with
    # several workers is not the file's order.
    return sandbox_env(tenant, superoffice={"max_in_flight": 1})


def patch_answers(tenant: SandboxTenant) -> list[int]:
    return [status for method, _path, status in tenant.requests if method == "PATCH"]


@pytest.mark.parametrize("fault", ["committed_status", "committed_drop"])
def test_status_set_whose_answer_was_lost_is_reported_set(env: Any, fault: str) -> None:
    env.tenant.faults.add(fault, status=503, method="PATCH")
    result = env.run("--lang", "en", "status", "set", "1001", "moved")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Person 1001: move status set to Has moved."
    assert env.tenant.person(1001).status == MOVED
    assert patch_answers(env.tenant) == [503 if fault == "committed_status" else 0, 409]


def test_status_import_whose_answers_were_lost_reports_each_row_set(
    env: Any, tmp_path: Path
) -> None:
    file = tmp_path / "status.csv"
    file.write_text("person_id,status\n1001,moved\n1002,not_moving\n1003,moved\n", "utf-8")
    env.tenant.faults.add("committed_status", status=503, method="PATCH")
    # skip=1: past the retry of the first PATCH (the first fault takes the first PATCH itself)
    env.tenant.faults.add("committed_drop", method="PATCH", skip=1)
    result = env.run("--lang", "en", "status", "import", str(file), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["person_id"], r["outcome"]) for r in rows] == [
        (1001, "set"),
        (1002, "set"),
        (1003, "set"),
    ]
    assert "first answer was lost" in rows[0]["reason"]
    assert "first answer was lost" in rows[1]["reason"]
    assert rows[2]["reason"] in (None, "")
    assert "3 set" in result.stderr and "0 unchanged" in result.stderr
    assert [env.tenant.person(p).status for p in (1001, 1002, 1003)] == [MOVED, NOT_MOVING, MOVED]


def test_someone_elses_change_after_a_lost_answer_is_still_a_conflict(env: Any) -> None:
    """Our first PATCH is lost before it reaches the tenant (a 503 that did nothing), and
    meanwhile someone else sets another status: the retry's 409 is theirs, and is said so."""
    tenant = env.tenant
    original = tenant.faults.take

    def someone_else_writes_when_the_503_is_answered(*args: Any, **kwargs: Any) -> Any:
        fault = original(*args, **kwargs)
        if fault is not None:
            person = tenant.person(1001)
            person.status = NOT_MOVING
            tenant.touch(person)
        return fault

    tenant.faults.take = someone_else_writes_when_the_503_is_answered  # type: ignore[method-assign]
    tenant.faults.add("status", status=503, method="PATCH")
    result = env.run("--lang", "en", "status", "set", "1001", "moved")
    assert result.exit_code == 3, result.output
    assert "changed by someone else" in result.stderr
    assert tenant.person(1001).status == NOT_MOVING
    assert patch_answers(tenant) == [503, 409]
