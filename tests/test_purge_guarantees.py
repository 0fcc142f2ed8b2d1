"""Issue 9's data-loss findings, each reproduced through the CLI against the sandbox over real
HTTP: undo of another tenant's journal (1), a delete that went through but answered an error (2),
a plan for a future date (3), a torn backup line after a full disk (4), and an Undelete whose
answer was lost (11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import journal as j
from ta_steget_cli.sandbox.entity import person_entity
from ta_steget_cli.workdays import today_stockholm
from tests.conftest import AS_OF, POSIX_MODES
from tests.test_purge import (
    apply,
    big_tenant,
    check_consistent,
    deleted_ids,
    files_of,
    make_plan,
    said,
)

ENTRY = "from ta_steget_cli.cli import main; main()"


def purged(env: Any, tmp_path: Path, name: str = "plan.json") -> Path:
    """Applies a fresh plan to the whole register; answers the journal."""
    plan_path = make_plan(env, tmp_path, name)
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output
    return files_of(env, plan_path)[0]


def undo(env: Any, journal: Path, *extra: str) -> Any:
    return env.run("--lang", "en", "purge", "--undo", str(journal), "-f", "json", *extra)


def apply_en(env: Any, plan_path: Path, *extra: str) -> Any:
    return env.run("--lang", "en", "purge", "--plan", str(plan_path), *extra)


# ---------------------------------------------------------------- 1: another tenant's journal


def test_undo_refuses_another_tenants_journal_and_never_marks_its_entries(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    # Two tenants with the same ids (same seed): ids mean different people in each.
    a = sandbox_env(big_tenant(6), purge={"max_share": 1.0})
    b = sandbox_env(big_tenant(6), purge={"max_share": 1.0})
    journal_a = purged(a, tmp_path, "a.json")
    purged(b, tmp_path, "b.json")
    assert deleted_ids(a.tenant) == deleted_ids(b.tenant) != set()
    gone_in_b = deleted_ids(b.tenant)

    result = undo(b, journal_a)
    assert result.exit_code == 2, result.output
    assert "--allow-other-tenant" in said(result) and a.server.api_url in said(result)
    assert len(result.stderr.splitlines()) == 1
    assert deleted_ids(b.tenant) == gone_in_b  # B's purged persons stay purged
    assert "undo_start" not in journal_a.read_text()  # the journal is not touched

    # Told explicitly, B's Undelete answers count for B only: A's own undo still brings back A's.
    result = undo(b, journal_a, "--allow-other-tenant")
    assert result.exit_code == 0, result.output
    assert deleted_ids(b.tenant) == set()
    result = undo(a, journal_a)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["restored"] == len(gone_in_b)
    assert deleted_ids(a.tenant) == set()


def test_allow_other_tenant_is_only_for_plan_and_undo(
    sandbox_env: Callable[..., Any],
) -> None:
    env = sandbox_env(big_tenant(2))
    result = env.run("purge", "--dry-run", "--as-of", AS_OF.isoformat(), "--allow-other-tenant")
    assert result.exit_code == 2 and "--allow-other-tenant" in said(result)


def test_undo_refuses_a_file_that_is_not_a_journal(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(2))
    plan_path = make_plan(env, tmp_path)
    before = plan_path.read_bytes()
    result = undo(env, plan_path)
    assert result.exit_code == 2 and "not a purge journal" in said(result)
    assert plan_path.read_bytes() == before


# ---------------------------------------------------------------- 2: maybe deleted


def test_a_delete_answered_500_after_the_commit_is_done_and_undone(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(5), purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    env.tenant.faults.add("committed_status", status=500, method="DELETE")
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output  # read back: it is gone, so it is done
    check_consistent(env, plan_path)
    journal, _, _ = files_of(env, plan_path)
    settled = [s for s in j.journal_states(journal).values() if "500" in s.get("reason", "")]
    assert len(settled) == 1 and settled[0]["deleted"] is True, j.journal_states(journal)
    result = undo(env, journal)
    assert result.exit_code == 0, result.output
    assert deleted_ids(env.tenant) == set()


def test_a_crash_after_the_delete_and_a_failed_reread_still_counts_as_maybe_deleted(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    # One request at a time: both faults are aimed at the attempts of one DELETE in turn.
    env = sandbox_env(
        big_tenant(5),
        purge={"max_share": 1.0},
        superoffice={"max_retries": 1, "max_in_flight": 1},
    )
    plan_path = make_plan(env, tmp_path)
    # The first DELETE goes through and its answer is lost, and so is the retry's: the run
    # stops with an intent and no outcome, as after a kill -9 right after the DELETE.
    env.tenant.faults.add("committed_drop", method="DELETE")
    env.tenant.faults.add("drop", method="DELETE")
    result = apply_en(env, plan_path, "--yes")
    assert result.exit_code == 1 and "run the same command again" in said(result)
    assert len(deleted_ids(env.tenant)) == 1
    # On resume, the one re-read that would settle it fails.
    env.tenant.faults.add("status", status=500, method="GET", path="/v1/Person/")
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 3, result.output
    # The next resume settles it by reading: gone after our intent, so deleted by us.
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output
    journal, _, _ = files_of(env, plan_path)
    assert all(s["deleted"] for s in j.journal_states(journal).values())
    result = undo(env, journal)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["restored"] == 5
    assert deleted_ids(env.tenant) == set()


def test_undo_tries_a_person_whose_delete_failed_after_the_intent(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    # One request at a time: the GET fault is aimed at the read that settles the DELETE.
    env = sandbox_env(
        big_tenant(3),
        purge={"max_share": 1.0},
        superoffice={"max_retries": 1, "max_in_flight": 1},
    )
    plan_path = make_plan(env, tmp_path)
    # A 500 after the commit, and the read that would tell fails too: the outcome is `failed`,
    # yet the person is in the recycle bin. Undo must try them all the same.
    env.tenant.faults.add("committed_status", status=500, method="DELETE")
    env.tenant.faults.add("status", status=500, method="GET", path="/v1/Person/", skip=1)
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 3, result.output
    journal, _, _ = files_of(env, plan_path)
    failed = [s for s in j.journal_states(journal).values() if s["step"] == "failed"]
    assert len(failed) == 1 and len(deleted_ids(env.tenant)) == 3
    result = undo(env, journal)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["restored"] == 3
    assert deleted_ids(env.tenant) == set()


# ---------------------------------------------------------------- 3: a plan for a future date


def test_a_future_as_of_is_refused_for_the_dry_run_and_the_plan(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(4), purge={"max_share": 1.0})
    future = (today_stockholm() + timedelta(days=2)).isoformat()
    plan_path = tmp_path / "future.json"
    for extra in ((), ("--plan-out", str(plan_path))):
        result = env.run("--lang", "en", "purge", "--dry-run", "--as-of", future, *extra)
        assert result.exit_code == 2, result.output
        assert f"--as-of {future}" in said(result) and "after today" in said(result)
        assert len(result.stderr.splitlines()) == 1
    assert not plan_path.exists()
    # today itself is fine
    result = env.run("purge", "--dry-run", "--as-of", today_stockholm().isoformat())
    assert result.exit_code == 0, result.output


def test_a_plan_whose_as_of_is_after_today_is_refused_whatever_the_overrides(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(4), purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    plan = j.read_plan(plan_path)
    j.write_plan(replace(plan, as_of=today_stockholm() + timedelta(days=400)), plan_path)
    overrides = ("--allow-other-tenant", "--allow-old-plan", "--allow-edited-plan")
    result = apply_en(env, plan_path, "--yes", "--allow-large-share", *overrides)
    assert result.exit_code == 2, result.output
    assert "after today" in said(result) and len(result.stderr.splitlines()) == 1
    assert deleted_ids(env.tenant) == set()


# ---------------------------------------------------------------- 4: torn lines


def tear(path: Path, text: str) -> None:
    with path.open("ab") as handle:
        handle.write(text.encode())


def test_a_torn_backup_and_journal_tail_is_moved_aside_before_appending(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(6), purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    # Two persons are done, then the connection goes for good.
    env.tenant.faults.add("drop", method="GET", path="/v1/Person/", skip=2, times=20)
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 1, result.output
    env.tenant.faults.clear()
    journal, backup, _ = files_of(env, plan_path)
    # What a crash (or a full disk) in the middle of a write leaves behind.
    tear(backup, '{"ts":"2026-03-18T10:00:00+00:00","id":9,"entity":{"PersonId":9,"Firstn')
    tear(journal, '{"ts":"2026-03-18T10:00:00+00:00","st')
    result = apply_en(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output
    aside = sorted(env.data_dir.glob("*.torn.jsonl"))
    assert len(aside) == 2
    if POSIX_MODES:
        assert all(p.stat().st_mode & 0o077 == 0 for p in aside)
    assert any(p.read_text().endswith('"Firstn') for p in aside)
    assert said(result).count("torn line") == 2 and all(str(p) in result.stderr for p in aside)
    assert backup.read_bytes().endswith(b"\n") and journal.read_bytes().endswith(b"\n")
    check_consistent(env, plan_path)  # every deleted person's backup line reads
    assert len(deleted_ids(env.tenant)) == 6
    assert env.run("purge", "--prune-backups").exit_code == 0  # not old yet: kept
    assert all(p.exists() for p in aside)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_mid_backup_loses_no_backup_once_space_is_back(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(6), purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    # The files may grow to two and a half backup lines: the third backup write fails half-way,
    # as on a full disk (the kernel refuses to grow the file: EFBIG instead of ENOSPC).
    line = json.dumps(person_entity(env.tenant.person(j.read_plan(plan_path).ids[0])))
    limit = len(line) * 5 // 2
    result = run_limited(env, limit, "purge", "--plan", str(plan_path), "--yes")
    assert result.returncode != 0
    assert 1 <= len(deleted_ids(env.tenant)) < 6
    result = run_limited(env, None, "purge", "--plan", str(plan_path), "--yes")
    assert result.returncode == 0, result.stderr
    check_consistent(env, plan_path)  # every deleted person's backup line reads


def run_limited(env: Any, limit: int | None, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, its files unable to grow past `limit` bytes."""

    def limit_files() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-c", ENTRY, "--config", str(env.config_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env.env},
        preexec_fn=limit_files if limit is not None else None,
    )


# ---------------------------------------------------------------- 11: a lost Undelete answer


def test_an_undelete_whose_answer_was_lost_is_reported_back(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(3), purge={"max_share": 1.0})
    journal = purged(env, tmp_path)
    # The first Undelete takes effect and its answer is lost; the retry finds the recycle bin
    # empty of that person. The next one answers 500 after it took effect.
    env.tenant.faults.add("committed_drop", path="/Undelete")
    env.tenant.faults.add("committed_status", status=500, path="/Undelete")
    result = undo(env, journal)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["status"] == "success" and answer["failed"] == []
    assert answer["restored"] + answer["already_present"] == 3
    assert deleted_ids(env.tenant) == set()
    # Run again: nothing left to do, nothing reported as missing from the recycle bin.
    result = undo(env, journal)
    assert result.exit_code == 0 and json.loads(result.stdout)["failed"] == []
