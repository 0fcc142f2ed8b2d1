"""Every command under every fault the network and the tenant produce, over real HTTP.

Each faulted run must either give exactly the fault-free result, or stop with one clear line on
stderr and a non-zero exit code: never a traceback, never a partial list presented as complete.
A fault hits the first API request, or a later one (`at`), so that it lands on a login-free
first read as well as in the middle of a scan or an id-chunked lookup.
"""

from __future__ import annotations

import email
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import superoffice
from ta_steget_cli.sandbox import SandboxServer, SandboxTenant, ids
from ta_steget_cli.sandbox.faults import Faults
from tests.conftest import AS_OF, SandboxEnv, merge, sandbox_document, to_toml

PERSONS = 300  # the generator's scenario persons need 200: every command has something to do
SEED = 5
# Small pages, so that every command asks several archive pages and id chunks.
SUPEROFFICE = {
    "page_size": 40,
    "timeout_seconds": 0.3,
    "max_retries": 4,
    "max_retry_seconds": 3,
}
PURGE = {"max_share": 1.0}
RETRY_AFTER = 7


def new_tenant() -> SandboxTenant:
    tenant = SandboxTenant(persons=PERSONS, seed=SEED, today=AS_OF)
    tenant.timeout_sleep = 0.6  # longer than the client's timeout_seconds
    return tenant


class LaterFaults(Faults):
    """The sandbox's fault switch, letting `skip` matching requests pass first."""

    def __init__(self, skip: int) -> None:
        super().__init__()
        self.skip = skip
        self.hits = 0

    def take(self, path: str, *, is_api: bool, is_archive: bool, method: str = "GET") -> Any:
        if self.skip and any(self._matches(f, path, is_api, is_archive) for f in self.pending):
            self.skip -= 1
            return None
        fault = super().take(path, is_api=is_api, is_archive=is_archive, method=method)
        self.hits += fault is not None
        return fault

    @staticmethod
    def _matches(fault: Any, path: str, is_api: bool, is_archive: bool) -> bool:
        if fault.kind == "repeat_page" and not is_archive:
            return False
        return is_api if fault.path is None else fault.path in path


# (id, kind, options): every fault of the issue. "503 for good" outlasts the retry budget of
# every request a command makes: requests go side by side, so a storm of a few dozen answers is
# shared among them and each may still get through within its own retries (and then must).
FOR_GOOD = 100_000
FAULTS = [
    ("429-retry-after", "status", {"status": 429, "retry_after": RETRY_AFTER}),
    ("429", "status", {"status": 429}),
    ("503-burst", "status", {"status": 503, "times": 3}),
    ("503-for-good", "status", {"status": 503, "times": FOR_GOOD, "body": "empty"}),
    ("drop", "drop", {}),
    ("timeout", "timeout", {}),
    ("html-500", "status", {"status": 500, "body": "html"}),
    ("truncated", "truncated", {}),
]
# A repeated page has its own test below: it must land on a page that continues a scan or on a
# later chunk of an id lookup. A first page answered with another question's rows cannot be told
# from a true answer by any client (two questions may rightly have the same answer).
# Faults after which the command can only stop: it must, with one line.
MUST_STOP = {"503-for-good", "html-500"}

READING = {
    "overdue": ["overdue", "--all", "--format", "json"],
    "purge-dry-run": ["purge", "--dry-run", "--format", "json"],
    "status-list": ["status", "list", "--kommun", "Krokom", "--format", "json"],
    "report": ["report", "--quarter", "2026Q1", "--format", "json"],
    "doctor": ["doctor"],
}


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Backoff without real waiting: records each Retry-After the client honoured and waits a
    hundredth of every wait it chose (the budget checks see the short waits)."""
    seen: list[float | None] = []
    original = superoffice.SuperOfficeClient._backoff

    def backoff(self: Any, attempt: int, retry_after: float | None) -> float:
        seen.append(retry_after)
        return original(self, attempt, retry_after) / 100

    monkeypatch.setattr(superoffice.SuperOfficeClient, "_backoff", backoff)
    return seen


# ---------------------------------------------------------------- environments


@dataclass
class Served:
    tenant: SandboxTenant
    server: SandboxServer
    env: SandboxEnv


def serve(
    tenant: SandboxTenant, folder: Path, *, resolve: bool = False, workers: int | None = None
) -> Served:
    """The tenant on loopback and a config for it: api_url, or tenant + login_url (resolved via
    /api/state, so maintenance is seen); `workers`: max_in_flight (None: the default)."""
    server = SandboxServer(tenant).__enter__()
    folder.mkdir(parents=True, exist_ok=True)
    document = sandbox_document(server.api_url, folder / "data")
    so = SUPEROFFICE if workers is None else {**SUPEROFFICE, "max_in_flight": workers}
    document = merge(document, {"superoffice": so, "purge": PURGE})
    if resolve:
        so = dict(document["superoffice"])
        del so["api_url"]
        so.update(tenant=ids.CONTEXT_IDENTIFIER, login_url=server.base_url)
        document["superoffice"] = so
    path = folder / "config.toml"
    path.write_text(to_toml(document), encoding="utf-8")
    env = {"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
    return Served(tenant, server, SandboxEnv(tenant, server, path, folder / "data", env))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One tenant for the commands that only read; each test sets its own faults."""
    served = serve(new_tenant(), tmp_path_factory.mktemp("shared"))
    yield served
    served.server.close()


