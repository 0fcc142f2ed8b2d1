"""Issue 16 item 2: `status import` reads a page of rows at a time through the archive (by list
item id) instead of one GET per row, and reads and writes only the persons it must change, side
by side. Through the CLI against the sandbox tenant over real HTTP: the requests the tenant saw,
the outputs byte for byte, and a run stopped part-way on several workers."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from collections.abc import Callable, Generator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.status_batch import batches, rest_after_stop, rows_per_batch, side_by_side

from .conftest import AS_OF
from .helpers import HeldAnswers, start_cli

DAY = AS_OF.isoformat()
REGISTERED = datetime(2025, 1, 10, 9, tzinfo=UTC)
PAGE = 100  # the test config's page_size: rows_per_batch(PAGE) = 99 rows a batch


def person_gets(tenant: SandboxTenant) -> list[int]:
    """The ids of every GET /v1/Person/{id} the tenant answered."""
    return [int(r[1].rsplit("/", 1)[1]) for r in tenant.requests
            if r[0] == "GET" and "/v1/Person/" in r[1]]  # fmt: skip


def writes(tenant: SandboxTenant) -> list[tuple[str, str, int]]:
    return [r for r in tenant.requests if r[0] in ("PATCH", "PUT", "DELETE")]


def person_archive(tenant: SandboxTenant) -> list[tuple[str, str, int]]:
    return [r for r in tenant.requests if r[1].endswith("/v1/Archive/Person")]


def write_import(path: Path, rows: list[str]) -> Path:
    path.write_text("person_id;status;moved_to;date\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- requests


def many_interested(n: int) -> SandboxTenant:
    """n persons holding "interested"; the first two also moved to Åre on 2025-08-27."""
    tenant = SandboxTenant(persons=0, today=AS_OF)
    for k in range(n):
        if k < 2:
            tenant.add_person(
                f"T{k}", "Flytt", registered=REGISTERED, status="moved", moved_to="Åre",
                move_date=date(2025, 8, 27),
            )  # fmt: skip
        else:
            tenant.add_person(f"T{k}", "Flytt", registered=REGISTERED, status="interested")
    return tenant


N = 297  # three batches of 99
CHANGED = {1003, 1004, 1005, 1006, 1007, 1002}


def mostly_unchanged_rows() -> list[str]:
    rows = []
    for pid in range(1001, 1001 + N):
        if pid == 1001:
            rows.append(f"{pid};moved;Åre;2025-08-27")  # holds all three already
        elif pid == 1002:
            rows.append(f"{pid};moved;Åre;2025-09-01")  # only the date differs
        elif pid in CHANGED:
            rows.append(f"{pid};moved;Krokom;2026-03-01")
        else:
            rows.append(f"{pid};interested;;")
    return rows


def test_an_import_of_unchanged_rows_asks_the_archive_a_page_at_a_time(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    """297 rows, 291 of which the tenant holds already: one archive question per batch of 99
    and per (status, moved-to) in it, and a GET and a PATCH for each of the six to change only;
    before, every row cost a GET (297 and more)."""
    tenant = many_interested(N)
    env = sandbox_env(tenant)
    file = write_import(tmp_path / "many.csv", mostly_unchanged_rows())
    result = env.run("status", "import", str(file), "--as-of", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    outcomes = {r["person_id"]: r["outcome"] for r in json.loads(result.stdout)}
    assert [pid for pid, o in outcomes.items() if o == "set"] == sorted(CHANGED)
    assert sum(o == "unchanged" for o in outcomes.values()) == N - len(CHANGED)
    assert "6 ändrade" in result.stderr and f"{N - len(CHANGED)} oförändrade" in result.stderr

    assert sorted(person_gets(tenant)) == sorted(CHANGED)  # no GET for an unchanged row
    assert sorted(int(r[1].rsplit("/", 1)[1]) for r in writes(tenant)) == sorted(CHANGED)
    # Batch 1: interested, moved to Åre, moved to Krokom; batches 2 and 3: interested.
    batch = rows_per_batch(PAGE)
    assert math.ceil(N / batch) == 3
    assert len(person_archive(tenant)) == 3 + 1 + 1
    assert len(tenant.requests) < N / 10
    person = tenant.person(1002)
    assert (person.status, person.moved_to, person.move_date) == (
        ids.MOVE_STATUS_VALUES["moved"], ids.MOVED_TO_VALUES["Åre"], date(2025, 9, 1),
    )  # fmt: skip
    assert tenant.person(1003).moved_to == ids.MOVED_TO_VALUES["Krokom"]

    # The same file again: nothing to write, and not a single person read.
    tenant.reset_stats()
    again = env.run("status", "import", str(file), "--as-of", DAY, "--format", "json")
    assert again.exit_code == 0, again.output
    assert {r["outcome"] for r in json.loads(again.stdout)} == {"unchanged"}
    assert writes(tenant) == [] and person_gets(tenant) == []
    assert len(person_archive(tenant)) == 3 + 1 + 1


def test_a_dry_run_reads_no_person_whose_row_is_unchanged(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    tenant = many_interested(N)
    env = sandbox_env(tenant)
    file = write_import(tmp_path / "many.csv", mostly_unchanged_rows())
    result = env.run("status", "import", str(file), "--dry-run", "--as-of", DAY, "-f", "csv")
    assert result.exit_code == 0, result.output
    would = [line.split(",")[1] for line in result.stdout.splitlines() if ",would_set," in line]
    assert sorted(map(int, would)) == sorted(CHANGED)
    assert sorted(person_gets(tenant)) == sorted(CHANGED)
    assert writes(tenant) == []


# ---------------------------------------------------------------- the same outputs


def mixed_tenant() -> SandboxTenant:
    tenant = SandboxTenant(persons=0, today=AS_OF)
    for k in range(4):
        tenant.add_person(f"M{k}", "Blandad", registered=REGISTERED, status="interested")
    tenant.add_person(
        "Q", "Redan", registered=REGISTERED, status="moved", moved_to="Åre",
        move_date=date(2025, 8, 27),
    )  # fmt: skip
    tenant.add_person("R", "Annan", registered=REGISTERED, status="moved", moved_to="Krokom")
    return tenant


MIXED_ROWS = [
    "1001;interested;;",  # unchanged
    "1002;moved;Krokom;2026-03-01",  # changed
    "424242;moved;;",  # no such person
    "1003;planning;Krokom;",  # contradicts itself: skipped
    "abc;moved;;",  # a bad line
    "1005;moved;Åre;2025-08-27",  # unchanged, date and all
    "1006;moved;Åre;",  # moved-to differs
    "",
    "1004;not_moving;;",  # changed
    "1001;moved;;",  # the same person twice
]
MIXED_CSV = "".join(
    line + "\n"
    for line in (
        "line,person_id,status,outcome,reason",
        "2,1001,interested,unchanged,",
        "3,1002,moved,set,",
        "4,424242,moved,failed,det finns ingen person med detta id",
        '5,1003,planning,skipped,"flyttat till Krokom men flyttstatus Planerar flytt, inte Har '
        'flyttat; inte ändrad (--yes ändrar ändå)"',
        "6,,moved,failed,person_id 'abc' är inte ett positivt heltal",
        "7,1005,moved,unchanged,",
        "8,1006,moved,set,",
        "9,,,skipped,tom rad",
        "10,1004,not_moving,set,",
        "11,1001,moved,skipped,person 1001 finns redan på rad 2",
    )
)
MIXED_DRY_RUN = MIXED_CSV.replace(",set,", ",would_set,")


@pytest.mark.parametrize("workers", [1, 8])
def test_a_mixed_file_gives_the_same_results_as_one_row_at_a_time(
    sandbox_env: Callable[..., Any], tmp_path: Path, workers: int
) -> None:
    """The results, byte for byte, as the import gave them when it read one row at a time
    (MIXED_CSV is that import's output), with one worker or eight."""
    tenant = mixed_tenant()
    env = sandbox_env(tenant, superoffice={"max_in_flight": workers})
    file = write_import(tmp_path / "mixed.csv", MIXED_ROWS)
    dry = env.run("status", "import", str(file), "--dry-run", "--as-of", DAY, "-f", "csv")
    assert dry.exit_code == 3, dry.output
    assert dry.stdout == MIXED_DRY_RUN
    assert writes(tenant) == []
    result = env.run("status", "import", str(file), "--as-of", DAY, "-f", "csv")
    assert result.exit_code == 3, result.output
    assert result.stdout == MIXED_CSV
    summary = "3 ändrade, 0 skulle ändras, 2 oförändrade, 3 överhoppade, 2 misslyckade\n"
    assert result.stderr == summary
    assert sorted(int(r[1].rsplit("/", 1)[1]) for r in writes(tenant)) == [1002, 1004, 1006]
    assert 1001 not in person_gets(tenant) and 1005 not in person_gets(tenant)


# ---------------------------------------------------------------- stopped part-way


def to_move(n: int, latency: float = 0.0) -> SandboxTenant:
    tenant = SandboxTenant(persons=0, today=AS_OF, latency=latency)
    for k in range(n):
        tenant.add_person(f"S{k}", "Stopp", registered=REGISTERED, status="interested")
    return tenant


def moved_file(folder: Path, n: int) -> Path:
    return write_import(folder / "moved.csv", [f"{1001 + k};moved;;" for k in range(n)])


def patched(tenant: SandboxTenant) -> list[int]:
    """The persons a PATCH was answered 200 for: written."""
    return sorted(int(r[1].rsplit("/", 1)[1]) for r in tenant.requests
                  if r[0] == "PATCH" and r[2] == 200)  # fmt: skip


def stopped_where(shown: list[int]) -> str:
    """What the stop line says of the lines shown (in file order, the rows from line 2 on):
    after the last one if none before it is missing, else at the first one missing."""
    missing = sorted(set(range(2, shown[-1])) - set(shown)) if shown else []
    return f"vid rad {missing[0]}:" if missing else f"efter rad {shown[-1] if shown else 0}:"


def test_an_import_stopped_part_way_on_several_workers_shows_every_write_it_made(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    """A lasting 503 for person 1004 stops the import; the persons being written beside it
    when it stopped are finished, and every person written is shown, in file order, and
    counted in the summary; 1004 is not."""
    tenant = to_move(12)
    settings = {"max_retries": 1, "max_retry_seconds": 1, "max_in_flight": 4}
    env = sandbox_env(tenant, superoffice=settings)
    tenant.faults.add("status", status=503, path="/v1/Person/1004", times=50)
    result = env.run("status", "import", str(moved_file(tmp_path, 12)), "--format", "json")
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)
    shown = [r["person_id"] for r in rows]
    assert shown[:3] == [1001, 1002, 1003] and 1004 not in shown
    assert [r["line"] for r in rows] == sorted(r["line"] for r in rows)
    assert {r["outcome"] for r in rows} == {"set"}
    assert sorted(shown) == patched(tenant)  # every write shown, nothing shown unwritten
    stderr = result.stderr.splitlines()
    shown_lines = [r["line"] for r in rows]
    assert stderr[0].startswith(f"{len(rows)} ändrade,")
    # 1004 (line 5) failed; the rows shown after it, if any, were written beside it.
    assert stderr[1].startswith(f"tasteget: importen stoppades {stopped_where(shown_lines)}")


def test_a_row_done_after_the_failing_one_makes_the_line_name_the_first_row_not_done(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    """Person 1004's read is held back until 1005 is being written, then fails for good: 1005
    is done and shown right after 1003, so the import did not stop "after" the last row
    shown. The line names 1004's line as the first row not done, in Swedish and English."""
    tenant = to_move(12)
    settings = {"max_retries": 1, "max_retry_seconds": 1, "max_in_flight": 4}
    env = sandbox_env(tenant, superoffice=settings)
    tenant.faults.add("status", status=503, path="/v1/Person/1004", times=50)

    def holds(method: str, path: str) -> bool:
        if method == "PATCH" and path.endswith("/v1/Person/1005"):
            held.release()  # 1005 is being written: 1004 may fail now
        return path.endswith("/v1/Person/1004")

    held = HeldAnswers(tenant, holds)
    result = env.run("status", "import", str(moved_file(tmp_path, 12)), "--format", "json")
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)
    shown = [r["person_id"] for r in rows]
    assert shown[:4] == [1001, 1002, 1003, 1005] and shown == patched(tenant)
    assert rows[2]["line"] == 4 and rows[3]["line"] == 6  # 1004 is line 5
    stopped = result.stderr.splitlines()[1]
    assert stopped.startswith("tasteget: importen stoppades vid rad 5: ")
    assert "raderna som visas ovan är gjorda, men inte rad 5 och de rader efter den" in stopped
    tenant.faults.clear()
    result = env.run("--lang", "en", "status", "import", str(moved_file(tmp_path, 12)))
    assert result.exit_code == 0, result.output  # the rest is done, the rows done unchanged
    assert sorted(set(patched(tenant))) == list(range(1001, 1013))


@pytest.mark.skipif(os.name == "nt", reason="Windows has no SIGINT/SIGTERM to send")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_on_eight_workers_still_shows_and_counts_every_write(
    sandbox_env: Callable[..., Any], tmp_path: Path, sig: int, code: int
) -> None:
    """Stopped by a signal while eight persons are being read and written: those finish, and
    each one written is a row of the output and counted in the summary."""
    tenant = to_move(300, latency=0.02)
    env = sandbox_env(tenant, superoffice={"max_in_flight": 8})
    argv = ["--config", str(env.config_path), "status", "import", str(moved_file(tmp_path, 300))]
    process = start_cli([*argv, "-f", "csv"], env.env)
    assert process.stdout is not None
    assert process.stdout.readline() == "line,person_id,status,outcome,reason\n"
    first = process.stdout.readline()
    assert first.startswith("2,1001,moved,set")
    process.send_signal(sig)
    # Read on through the same buffer: communicate() reads the pipe itself and would miss
    # what readline() has already taken from it.
    assert process.wait(timeout=60) == code
    assert process.stderr is not None
    rest, stderr = process.stdout.read(), process.stderr.read()
    rows = [first, *rest.splitlines()]
    assert len(rows) < 300
    shown = [int(line.split(",")[1]) for line in rows]
    assert shown == sorted(set(shown))  # in file order
    assert all(",moved,set," in line for line in rows)
    assert shown == patched(tenant)  # every write shown, nothing shown unwritten
    lines = stderr.splitlines()
    assert lines[-2].startswith(f"{len(rows)} ändrade,") and "Traceback" not in stderr
    where = stopped_where([int(line.split(",")[0]) for line in rows])
    assert lines[-1].startswith(f"tasteget: importen stoppades {where}")


# ---------------------------------------------------------------- the parts


def test_batches_are_bounded_and_keep_the_order() -> None:
    sizes = iter([3, 0, 2, 5, 5])
    assert list(batches(range(9), lambda: next(sizes))) == [[0, 1, 2], [3], [4, 5], [6, 7, 8]]
    assert list(batches([], lambda: 4)) == []
    assert rows_per_batch(100) == 99 and rows_per_batch(1) == 1


def test_side_by_side_answers_in_order_the_quick_ones_in_place() -> None:
    items = list(range(20))
    answers = side_by_side(lambda n: n * 10, items, 4, lambda n: -n if n % 3 == 0 else None)
    assert list(answers) == [-n if n % 3 == 0 else n * 10 for n in items]


def test_side_by_side_after_a_failure_answers_the_steps_under_way_then_raises() -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        if n == 5:
            raise ValueError("five")
        with lock:
            ran.append(n)
        return n

    got: list[int] = []
    with pytest.raises(ValueError, match="five"):
        for answer in side_by_side(work, list(range(40)), 4, lambda n: None):
            got.append(answer)
    assert got == sorted(ran) and got[:5] == [0, 1, 2, 3, 4]  # every step that ran is answered


@pytest.mark.parametrize("workers", [1, 4])
def test_a_stop_passed_in_hands_out_every_step_under_way_in_order(workers: int) -> None:
    """Ctrl-C while an answer is being shown: rest_after_stop passes it in; every step that ran
    is still answered, in order, the quick ones between them too, and then nothing more."""
    ran: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            ran.append(n)
        return n

    def results() -> Generator[int, None, None]:
        yield from side_by_side(work, list(range(60)), workers, lambda n: n if n % 4 == 0 else None)

    answers = results()
    got = [next(answers), next(answers)]
    got += rest_after_stop(answers, KeyboardInterrupt())
    assert got[:2] == [0, 1] and got == sorted(set(got))  # in order
    assert set(ran) <= set(got)  # every step that ran was answered
    assert len(got) < 60
    assert list(rest_after_stop(answers, KeyboardInterrupt())) == []  # finished: nothing more


def test_a_stop_while_waiting_hands_out_the_finished_steps_then_raises() -> None:
    """Ctrl-C that comes while the import waits for a step (here: a step raising it, which
    in_order passes on like an interrupt of the wait): the steps done are answered first."""
    release = threading.Event()
    ran: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        if n == 0:
            release.wait(10)
            raise KeyboardInterrupt
        with lock:
            ran.append(n)
        if len(ran) == 3:
            release.set()
        return n

    got: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        for answer in side_by_side(work, list(range(30)), 4, lambda n: None):
            got.append(answer)
    assert got == sorted(ran) and len(got) >= 3


class Boom(Exception):
    pass


@settings(max_examples=60, deadline=None)
@given(
    quick=st.lists(st.booleans(), max_size=30),
    workers=st.integers(1, 8),
    fail=st.none() | st.integers(0, 29),
    stop=st.none() | st.integers(0, 29),
)
def test_side_by_side_keeps_order_and_shows_every_step_that_ran(
    quick: list[bool], workers: int, fail: int | None, stop: int | None
) -> None:
    """Any mix of rows answered at once and rows worked on, on 1-8 workers, with a step that
    fails or a stop after some answers: the answers come in the items' order, each right, and
    every step that ran is answered; without either, every item is."""
    items = list(range(len(quick)))
    fail = fail if fail is not None and fail < len(items) and not quick[fail] else None
    ran: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        if n == fail:
            raise Boom
        with lock:
            ran.append(n)
        return n

    def results() -> Generator[int, None, None]:
        yield from side_by_side(work, items, workers, lambda n: n if quick[n] else None)

    answers = results()
    got: list[int] = []
    failed = False
    try:
        for answer in answers:
            got.append(answer)
            if stop is not None and len(got) > stop:
                got += rest_after_stop(answers, KeyboardInterrupt())
                break
    except Boom:
        failed = True
    assert got == sorted(set(got))  # in order, each once
    assert set(ran) <= set(got)  # every step that ran is answered
    if fail is not None:
        assert fail not in got and (failed or stop is not None)
    if failed:
        assert set(range(fail or 0)) <= set(got)  # everything before the failure
    if fail is None and stop is None:
        assert got == items
    if fail is None and stop is not None:
        assert got[: stop + 1] == items[: stop + 1]


@pytest.mark.skipif(os.name == "nt", reason="Windows has no SIGINT/SIGTERM to send")
def test_a_stop_goes_on_between_rows_and_a_second_one_at_once() -> None:
    """Ctrl-C during the import is noted and goes on at the next check, between rows (so it
    never lands inside a write or a thread pool's lock); a second Ctrl-C goes on at once,
    before the first was taken or after it (while the rows under way are being finished);
    ignored signals stay ignored, and the handlers are put back."""
    from ta_steget_cli.cli.held_stop import stops_held

    with stops_held() as held:
        signal.raise_signal(signal.SIGINT)
        carried_on = True  # nothing was raised: the row under way goes on
        with pytest.raises(KeyboardInterrupt):
            held.check()
        assert carried_on
        held.check()  # taken once
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        held.check()  # the second one was the stop: nothing is left over
    with stops_held() as held:
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        held.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stops_held():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
