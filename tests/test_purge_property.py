"""Properties of applying and undoing a purge plan, over random tenants, random (even edited)
plans and random fault points: lost connections, server errors, answers lost after the change
took effect (a timeout, a 500 or a dropped connection after the commit), Ctrl-C (or kill -9)
before or after a call, and a full disk that cuts a journal or backup line half-way (with or
without the cut being undone, as after a kill -9 mid-write). Whatever happens, and however many
runs it takes:

- no person outside the plan is ever deleted or brought back;
- no DELETE reaches the tenant unless the person's backup line is already on disk, whole;
- nobody is deleted twice; in the end the deleted set is the plan minus the skipped, and the
  journal agrees;
- an undo, started at any point of the purge and run until it succeeds, brings back everyone the
  purge deleted, and the journal says so;
- all of this with one worker or several (`max_in_flight`): persons side by side, each one's
  steps in order, the journal and the backup written by several threads.

Runs on the sandbox's in-process transport, so that hundreds of examples take seconds.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ta_steget_cli import journal as j
from ta_steget_cli import purge as service
from ta_steget_cli import undo
from ta_steget_cli.config import parse_config
from ta_steget_cli.errors import TastegetError
from ta_steget_cli.sandbox import IN_PROCESS_BASE_URL, SandboxTenant, api_url, ids, transport
from ta_steget_cli.sandbox.tool_config import sandbox_secrets
from ta_steget_cli.superoffice import SuperOfficeClient
from ta_steget_cli.workdays import purge_cutoff
from tests.conftest import AS_OF, merge, sandbox_document

CUTOFF = purge_cutoff(AS_OF, 5)
OLD = datetime(2018, 2, 3, 9, 0, tzinfo=UTC)
DELETE_PATH = re.compile(r"/v1/Person/(\d+)$")


@dataclass(frozen=True)
class Kind:
    old: bool
    subscriber: str | None  # None | "consent" | "withdrawn" | "interest"
    recent_activity: bool
    changed: bool  # changed after the plan was made


person_kinds = st.builds(
    Kind,
    old=st.booleans(),
    subscriber=st.sampled_from([None, None, "consent", "withdrawn", "interest"]),
    recent_activity=st.booleans(),
    changed=st.booleans(),
)
CALL_FAULTS = (
    "ctrl_c_before",
    "ctrl_c_after",
    "drop",
    "status",
    "timeout",
    "committed_status",
    "committed_status_twice",
    "committed_drop",
    "lost",
    "disk_full",
    "disk_full_torn",
)
# Mostly persons the purge deletes, so that the undo has work to do.
mostly_deletable = st.builds(
    Kind,
    old=st.sampled_from([True, True, True, False]),
    subscriber=st.sampled_from([None, None, None, "withdrawn", "consent"]),
    recent_activity=st.sampled_from([False, False, False, True]),
    changed=st.sampled_from([False, False, False, True]),
)
fault = st.tuples(
    st.integers(min_value=1, max_value=16),  # at the k-th person call (get, delete, undelete)
    st.sampled_from(CALL_FAULTS),
)
UNDELETE_PATH = "/v1/Agents/Person/Undelete"


class CheckingTransport(httpx.BaseTransport):
    """Passes calls to the sandbox, checking each DELETE against the plan and the backup file,
    and each Undelete against the plan."""

    def __init__(self, inner: httpx.BaseTransport, plan_ids: set[int], backup: Path) -> None:
        self.inner, self.plan_ids, self.backup = inner, plan_ids, backup
        self.violations: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        match = DELETE_PATH.search(request.url.path)
        if request.method == "DELETE" and match:
            pid = int(match.group(1))
            if pid not in self.plan_ids:
                self.violations.append(f"DELETE of {pid}, who is not in the plan")
            if pid not in j.backed_up_ids(self.backup):
                self.violations.append(f"DELETE of {pid} before its backup line")
        if request.url.path.endswith(UNDELETE_PATH):
            pid = json.loads(request.content)["Id"]
            if pid not in self.plan_ids:
                self.violations.append(f"Undelete of {pid}, who is not in the plan")
        return self.inner.handle_request(request)


class FullDisk:
    """os.write as on a disk that fills up: armed, the next write stores half its bytes and the
    one after fails with ENOSPC; `torn` makes cutting the half line off fail too (as a kill -9
    between the two would), so the next run finds a torn last line."""

    def __init__(self) -> None:
        self.armed = self.torn = self.failing = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        real_write, real_truncate = os.write, os.ftruncate

        def write(fd: int, data: Any) -> int:
            if self.failing:
                self.armed = self.failing = False
                raise OSError(errno.ENOSPC, "No space left on device")
            if self.armed and len(data) > 1:
                self.failing = True
                return real_write(fd, bytes(data[: len(data) // 2]))
            return real_write(fd, data)

        def ftruncate(fd: int, length: int) -> None:
            if self.torn:
                self.torn = False
                raise OSError(errno.ENOSPC, "No space left on device")
            real_truncate(fd, length)

        os.write, os.ftruncate = write, ftruncate  # type: ignore[assignment]
        try:
            yield
        finally:
            os.write, os.ftruncate = real_write, real_truncate  # type: ignore[assignment]
            self.armed = self.torn = self.failing = False


class Faulty:
    """The client, with faults at chosen person calls: the sandbox's network faults, a Ctrl-C
    just before a call or just after it took effect, or the disk filling up right after it."""

    def __init__(
        self, client: SuperOfficeClient, tenant: Any, faults: dict[int, str], disk: FullDisk
    ) -> None:
        self._client, self._tenant, self._faults, self.calls = client, tenant, faults, 0
        self._disk = disk
        self._lock = threading.Lock()  # workers call at once; the k-th call is still one call

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def reset(self, faults: dict[int, str]) -> None:
        """New faults, counted from the next call."""
        self._faults, self.calls = faults, 0

    def _call(self, method: str, *args: Any, **kw: Any) -> Any:
        with self._lock:
            self.calls += 1
            what = self._faults.pop(self.calls, None)
            self._arm(what, method)
        answer = getattr(self._client, method)(*args, **kw)
        if what == "ctrl_c_after":
            raise KeyboardInterrupt
        return answer

    def _arm(self, what: str | None, method: str) -> None:
        path = UNDELETE_PATH if method == "undelete_person" else "/v1/Person/"
        if what == "ctrl_c_before":
            raise KeyboardInterrupt
        if what == "drop":
            self._tenant.faults.add("drop", path=path, times=1)
        elif what == "status":
            self._tenant.faults.add("status", status=503, path=path, times=1)
        elif what == "timeout":  # the call takes effect, its answer is lost
            self._tenant.faults.add("timeout", path=path, times=1)
        elif what == "committed_status":  # the call takes effect, a 500 comes back
            self._tenant.faults.add("committed_status", status=500, path=path, times=1)
        elif what == "committed_status_twice":  # ... and the read that would settle it fails
            self._tenant.faults.add("committed_status", status=500, path="/v1/", times=2)
        elif what == "committed_drop":  # the call takes effect, the connection drops
            self._tenant.faults.add("committed_drop", path=path, times=1)
        elif what == "lost":  # longer than the retries: the run stops
            self._tenant.faults.add("drop", path=path, times=5)
        elif what in ("disk_full", "disk_full_torn"):  # the next journal or backup line
            self._disk.armed, self._disk.torn = True, what == "disk_full_torn"

    def get_person(self, person_id: int) -> Any:
        return self._call("get_person", person_id)

    def delete_person(self, person_id: int, **kw: Any) -> Any:
        return self._call("delete_person", person_id, **kw)

    def undelete_person(self, person_id: int) -> Any:
        return self._call("undelete_person", person_id)


def build_tenant(kinds: list[Kind]) -> tuple[Any, list[int]]:
    tenant = SandboxTenant(persons=0, seed=2, today=AS_OF)
    tenant.timeout_sleep = 0.0
    made = []
    for n, kind in enumerate(kinds):
        registered = OLD + timedelta(days=n) if kind.old else datetime(2024, 5, 1, tzinfo=UTC)
        pid = tenant.add_person(
            "Test",
            f"P{n}",
            registered=registered,
            emarketing={"consent": "active", "withdrawn": "withdrawn"}.get(kind.subscriber or ""),
            interests=[ids.NEWSLETTER_INTEREST] if kind.subscriber == "interest" else [],
        )
        if kind.recent_activity:
            tenant.add_activity(pid, "appointment", date=datetime(2025, 1, 7, tzinfo=UTC))
        made.append(pid)
    return tenant, made


@dataclass
class Run:
    tenant: Any
    all_ids: list[int]
    planned: list[int]
    plan: j.Plan
    config: Any
    data_dir: Path
    checking: CheckingTransport
    faulty: Faulty
    disk: FullDisk
    workers: int


def prepare(
    kinds: list[Kind],
    in_plan: list[bool] | None,
    faults: list[tuple[int, str]],
    workers: int = 1,
) -> Run:
    tenant, all_ids = build_tenant(kinds)
    # A random plan, edited or not: any persons of the register, not only the rule's.
    planned = [pid for n, pid in enumerate(all_ids) if in_plan is None or in_plan[n]]
    data_dir = Path(tempfile.mkdtemp(prefix="purge-prop-"))
    api = api_url(IN_PROCESS_BASE_URL)
    document = merge(
        sandbox_document(api, data_dir),
        {"superoffice": {"max_retries": 2, "page_size": 4, "max_in_flight": workers}},
    )
    config = parse_config(document)
    now = datetime.now(UTC)

    def seen(pid: int) -> str | None:
        return service._utc_text(datetime.fromtimestamp(tenant.person(pid).updated, UTC))

    plan = j.Plan(
        tenant=api,
        as_of=AS_OF,
        created_at=now,
        rule=service.rule_of(config.purge, CUTOFF),
        persons=tuple(j.PlannedPerson(pid, seen(pid)) for pid in planned),
    )
    for pid, kind in zip(all_ids, kinds, strict=True):
        if kind.changed:
            tenant.touch(tenant.person(pid))
    _, backup, _ = j.purge_files(data_dir, plan.key)
    checking = CheckingTransport(transport(tenant), set(planned), backup)
    client = SuperOfficeClient(
        config.superoffice, sandbox_secrets(), transport=checking, sleep=lambda _s: None
    )
    disk = FullDisk()
    faulty = Faulty(client, tenant, dict(faults), disk)
    return Run(tenant, all_ids, planned, plan, config, data_dir, checking, faulty, disk, workers)


def apply_runs(run: Run, runs: int) -> bool:
    """Applies the plan up to `runs` times, as a person would after each stop or failure (a
    failed person is tried again by the next run); True once it succeeded."""
    for _run in range(runs):
        try:
            with run.disk.installed():
                result = service.apply_plan(run.faulty, run.config, run.plan)  # type: ignore[arg-type]
        except (KeyboardInterrupt, TastegetError, OSError):
            continue
        if result.status == "success":
            return True
    return False


def deleted_in(tenant: Any) -> set[int]:
    return {p.id for p in tenant._persons if p.deleted_at is not None}


SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


DELETABLE = Kind(old=True, subscriber=None, recent_activity=False, changed=False)


@SETTINGS
@given(
    kinds=st.lists(person_kinds, min_size=1, max_size=12),
    in_plan=st.lists(st.booleans(), min_size=12, max_size=12),
    faults=st.lists(fault, max_size=6),
    workers=st.sampled_from([1, 2, 4, 8]),
)
# The worst moments, always tried: a backup line cut by a full disk and left torn (call 1 is
# the first GET, the backup line follows); a 500 after the DELETE's commit and on the read
# that would settle it (call 2 is the first DELETE); a kill right after the DELETE and a
# failed read on resume.
@example(kinds=[DELETABLE] * 2, in_plan=[True] * 12, faults=[(1, "disk_full_torn")], workers=1)
@example(
    kinds=[DELETABLE] * 2, in_plan=[True] * 12, faults=[(2, "committed_status_twice")], workers=1
)
@example(
    kinds=[DELETABLE] * 2,
    in_plan=[True] * 12,
    faults=[(2, "ctrl_c_after"), (3, "committed_status")],
    workers=1,
)
# Several workers, a kill after a DELETE and a 500 after another's commit at the same time.
@example(
    kinds=[DELETABLE] * 8,
    in_plan=[True] * 12,
    faults=[(3, "ctrl_c_after"), (4, "committed_status"), (6, "disk_full_torn")],
    workers=4,
)
def test_never_outside_the_plan_never_without_a_backup(
    kinds: list[Kind], in_plan: list[bool], faults: list[tuple[int, str]], workers: int
) -> None:
    run = prepare(kinds, in_plan, faults, workers)
    tenant, planned = run.tenant, run.planned
    if not apply_runs(run, 2 + len(faults)):
        raise AssertionError("the purge did not finish after every fault had passed")

    assert run.checking.violations == []
    journal, backup, _ = j.purge_files(run.data_dir, run.plan.key)
    states = j.journal_states(journal)
    deleted = deleted_in(tenant)
    skipped = {pid for pid, s in states.items() if s["step"] == "skipped"}
    assert deleted <= set(planned)
    assert deleted == set(planned) - skipped
    assert deleted <= j.backed_up_ids(backup)
    assert {pid for pid, s in states.items() if s["step"] == "done"} == deleted
    # nobody else deletes here: the journal must own every delete, or undo would skip it
    assert {pid for pid, s in states.items() if s.get("deleted")} == deleted
    for path in (backup, journal):  # whole lines only
        assert path.read_bytes()[-1:] in (b"", b"\n")
    deletes = [p for m, p, status in tenant.requests if m == "DELETE" and status == 204]
    assert len(deletes) == len(set(deletes)), "somebody was deleted twice"
    # the rule holds on every deleted person, even from an edited plan
    for pid, kind in zip(run.all_ids, kinds, strict=True):
        if pid in deleted:
            assert kind.old and not kind.recent_activity and not kind.changed
            assert kind.subscriber in (None, "withdrawn")


@SETTINGS
@given(
    kinds=st.lists(mostly_deletable, min_size=1, max_size=10),
    faults=st.lists(fault, max_size=6),
    apply_attempts=st.integers(min_value=1, max_value=4),
    undo_faults=st.lists(
        st.tuples(st.integers(min_value=1, max_value=15), st.sampled_from(CALL_FAULTS)),
        max_size=6,
    ),
    workers=st.sampled_from([1, 2, 4, 8]),
)
# Always tried: a Ctrl-C (or kill) right after an Undelete took effect, and an Undelete whose
# answer is lost after the commit, with the retry finding the recycle bin empty.
@example(
    kinds=[DELETABLE] * 2, faults=[], apply_attempts=1, undo_faults=[(1, "ctrl_c_after")], workers=1
)
@example(
    kinds=[DELETABLE] * 2,
    faults=[],
    apply_attempts=1,
    undo_faults=[(1, "committed_drop")],
    workers=1,
)
@example(
    kinds=[DELETABLE] * 2,
    faults=[(2, "committed_status_twice")],
    apply_attempts=1,
    undo_faults=[],
    workers=1,
)
def test_undo_at_any_point_brings_back_everyone_the_purge_deleted(
    kinds: list[Kind],
    faults: list[tuple[int, str]],
    apply_attempts: int,
    undo_faults: list[tuple[int, str]],
    workers: int,
) -> None:
    """The purge runs (perhaps not to its end: the faults may stop it every time), then the
    undo runs, under the same kinds of faults, until it succeeds."""
    run = prepare(kinds, None, faults, workers)
    apply_runs(run, apply_attempts)
    journal, _, _ = j.purge_files(run.data_dir, run.plan.key)
    if not journal.exists():
        return  # stopped before the journal was begun: nothing was deleted
    run.faulty.reset(dict(undo_faults))
    for _run in range(12):
        try:
            with run.disk.installed():
                result = undo.undo_journal(
                    run.faulty,  # type: ignore[arg-type]
                    journal,
                    workers=run.workers,
                )
        except (KeyboardInterrupt, TastegetError, OSError):
            continue
        if result.status == "success":
            break
    else:
        raise AssertionError("the undo did not finish after every fault had passed")

    assert run.checking.violations == []
    assert deleted_in(run.tenant) == set(), "someone the purge deleted is still deleted"
    history = j.journal_history(journal)
    for pid in history.maybe_deleted:
        assert history.states[pid]["step"] == "undone"


def test_nothing_is_glued_to_a_line_a_full_disk_left_torn(tmp_path: Path) -> None:
    """A journal line cut half-way by a full disk, and left so (cutting it off failed too): the
    next line, another worker's, is refused instead of glued to the torn one and lost with it
    (an intent lost so would leave a deleted person no undo knows of); the next run's open
    moves the torn part aside and goes on."""
    path = tmp_path / "purge-x.journal.jsonl"
    disk = FullDisk()
    with j.Journal(path) as journal:
        journal.write("start", plan="x")
        disk.armed = disk.torn = True
        with disk.installed(), pytest.raises(OSError):
            journal.write("skipped", 1002)
        with pytest.raises(OSError):
            journal.write(j.INTENT, 1003)  # the disk has room again; the file still ends torn
    with j.Journal(path) as again:
        assert again.repaired is not None
        again.write(j.INTENT, 1003)
    steps = [(r["step"], r.get("id")) for r in j.read_lines(path)]
    assert steps == [("start", None), (j.INTENT, 1003)]
