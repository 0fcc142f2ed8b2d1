"""Ctrl-C and SIGTERM while requests go side by side, through the CLI in a process of its own
against the sandbox tenant over real HTTP: a read command ends at its next request with the
interrupted exit code, the purge and its undo finish the persons under way and journal each of
them, and a second Ctrl-C stops at once. The sandbox holds its answers back while the signal is
sent, so nothing here waits on the clock: each step waits for something the test can see."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import journal as j
from ta_steget_cli.sandbox import SandboxTenant

from .conftest import AS_OF
from .helpers import HeldAnswers, start_cli
from .test_purge import big_tenant, check_consistent, deleted_ids, files_of, make_plan

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Windows has no SIGINT/SIGTERM to send")

DAY = AS_OF.isoformat()
NOTICE = "tasteget: stoppar när det som pågår är klart; Ctrl-C en gång till stoppar direkt"
STOPPED = {
    signal.SIGINT: (130, "tasteget: avbrutet"),
    signal.SIGTERM: (143, "tasteget: stoppat (SIGTERM)"),
}
PURGE_STOPPED = (
    "tasteget: avbrutet; varje steg hittills finns i loggen: kör samma kommando igen för att "
    "fortsätta"
)
# Answers held back for as long as a test needs: no read timeout or retry while they wait.
# A guard against a hang, not a wait: every step waits for something it can see.
PATIENCE = 120
PATIENT = {"timeout_seconds": 120, "request_deadline_seconds": 300}


class ErrLines:
    """A process's stderr, read line by line on a thread of its own (so that waiting for a
    line that never comes fails the test instead of hanging it)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self.lines: list[str] = []
        self._read: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        stream = process.stderr

        def read() -> None:
            for line in stream:
                self._read.put(line.rstrip("\n"))
            self._read.put(None)

        threading.Thread(target=read, daemon=True).start()

    def wait_for(self, wanted: str) -> None:
        while wanted not in self.lines:
            line = self._read.get(timeout=PATIENCE)
            assert line is not None, f"{wanted!r} never came: {self.lines}"
            self.lines.append(line)

    def all(self) -> list[str]:
        """Every line, once the process has closed its stderr."""
        while (line := self._read.get(timeout=PATIENCE)) is not None:
            self.lines.append(line)
        return self.lines


@contextmanager
def running(argv: list[str], env: Any) -> Iterator[tuple[subprocess.Popen[str], ErrLines]]:
    process = start_cli(["--config", str(env.config_path), *argv], env.env)
    try:
        yield process, ErrLines(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=PATIENCE)


def stopped_by(sig: int, process: subprocess.Popen[str], err: ErrLines, held: HeldAnswers) -> None:
    """Sends `sig` while answers are held back; lets them go once the CLI says it heard it."""
    try:
        process.send_signal(sig)
        err.wait_for(NOTICE)
    finally:
        held.release()
    process.wait(timeout=PATIENCE)


# ---------------------------------------------------------------- read commands

READS = {
    "overdue": ["overdue", "--all", "--as-of", DAY, "-f", "json"],
    "status list": ["status", "list", "--kommun", "Krokom", "--as-of", DAY, "-f", "json"],
    "report": ["report", "--year", str(AS_OF.year - 1), "--trend", "--as-of", DAY, "-f", "json"],
    "notify": ["notify", "--dry-run", "--send-empty", "--as-of", DAY],
    "purge --dry-run": ["purge", "--dry-run", "--as-of", DAY, "-f", "json"],
}


@pytest.mark.parametrize(
    ("command", "workers", "sig"),
    [
        ("overdue", 4, signal.SIGINT),
        ("overdue", 1, signal.SIGTERM),
        ("status list", 4, signal.SIGTERM),
        ("report", 4, signal.SIGINT),
        ("notify", 4, signal.SIGINT),
        ("purge --dry-run", 4, signal.SIGTERM),
    ],
)
def test_a_read_command_stops_at_its_next_request_with_the_interrupted_code(
    sandbox_env: Callable[..., Any], tmp_path: Path, command: str, workers: int, sig: int
) -> None:
    """Stopped while its first answers are held back: the requests under way are answered,
    no step starts another (a step may be a scan of many pages), and the run ends with the
    signal's code and line, no traceback, nothing on stdout and no file written."""
    tenant = SandboxTenant(persons=300, today=AS_OF)
    so = {**PATIENT, "max_in_flight": workers, "page_size": 10}
    env = sandbox_env(tenant, superoffice=so, notify={"outbox": str(tmp_path / "outbox")})
    held = HeldAnswers(tenant, lambda method, path: "/api/v1/" in path)
    with running(READS[command], env) as (process, err):
        held.wait_for(1)
        stopped_by(sig, process, err, held)
        asked = len(tenant.requests)
        assert process.stdout is not None
        out = process.stdout.read()
        lines = err.all()
    code, line = STOPPED[sig]
    assert process.returncode == code, lines
    assert lines[-1] == line and not any("Traceback" in x for x in lines)
    assert out == "" and not (tmp_path / "outbox").exists()
    # A whole run asks several times as many: the stop cut the scans short.
    before = len(tenant.requests)
    assert env.run(*READS[command]).exit_code == 0
    assert asked <= 4 * workers < len(tenant.requests) - before


# ---------------------------------------------------------------- the purge and its undo