@pytest.fixture(scope="module")
def one_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The same tenant read one request at a time: the Nth request of a run is then the same
    request in every run, which a fault aimed at "the Nth" needs."""
    served = serve(new_tenant(), tmp_path_factory.mktemp("one"), workers=1)
    yield served
    served.server.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def make(*, resolve: bool = False) -> Served:
        served = serve(new_tenant(), tmp_path / f"env{len(started)}", resolve=resolve)
        started.append(served)
        return served

    yield make
    for served in started:
        served.server.close()


def inject(tenant: SandboxTenant, kind: str, options: dict[str, Any], at: int) -> None:
    tenant.last_archive_answer = None
    tenant.faults = LaterFaults(at)
    tenant.faults.add(kind, **options)


def fault_hits(tenant: SandboxTenant) -> int:
    """How often the injected fault hit; the switch is reset for the next run."""
    hits = getattr(tenant.faults, "hits", 0)
    tenant.faults = Faults()
    return int(hits)


def run(env: SandboxEnv, args: list[str]) -> Any:
    return env.run(*args, "--as-of", AS_OF.isoformat()) if _dated(args) else env.run(*args)


def _dated(args: list[str]) -> bool:
    return args[0] in ("overdue", "purge", "status", "notify") and args[:2] != ["status", "set"]


# ---------------------------------------------------------------- judging a run


def assert_stopped_clearly(result: Any, *, codes: tuple[int, ...] = (1,)) -> None:
    """A clear stop: the right exit code and one `tasteget:` line, no traceback."""
    assert result.exit_code in codes, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    said = [line for line in result.stderr.splitlines() if line.startswith("tasteget: ")]
    assert len(said) == 1, result.stderr
    assert "internal error" not in said[0], said[0]


def assert_right_or_stopped(result: Any, truth: str, fault_id: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code == 0:
        assert fault_id not in MUST_STOP or truth == "", "a fault that cannot pass did pass"
        assert result.stdout == truth
        return
    assert_stopped_clearly(result)
    # Nothing half-read may look like the answer: stdout is empty, or not a list at all.
    if result.stdout.strip():
        try:
            shown = json.loads(result.stdout)
        except ValueError:
            return
        assert not isinstance(shown, list) or result.stdout == truth


# ---------------------------------------------------------------- reading commands


@pytest.fixture(scope="module")
def truths(shared: Served) -> dict[str, str]:
    """The fault-free output of each reading command on the shared tenant."""
    out = {}
    for name, args in READING.items():
        result = run(shared.env, args)
        assert result.exit_code == 0, result.output
        out[name] = result.stdout
    assert json.loads(out["overdue"]) and json.loads(out["purge-dry-run"])  # not vacuous
    return out


@pytest.mark.parametrize("at", [0, 2], ids=["first", "third"])
@pytest.mark.parametrize(("fault_id", "kind", "options"), FAULTS, ids=[f[0] for f in FAULTS])
@pytest.mark.parametrize("command", [c for c in READING if c != "doctor"])
def test_reading_command_is_right_or_stops_clearly(
    shared: Served,
    truths: dict[str, str],
    quick_backoff: list[float | None],
    command: str,
    fault_id: str,
    kind: str,
    options: dict[str, Any],
    at: int,
) -> None:
    inject(shared.tenant, kind, options, at)
    result = run(shared.env, READING[command])
    fired = fault_hits(shared.tenant)
    assert fired, "the fault never hit a request"
    assert_right_or_stopped(result, truths[command], fault_id)
    if fired and fault_id in MUST_STOP:
        assert result.exit_code == 1
    if fired and fault_id == "429-retry-after":
        assert RETRY_AFTER in quick_backoff  # waited as the server asked


@pytest.mark.parametrize(("fault_id", "kind", "options"), FAULTS, ids=[f[0] for f in FAULTS])
def test_doctor_is_right_or_names_the_failed_check(
    shared: Served, truths: dict[str, str], fault_id: str, kind: str, options: dict[str, Any]
) -> None:
    inject(shared.tenant, kind, options, 1)
    result = run(shared.env, READING["doctor"])
    shared.tenant.faults = Faults()
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code == 0:
        assert fault_id not in MUST_STOP
        assert result.stdout == truths["doctor"]
    else:
        assert result.exit_code == 1
        failed = [line for line in result.stdout.splitlines() if line.startswith("FEL")]
        assert len(failed) >= 1 and all(len(line) < 400 for line in failed), result.stdout


def eml_summary(outbox: Path) -> list[tuple[str, str, str, str]]:
    """Each message's file, recipients, subject and CSV attachment (not Date or Message-ID)."""
    out = []
    for path in sorted(outbox.glob("*.eml")):
        message: Message = email.message_from_bytes(path.read_bytes())
        attached = [
            part.get_payload(decode=True).decode("utf-8-sig")
            for part in message.walk()
            if part.get_content_type() == "text/csv"
        ]
        out.append((path.name, message["To"], message["Subject"], "".join(attached)))
    return out


