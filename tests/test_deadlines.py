"""Issue 9 finding 12: an answer that trickles in a byte at a time no longer hangs the tool.
Every request has a total deadline ([superoffice] request_deadline_seconds; then a timeout like
any other, retried), and every command an optional overall one (--deadline, [run]
deadline_seconds) after which it stops cleanly in one line. Through the CLI against the sandbox
over real HTTP on 127.0.0.1 with its `trickle` fault. Times are only ever bounded generously
from above (the command ends), never asserted exactly."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import journal as j
from ta_steget_cli.config import parse_config
from ta_steget_cli.errors import ConfigError
from ta_steget_cli.sandbox import SandboxTenant
from tests.conftest import AS_OF, sandbox_document
from tests.test_purge import big_tenant, check_consistent, deleted_ids, files_of, make_plan

# A page of the sandbox's archive is thousands of bytes: at 20 ms a byte it would take minutes.
TRICKLE = 0.02
DEADLINE = 1.0
GENEROUS = 10 * DEADLINE + 20  # the command's own reads and start-up on a loaded machine


def overdue(env: Any, *extra: str) -> Any:
    return env.run(
        "--lang", "en", *extra, "overdue", "--kommun", "Krokom",
        "--as-of", AS_OF.isoformat(), "-f", "json",
    )  # fmt: skip


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = run()
    return result, time.monotonic() - started


@pytest.fixture
def tenant() -> SandboxTenant:
    tenant = SandboxTenant(persons=200, seed=5, today=AS_OF)
    tenant.trickle_seconds = TRICKLE
    return tenant


def archive_answers(tenant: SandboxTenant) -> list[int]:
    return [status for method, path, status in tenant.requests if "/Archive/" in path]


# ---------------------------------------------------------------- each request


def test_a_trickling_answer_is_cut_at_the_request_deadline_and_retried(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant
) -> None:
    truth = overdue(sandbox_env(tenant))
    assert truth.exit_code == 0, truth.output
    # One request at a time: the sandbox logs a request when its answer is done, so only then
    # is the trickled one first in the log and its retry second.
    env = sandbox_env(
        tenant, superoffice={"request_deadline_seconds": DEADLINE, "max_in_flight": 1}
    )
    tenant.reset_stats()
    tenant.faults.add("trickle")  # the first archive answer only
    result, took = timed(lambda: overdue(env))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(truth.stdout)  # the retry got it all
    assert took < GENEROUS
    first, second = tenant.requests[0][1], tenant.requests[1][1]
    assert first == second  # the same request again, after the slow one was given up


def test_an_answer_that_always_trickles_ends_as_a_timeout_in_one_line(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant
) -> None:
    env = sandbox_env(
        tenant,
        superoffice={"request_deadline_seconds": DEADLINE, "max_retries": 1,
                     "max_retry_seconds": 5},
    )  # fmt: skip
    tenant.faults.add("trickle", times=10)
    result, took = timed(lambda: overdue(env))
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "after 2 tries" in lines[0]
    assert f"not complete within {DEADLINE:g} s" in lines[0]
    assert took < 2 * GENEROUS


# ---------------------------------------------------------------- the whole command


@pytest.mark.parametrize("where", ["option", "config"])
def test_the_command_deadline_stops_a_command_that_would_hang(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant, where: str
) -> None:
    # Each request may take a minute; the command has DEADLINE seconds.
    so = {"request_deadline_seconds": 60, "timeout_seconds": 60}
    if where == "option":
        env = sandbox_env(tenant, superoffice=so)
        extra: tuple[str, ...] = ("--deadline", str(DEADLINE))
    else:
        env = sandbox_env(tenant, superoffice=so, run={"deadline_seconds": DEADLINE})
        extra = ()
    tenant.faults.add("trickle", times=100)
    result, took = timed(lambda: overdue(env, *extra))
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"deadline of {DEADLINE:g} s has passed" in lines[0]
    assert took < GENEROUS


def test_the_command_deadline_in_swedish(
    sandbox_env: Callable[..., Any], tenant: SandboxTenant
) -> None:
    env = sandbox_env(tenant, superoffice={"request_deadline_seconds": 60})
    tenant.faults.add("trickle", times=100)
    result = env.run(
        "--deadline", str(DEADLINE), "overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat()
    )
    assert result.exit_code == 1, result.output
    assert "tidsgräns" in result.stderr


def test_a_purge_stops_at_the_deadline_between_persons_and_the_same_command_carries_on(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    tenant = big_tenant(30)
    env = sandbox_env(tenant, purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    slow_deletes(tenant)  # 30 persons take well over the deadline; the checks before are quick
    deadline = 3 * DEADLINE
    args = ["--lang", "en", "--deadline", str(deadline), "purge", "--plan", str(plan_path)]
    result, took = timed(lambda: env.run(*args, "--yes"))
    assert result.exit_code == 1, result.output
    assert "deadline" in result.stderr and "run the same command again" in result.stderr
    assert took < 10 * deadline + 20
    stopped = deleted_ids(tenant)
    assert len(stopped) < 30
    journal = files_of(env, plan_path)[0]
    assert any(r.get("step") == "stopped" for r in j.read_lines(journal))
    # Every person is either untouched or done: the run stopped between persons.
    states = j.journal_states(journal)
    assert {s["step"] for s in states.values()} <= {"done", "skipped"}

    tenant.faults.take = type(tenant.faults).take.__get__(tenant.faults)  # type: ignore[method-assign]
    again = env.run("--lang", "en", "purge", "--plan", str(plan_path), "--yes")
    assert again.exit_code == 0, again.output
    check_consistent(env, plan_path)
    assert len(deleted_ids(tenant)) == 30


def slow_deletes(tenant: SandboxTenant, seconds: float = 0.5) -> None:
    """Every DELETE takes `seconds` before the tenant handles it (asked for each request)."""
    take = tenant.faults.take

    def slow(path: str, *, is_api: bool, is_archive: bool, method: str = "GET") -> Any:
        if method == "DELETE":
            time.sleep(seconds)
        return take(path, is_api=is_api, is_archive=is_archive, method=method)

    tenant.faults.take = slow  # type: ignore[method-assign]


# ---------------------------------------------------------------- the keys


def test_the_deadline_keys_are_checked(tmp_path: Path) -> None:
    base = sandbox_document("http://127.0.0.1:1/Cust00000/api", tmp_path)
    config = parse_config({**base, "run": {"deadline_seconds": 600}})
    assert config.run.deadline_seconds == 600
    assert config.superoffice.request_deadline_seconds == 120
    with pytest.raises(ConfigError, match="deadline_seconds"):
        parse_config({**base, "run": {"deadline_seconds": -1}})
    with pytest.raises(ConfigError, match="deadline_second"):
        parse_config({**base, "run": {"deadline_second": 5}})
    so = {**base["superoffice"], "request_deadline_seconds": 0}
    with pytest.raises(ConfigError, match="request_deadline_seconds"):
        parse_config({**base, "superoffice": so})


def test_deadline_option_must_be_positive(cli: Callable[..., Any]) -> None:
    result = cli("--lang", "en", "--deadline", "0", "--sandbox", "overdue", "--all")
    assert result.exit_code == 2
    assert "--deadline" in result.stderr