def purge_env(sandbox_env: Callable[..., Any], workers: int) -> Any:
    so = {**PATIENT, "max_in_flight": workers}
    return sandbox_env(big_tenant(), purge={"max_share": 1.0}, superoffice=so)


def steps(journal: Path, step: str) -> set[int]:
    return {pid for pid, state in j.journal_states(journal).items() if state["step"] == step}


@pytest.mark.parametrize(("workers", "sig"), [(1, signal.SIGINT), (4, signal.SIGTERM)])
def test_a_stopped_purge_finishes_and_journals_the_persons_under_way(
    sandbox_env: Callable[..., Any], tmp_path: Path, workers: int, sig: int
) -> None:
    """Stopped while every worker's DELETE is unanswered: those persons are finished and
    journaled done (their deletes went out), nobody else is touched, and the same command
    carries on with the rest."""
    env = purge_env(sandbox_env, workers)
    plan_path = make_plan(env, tmp_path)
    held = HeldAnswers(env.tenant, lambda method, path: method == "DELETE")
    with running(["purge", "--plan", str(plan_path), "--yes"], env) as (process, err):
        held.wait_for(workers)  # every worker is inside a person, its DELETE sent
        stopped_by(sig, process, err, held)
        lines = err.all()
    assert process.returncode == STOPPED[sig][0], lines
    assert lines[-1] == PURGE_STOPPED and not any("Traceback" in x for x in lines)
    journal, backup, _ = files_of(env, plan_path)
    done = steps(journal, j.DONE)
    assert len(done) == workers and done == deleted_ids(env.tenant)
    assert len(j.journal_states(journal)) == workers  # no intent left open, nobody else begun
    assert done == {r["id"] for r in j.read_lines(backup)}
    result = env.run("purge", "--plan", str(plan_path), "--yes")
    assert result.exit_code == 0, result.output
    check_consistent(env, plan_path)


def test_a_second_ctrl_c_stops_a_purge_at_once(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    """The first Ctrl-C waits for the person under way; the second does not: the run ends
    with that person's DELETE still unanswered, its intent journaled for the next run."""
    env = purge_env(sandbox_env, 1)
    plan_path = make_plan(env, tmp_path)
    held = HeldAnswers(env.tenant, lambda method, path: method == "DELETE")
    with running(["purge", "--plan", str(plan_path), "--yes"], env) as (process, err):
        try:
            held.wait_for(1)
            process.send_signal(signal.SIGINT)
            err.wait_for(NOTICE)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=PATIENCE) == 130  # its DELETE is still held back
        finally:
            held.release()
        lines = err.all()
    assert lines[-1] == PURGE_STOPPED and not any("Traceback" in x for x in lines)
    journal, _, _ = files_of(env, plan_path)
    assert len(steps(journal, j.INTENT)) == 1 and len(j.journal_states(journal)) == 1


def test_a_stopped_undo_journals_every_person_brought_back(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    """Stopped while four Undeletes are unanswered: each person brought back has its line in
    the journal (written as the person is done, not when its turn comes to be counted), and
    the same command brings back the rest."""
    env = purge_env(sandbox_env, 4)
    plan_path = make_plan(env, tmp_path)
    assert env.run("purge", "--plan", str(plan_path), "--yes").exit_code == 0
    journal, _, _ = files_of(env, plan_path)
    gone = deleted_ids(env.tenant)
    held = HeldAnswers(env.tenant, lambda method, path: path.endswith("/Undelete"))
    with running(["purge", "--undo", str(journal)], env) as (process, err):
        held.wait_for(4)
        stopped_by(signal.SIGINT, process, err, held)
        lines = err.all()
    assert process.returncode == 130, lines
    assert lines[-1] == PURGE_STOPPED and not any("Traceback" in x for x in lines)
    back = gone - deleted_ids(env.tenant)
    assert len(back) == 4 and steps(journal, j.UNDONE) == back
    result = env.run("purge", "--undo", str(journal))
    assert result.exit_code == 0, result.output
    assert deleted_ids(env.tenant) == set()


# ---------------------------------------------------------------- the parts


class Stop(Exception):
    pass


def test_a_stop_is_taken_by_the_next_request_but_not_inside_a_persons_step() -> None:
    from ta_steget_cli.superoffice.deadline import Deadlines

    def stop() -> None:
        raise Stop

    deadlines = Deadlines(60, 5, None, None, lambda: 0.0)
    deadlines.check()
    with deadlines.person_step():
        deadlines.stop(stop)
        deadlines.check()  # the person under way is finished: its requests still go out
        deadlines.allow_wait(1)
    with pytest.raises(Stop):
        deadlines.check()
    with pytest.raises(Stop):
        deadlines.allow_wait(1)  # no retry is waited for either
    with pytest.raises(Stop), deadlines.person_step():
        pytest.fail("no new person begins after a stop")
    deadlines.stop(None)
    deadlines.check()


def test_in_order_raises_a_steps_own_timeout() -> None:
    """The answers are waited for in slices (parallel._result); a step that itself fails with
    TimeoutError is still that step's failure, not a wait to go on with."""
    from ta_steget_cli.parallel import in_order

    def step(n: int) -> int:
        if n == 2:
            raise TimeoutError("two")
        return n

    got: list[int] = []
    with pytest.raises(TimeoutError, match="two"):
        got.extend(in_order(step, range(5), 3))
    assert got[:2] == [0, 1] and 2 not in got