@pytest.mark.parametrize("at", [0, 2], ids=["first", "third"])
@pytest.mark.parametrize(("fault_id", "kind", "options"), FAULTS, ids=[f[0] for f in FAULTS])
def test_notify_dry_run_is_right_or_writes_nothing(
    shared: Served,
    tmp_path: Path,
    fault_id: str,
    kind: str,
    options: dict[str, Any],
    at: int,
) -> None:
    truth_box, outbox = tmp_path / "truth", tmp_path / "outbox"
    truth = run(shared.env, ["notify", "--dry-run", "--outbox", str(truth_box)])
    assert truth.exit_code == 0, truth.output
    inject(shared.tenant, kind, options, at)
    result = run(shared.env, ["notify", "--dry-run", "--outbox", str(outbox)])
    shared.tenant.faults = Faults()
    if result.exit_code == 0:
        assert fault_id not in MUST_STOP
        assert eml_summary(outbox) == eml_summary(truth_box)
    else:
        assert_stopped_clearly(result)
        # A failed read sends no municipality a short list.
        assert not outbox.exists() or not list(outbox.glob("*.eml"))


# ---------------------------------------------------------------- commands that write


def deleted(tenant: SandboxTenant) -> set[int]:
    return {p.id for p in tenant._persons if p.deleted_at is not None}


def make_plan(served: Served) -> Path:
    plan = served.env.data_dir.parent / "plan.json"
    result = run(served.env, ["purge", "--dry-run", "--format", "json", "--plan-out", str(plan)])
    assert result.exit_code == 0, result.output
    return plan


@pytest.fixture(scope="module")
def purge_truth(tmp_path_factory: pytest.TempPathFactory) -> set[int]:
    served = serve(new_tenant(), tmp_path_factory.mktemp("purge-truth"))
    try:
        plan = make_plan(served)
        result = served.env.run("purge", "--plan", str(plan), "--yes")
        assert result.exit_code == 0, result.output
        assert deleted(served.tenant)
        return deleted(served.tenant)
    finally:
        served.server.close()


@pytest.mark.parametrize("at", [0, 5], ids=["first", "sixth"])
@pytest.mark.parametrize(("fault_id", "kind", "options"), FAULTS, ids=[f[0] for f in FAULTS])
def test_purge_apply_under_a_fault_then_again_deletes_exactly_the_plan(
    fresh: Callable[..., Served],
    purge_truth: set[int],
    fault_id: str,
    kind: str,
    options: dict[str, Any],
    at: int,
) -> None:
    served = fresh()
    plan = make_plan(served)
    inject(served.tenant, kind, options, at)
    result = served.env.run("purge", "--plan", str(plan), "--yes")
    served.tenant.faults = Faults()
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code == 0:
        assert deleted(served.tenant) == purge_truth
        return
    assert_stopped_clearly(result, codes=(1, 3))
    assert deleted(served.tenant) <= purge_truth  # never outside the plan
    again = served.env.run("purge", "--plan", str(plan), "--yes")
    assert again.exit_code == 0, again.output
    assert deleted(served.tenant) == purge_truth


def krokom_statuses(served: Served) -> dict[int, Any]:
    result = run(served.env, ["status", "list", "--kommun", "Krokom", "--format", "json"])
    assert result.exit_code == 0, result.output
    return {item["person_id"]: item["status"] for item in json.loads(result.stdout)}


