"""Several workers under one limiter, against the sandbox over real HTTP on 127.0.0.1: what the
tenant sees (never more starts in a second than requests_per_second, never more at once than
max_in_flight) and what people see (the same rows, byte for byte, with one worker or eight)."""

from __future__ import annotations

import json
import platform
import sys
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import journal as j
from ta_steget_cli.parallel import share_malloc_arenas
from ta_steget_cli.sandbox import SandboxTenant
from ta_steget_cli.superoffice.limiter import Limiter

from .conftest import AS_OF
from .helpers import most_in_one_second, most_in_window

OLD = datetime(2018, 2, 3, 9, 0, tzinfo=UTC)


def test_the_window_count_is_right() -> None:
    assert most_in_one_second([0.0, 0.5, 1.0, 1.01, 2.5]) == 3
    assert most_in_one_second([0.0, 1.5, 3.0]) == 1
    assert most_in_one_second([]) == 0


def old_persons(n: int, latency: float) -> SandboxTenant:
    tenant = SandboxTenant(persons=0, seed=4, today=AS_OF, latency=latency)
    for k in range(n):
        tenant.add_person("Test", f"P{k}", registered=OLD + timedelta(days=k))
    return tenant


def test_eight_workers_never_start_more_than_the_rate_in_any_second(
    sandbox_env: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A purge of 20 persons (a read and a delete each) on eight workers, at 10 requests per
    second, against answers that take 200 ms: the client's limiter never lets more than 10
    requests go in one closed second (the moments it let each go: a thread that notes the time
    after being let go can be held up 50 ms and more on a busy machine), and the sandbox's own
    record of when each arrived never has more than 10 in a second less 100 ms for the way here
    (requests that left a second apart can arrive closer), nor more than 8 under way at once."""
    started: list[float] = []
    init = Limiter.__init__

    class Noted(deque[float]):
        def append(self, moment: float) -> None:
            started.append(moment)
            super().append(moment)

    def noting(self: Limiter, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._starts = Noted()  # the limiter's window: every start it lets go passes here

    monkeypatch.setattr(Limiter, "__init__", noting)
    env = sandbox_env(
        old_persons(20, latency=0.2),
        purge={"max_share": 1.0},
        superoffice={"requests_per_second": 10, "max_in_flight": 8},
    )
    plan_path = tmp_path / "plan.json"
    made = env.run("purge", "--dry-run", "--as-of", AS_OF.isoformat(), "--plan-out", str(plan_path))
    assert made.exit_code == 0, made.output
    env.tenant.reset_stats()
    result = env.run("purge", "--plan", str(plan_path), "--yes")
    assert result.exit_code == 0, result.output
    deletes = [r for r in env.tenant.requests if r[0] == "DELETE" and r[2] == 204]
    assert len(deletes) == 20
    assert len(env.tenant.arrivals) >= 41  # a read and a delete each, and the re-check
    assert len(started) >= 41
    assert most_in_one_second(started) <= 10
    assert most_in_window(env.tenant.arrivals, 0.9) <= 10
    assert env.tenant.most_busy <= 8


READ_COMMANDS = [
    ("overdue", "--all"),
    ("status", "list", "--kommun", "Krokom"),
    ("status", "list", "--region"),
    ("purge", "--dry-run"),
    ("report", "--year", str(AS_OF.year)),
    ("report", "--quarter", f"{AS_OF.year}Q1", "--trend"),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c[:2] + c[-1:]))
def test_one_worker_and_eight_show_the_same_rows(
    sandbox_env: Callable[..., Any], command: tuple[str, ...]
) -> None:
    """Every read command's rows, with many pages and id chunks to read (page size 25), are the
    same bytes whether one request or eight go at once."""
    tenant = SandboxTenant(persons=600, seed=11, today=AS_OF)
    outputs = []
    for workers in (1, 8):
        env = sandbox_env(
            tenant,
            purge={"max_share": 1.0},
            superoffice={"max_in_flight": workers, "page_size": 25},
        )
        tenant.reset_stats()
        result = env.run(*command, "--as-of", AS_OF.isoformat(), "--format", "json")
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout_bytes)
        assert len(tenant.requests) > 10  # pages and chunks enough for workers to share
        if workers == 8:
            assert tenant.most_busy <= 8
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])  # rows, not an empty answer


def test_an_undo_on_eight_workers_brings_everyone_back(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(
        old_persons(12, latency=0.0), purge={"max_share": 1.0}, superoffice={"max_in_flight": 8}
    )
    plan_path = tmp_path / "plan.json"
    made = env.run("purge", "--dry-run", "--as-of", AS_OF.isoformat(), "--plan-out", str(plan_path))
    assert made.exit_code == 0, made.output
    assert env.run("purge", "--plan", str(plan_path), "--yes").exit_code == 0
    journal, _, _ = j.purge_files(env.data_dir, j.read_plan(plan_path).key)
    assert sum(1 for p in env.tenant._persons if p.deleted_at is not None) == 12
    result = env.run("purge", "--undo", str(journal), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["restored"] == 12
    assert all(p.deleted_at is None for p in env.tenant._persons)
    states = j.journal_states(journal)
    assert {s["step"] for s in states.values()} == {"undone"}


# ---------------------------------------------------------------- split keyset scans (respx)


def split_scan_ids(
    ids: list[int], page_size: int, workers: int, answer: float = 0.3
) -> tuple[list[int], int]:
    """The ids a scan read and the requests it took, against a tenant that takes `answer`
    seconds (on the fake clock) for every answer, at 10 requests per second."""
    import respx

    from tests.superoffice_fakes import API, FakeArchive, FakeClock, client

    archive = FakeArchive(ids)
    clock = FakeClock()

    def answered_after_a_while(request: Any) -> Any:
        clock.now += answer
        return archive(request)

    with respx.mock(assert_all_called=False) as mock:
        mock.route(url=f"{API}/v1/Archive/Person").mock(side_effect=answered_after_a_while)
        so = client(clock, page_size=page_size, max_in_flight=workers, requests_per_second=10)
        rows = [r["personId"] for r in so.scan("Person", select=["fullName"])]
    return rows, len(archive.requests)


def test_a_long_scan_in_ranges_is_in_key_order_near_the_minimum() -> None:
    ids = list(range(1, 1000, 3))
    rows, requests = split_scan_ids(ids, page_size=10, workers=4)
    assert rows == ids
    minimum = -(-(len(ids) + 1) // 10)
    assert requests <= 1.2 * minimum


def test_rows_denser_than_the_first_pages_showed_are_all_read_in_order() -> None:
    ids = list(range(1, 200, 5)) + list(range(200, 400)) + [5000, 5001]
    rows, _ = split_scan_ids(ids, page_size=10, workers=4)
    assert rows == ids


def test_a_tenant_faster_than_the_rate_is_read_one_page_at_a_time() -> None:
    """Answers within the 100 ms that 10 requests per second give one request: ranges would
    not be faster (the rate sets the pace), only add the highest-key question and slack, so
    the scan goes on page by page and costs the minimum. Slower answers: ranges."""
    ids = list(range(1, 1000, 3))
    minimum = -(-(len(ids) + 1) // 10)
    assert split_scan_ids(ids, page_size=10, workers=4, answer=0.05) == (ids, minimum)
    rows, requests = split_scan_ids(ids, page_size=10, workers=4, answer=0.3)
    assert rows == ids and requests > minimum  # the highest key, and ranges side by side


def test_a_short_scan_costs_what_it_did() -> None:
    ids = list(range(1, 16))
    assert split_scan_ids(ids, page_size=10, workers=4) == (ids, 2)
    assert split_scan_ids(ids, page_size=5, workers=4)[0] == ids


def test_workers_share_two_malloc_arenas_where_glibc_allows() -> None:
    """glibc gives every allocating thread an arena of its own, where freed pages of parsed
    answers stay: on glibc the setting is taken (and only there is it tried)."""
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert share_malloc_arenas() is glibc
    assert share_malloc_arenas() is glibc  # once per process; asking again changes nothing
