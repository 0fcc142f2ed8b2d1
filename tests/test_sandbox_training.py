"""The training sandbox: `--sandbox` keeps its tenant between commands in the data folder, so a
move guide can practise "set the status, see it in the list", "answer the person, they leave the
overdue list" and "purge, then undo"; `sandbox reset` starts over; hints keep `--sandbox`.

Every test has its own data folder (conftest sets TASTEGET_SANDBOX_DIR), so none sees another's
changes whatever the order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ta_steget_cli.sandbox import TenantStore

AS_OF = "2026-03-18"


def state_dir() -> Path:
    return Path(os.environ["TASTEGET_SANDBOX_DIR"])


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def krokom(cli: Any, *extra: str) -> list[dict[str, Any]]:
    return as_json(
        cli("--sandbox", "status", "list", "--kommun", "Krokom", "--as-of", AS_OF, "-f", "json",
            *extra)
    )  # fmt: skip


def test_a_status_set_is_seen_by_the_next_list(cli) -> None:
    before = krokom(cli)
    person = next(p for p in before if p["status"] == "interested")
    result = cli("--sandbox", "status", "set", str(person["person_id"]), "moved",
                 "--moved-to", "krokom", "--date", "2026-03-01")  # fmt: skip
    assert result.exit_code == 0, result.output
    after = {p["person_id"]: p for p in krokom(cli)}
    assert after[person["person_id"]]["status"] == "moved"
    assert (state_dir() / "tenant.jsonl").exists()


def test_sandbox_reset_starts_over(cli) -> None:
    person = next(p for p in krokom(cli) if p["status"] == "interested")
    assert cli("--sandbox", "status", "set", str(person["person_id"]), "moved").exit_code == 0
    result = cli("sandbox", "reset")
    assert result.exit_code == 0, result.output
    assert "Övningsmiljön börjar om" in result.output  # the help's word for the sandbox
    assert not state_dir().exists()
    again = {p["person_id"]: p for p in krokom(cli)}
    assert again[person["person_id"]]["status"] == "interested"


def overdue_ids(cli: Any) -> list[int]:
    args = ("--sandbox", "overdue", "--kommun", "Krokom", "--as-of", AS_OF, "-f", "json")
    rows = as_json(cli(*args))
    return [r["person_id"] for r in rows]


def test_sandbox_respond_takes_a_person_off_the_overdue_list(cli) -> None:
    waiting = overdue_ids(cli)
    assert len(waiting) >= 2
    first = waiting[0]
    result = cli("--sandbox", "sandbox", "respond", str(first), "--kind", "chat",
                 "--by", "elny", "--as-of", AS_OF)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "chatt av ELNY" in result.stdout
    assert "tasteget --sandbox overdue" in result.stdout
    after = overdue_ids(cli)
    assert first not in after
    assert after == waiting[1:]


def test_sandbox_respond_refuses_an_unknown_person_or_guide(cli) -> None:
    result = cli("--sandbox", "sandbox", "respond", "999999", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "ingen person 999999" in result.output
    first = overdue_ids(cli)[0]
    result = cli("--sandbox", "sandbox", "respond", str(first), "--by", "NOBODY")
    assert result.exit_code == 2
    assert "ELNY" in result.output and "Traceback" not in result.output


def to_delete(cli: Any) -> int:
    result = cli("--sandbox", "purge", "--dry-run", "--as-of", AS_OF, "-f", "json")
    return len(as_json(result))


def test_purge_then_undo_restores_everyone(cli, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    result = cli("--sandbox", "purge", "--dry-run", "--as-of", AS_OF, "--plan-out", str(plan),
                 "-f", "json")  # fmt: skip
    candidates = len(as_json(result))
    assert candidates > 0
    assert "tasteget --sandbox purge --plan" in result.stderr
    applied = cli("--sandbox", "purge", "--plan", str(plan), "--yes")
    assert applied.exit_code == 0, applied.output
    assert to_delete(cli) == 0  # the next command sees them gone
    journal = next(state_dir().glob("purge-*.journal.jsonl"))
    undone = cli("--sandbox", "purge", "--undo", str(journal))
    assert undone.exit_code == 0, undone.output
    assert "not in the recycle bin" not in undone.output
    assert to_delete(cli) == candidates


def test_every_hint_in_sandbox_mode_keeps_sandbox(cli) -> None:
    result = cli("--sandbox", "purge", "--as-of", AS_OF, "-f", "json")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "tasteget " in line]
    assert lines
    for line in lines:
        assert line.count("tasteget ") == line.count("tasteget --sandbox "), line


def test_a_line_cut_short_by_a_crash_is_ignored(cli) -> None:
    person = next(p for p in krokom(cli) if p["status"] == "interested")
    assert cli("--sandbox", "status", "set", str(person["person_id"]), "planning").exit_code == 0
    state = state_dir() / "tenant.jsonl"
    with state.open("a", encoding="utf-8") as file:
        file.write('{"person": 1004, "fields": {"status"')  # the process died mid-write
    after = {p["person_id"]: p for p in krokom(cli)}
    assert after[person["person_id"]]["status"] == "planning"


def test_a_state_from_another_generator_starts_over_and_says_so(cli) -> None:
    person = next(p for p in krokom(cli) if p["status"] == "interested")
    assert cli("--sandbox", "status", "set", str(person["person_id"]), "planning").exit_code == 0
    state = state_dir() / "tenant.jsonl"
    lines = state.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header["fingerprint"] = "0" * 32
    state.write_text(json.dumps(header) + "\n", encoding="utf-8")
    result = cli("--sandbox", "status", "list", "--kommun", "Krokom", "--as-of", AS_OF, "-f",
                 "json")  # fmt: skip
    assert result.exit_code == 0
    assert "börjat om" in result.stderr
    assert state.with_suffix(".old").exists()  # the unusable state is kept, not deleted
    assert json.loads(state.read_text(encoding="utf-8").splitlines()[0])["fingerprint"] != "0" * 32
    again = cli("--sandbox", "status", "list", "--kommun", "Krokom", "--as-of", AS_OF, "-f", "json")
    assert "börjat om" not in again.stderr  # said once


def test_the_store_replays_deletes_and_activities(tmp_path: Path) -> None:
    from datetime import date

    store = TenantStore(tmp_path / "s")
    tenant = store.load(300, 1, date(2026, 3, 18))
    person = next(iter(tenant.persons()))
    tenant.delete(person)
    other = list(tenant.persons())[5]
    activity = tenant.respond(other.id, "document", "ANLA")
    again = TenantStore(tmp_path / "s").load(300, 1, date(2030, 1, 1))
    assert again.today == date(2026, 3, 18)  # laid out once, on first use
    assert again.live_person(person.id) is None
    assert any(a.id == activity and a.kind == "document" for a in again.person(other.id).activities)
    assert again.undelete(person.id)
    third = TenantStore(tmp_path / "s").load(300, 1, date(2026, 3, 18))
    assert third.live_person(person.id) is not None