@pytest.mark.parametrize("at", [0, 1], ids=["read", "write"])
@pytest.mark.parametrize(("fault_id", "kind", "options"), FAULTS, ids=[f[0] for f in FAULTS])
def test_status_set_is_done_once_or_stops_clearly(
    fresh: Callable[..., Served],
    fault_id: str,
    kind: str,
    options: dict[str, Any],
    at: int,
) -> None:
    served = fresh()
    before = krokom_statuses(served)
    person = next(pid for pid, status in before.items() if status != "moved")
    inject(served.tenant, kind, options, at)
    result = served.env.run("status", "set", str(person), "moved", "--moved-to", "Krokom")
    served.tenant.faults = Faults()
    after = krokom_statuses(served)
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code == 0:
        assert fault_id not in MUST_STOP
        assert after == {**before, person: "moved"}
        return
    assert_stopped_clearly(result, codes=(1, 3))
    # Either nothing was written, or exactly this one change was (a timeout after the write).
    assert after in ({**before, person: "moved"}, before)
    again = served.env.run("status", "set", str(person), "moved", "--moved-to", "Krokom")
    assert again.exit_code == 0, again.output
    assert krokom_statuses(served) == {**before, person: "moved"}


# ---------------------------------------------------------------- maintenance


ALL_COMMANDS = {
    **READING,
    "notify": ["notify", "--dry-run", "--outbox", "OUTBOX"],
    "purge-apply": ["purge", "--plan", "PLAN", "--yes"],
    "status-set": ["status", "set", "PERSON", "moved"],
}


@pytest.mark.parametrize("command", list(ALL_COMMANDS))
def test_tenant_in_maintenance_stops_every_command_with_one_line(
    fresh: Callable[..., Served], tmp_path: Path, command: str
) -> None:
    served = fresh(resolve=True)
    plan = make_plan(served)  # resolved through /api/state while Running
    person = next(iter(krokom_statuses(served)))
    served.tenant.state = "Offline"
    args = [
        {"OUTBOX": str(tmp_path / "outbox"), "PLAN": str(plan), "PERSON": str(person)}.get(a, a)
        for a in ALL_COMMANDS[command]
    ]
    result = run(served.env, args)
    assert "Traceback" not in result.stderr + result.stdout
    assert not deleted(served.tenant)
    if command == "doctor":
        assert result.exit_code == 1
        assert "Offline" in result.stdout
        return
    assert_stopped_clearly(result)
    assert "Offline" in result.stderr and "försök igen senare" in result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------- a page that repeats


def archive_questions(
    env: SandboxEnv, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """What each archive request of a fault-free run asks: "next page" (a scan past a key),
    "next chunk" (a later chunk of an id lookup, after an answer with rows), or "first".

    A chunk after an empty answer is "first" here: an empty answer repeated is as true an
    answer as any for persons with no activity, and no client can tell it was not meant."""
    seen: list[str] = []
    chunks: set[str] = set()
    original = superoffice.SuperOfficeClient._archive

    rows = [0]

    def archive(self: Any, provider: str, params: dict[str, str], url: str | None = None) -> Any:
        where = params.get("$filter", "")
        if url is not None or " gt " in where:
            seen.append("next page")
        elif where.startswith(("personId oneOf (", "personId in (")):
            question = where.split(")", 1)[-1]  # the filter after the ids
            seen.append("next chunk" if question in chunks and rows[0] else "first")
            chunks.add(question)
        else:
            seen.append("first")
        body = original(self, provider, params, url)
        rows[0] = len(body["value"])
        return body

    with monkeypatch.context() as patch:
        patch.setattr(superoffice.SuperOfficeClient, "_archive", archive)
        result = run(env, args)
    assert result.exit_code == 0, result.output
    return seen


REPEATABLE = {name: args for name, args in READING.items() if name != "doctor"}


@pytest.mark.parametrize("where", ["next page", "next chunk"])
@pytest.mark.parametrize("command", list(REPEATABLE))
def test_a_repeated_page_is_caught_not_listed(
    one_at_a_time: Served,
    truths: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    where: str,
) -> None:
    """A page answered with the answer before it, which continues a scan or is a later chunk
    (where the client can tell), stops the command. Asked one request at a time, so that the
    answer before it is its own question's: side by side it may be another question's first
    page, which no client can tell from a true answer (see above). The page checks are the
    same for any number of workers."""
    shared = one_at_a_time
    questions = archive_questions(shared.env, REPEATABLE[command], monkeypatch)
    if where not in questions:
        pytest.skip(f"{command} asks no {where} at this size")
    inject(shared.tenant, "repeat_page", {}, questions.index(where))
    result = run(shared.env, REPEATABLE[command])
    assert fault_hits(shared.tenant) == 1
    assert_right_or_stopped(result, truths[command], "repeat-page")
    assert result.exit_code == 1  # the same rows twice, or rows of other persons: never used
