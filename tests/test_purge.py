"""The yearly purge against the sandbox tenant over real HTTP: who is selected (the boundaries of
the rule), the plan file, applying it (re-checks, backup before delete, journal), refusals,
interruptions and resume, undo and pruning."""

from __future__ import annotations

import csv
import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli import journal as j
from ta_steget_cli import purge as service
from ta_steget_cli.config import load_config, load_secrets
from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.superoffice import SuperOfficeClient
from ta_steget_cli.workdays import purge_cutoff
from tests.conftest import AS_OF, POSIX_MODES

CUTOFF = purge_cutoff(AS_OF, 5)  # 2021-03-18
OLD = datetime(2019, 5, 6, 10, 0, tzinfo=UTC)


def at(day: Any, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def deleted_ids(tenant: Any) -> set[int]:
    return {p.id for p in tenant._persons if p.deleted_at is not None}


def said(result: Any) -> str:
    """stderr as one line of text, whatever frame the CLI draws around an error."""
    return " ".join(" ".join(result.stderr.replace("│", " ").split()).split("╭─ Error ─"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------- a tenant with every case


def scenario_tenant() -> tuple[Any, dict[str, int]]:
    """One person per rule boundary; names say what the rule must do with them."""
    tenant = SandboxTenant(persons=0, seed=3, today=AS_OF)
    day = timedelta(days=1)
    p: dict[str, int] = {}
    add = tenant.add_person
    # Registration boundary (Stockholm dates): one day either side of exactly five years.
    p["reg_day_before_cutoff"] = add("Ada", "Före", registered=at(CUTOFF - day), kommuner=["Berg"])
    p["reg_on_cutoff"] = add("Bo", "På", registered=at(CUTOFF))
    p["reg_day_after_cutoff"] = add("Cia", "Efter", registered=at(CUTOFF + day))
    # 23:30 UTC the day before the cut-off is 00:30 on the cut-off in Stockholm: not a candidate.
    p["reg_late_utc"] = add("Dan", "Sen", registered=at(CUTOFF - day, 23, 30))
    # Activity boundary: dated the day before the cut-off goes, on the cut-off stays.
    p["act_day_before"] = add("Eva", "Gammal", registered=OLD, kommuner=["Krokom", "Åre"])
    tenant.add_activity(p["act_day_before"], "appointment", date=at(CUTOFF - day))
    p["act_on_cutoff"] = add("Fia", "Aktiv", registered=OLD)
    tenant.add_activity(p["act_on_cutoff"], "document", date=at(CUTOFF))
    # Registered long before the cut-off but dated after it (a follow-up planned ahead): kept.
    p["act_dated_after"] = add("Gun", "Planerad", registered=OLD)
    tenant.add_activity(
        p["act_dated_after"], "appointment", date=at(CUTOFF + 30 * day), registered=OLD + day
    )
    # Dated long ago but registered after the cut-off (entered late): kept.
    p["act_registered_after"] = add("Hans", "Sent", registered=OLD)
    tenant.add_activity(
        p["act_registered_after"], "chat", date=OLD + day, registered=at(CUTOFF + 10 * day)
    )
    p["form_submission"] = add("Ines", "Formulär", registered=OLD)
    form = ids.FORM_USER
    tenant.add_activity(
        p["form_submission"], "formSubmission", date=at(AS_OF - 40 * day), registered_by=form
    )
    p["mailing_only"] = add("Jan", "Utskick", registered=OLD)
    mail = ("MAIL", "Utskick")
    tenant.add_activity(p["mailing_only"], "mailing", date=at(AS_OF - 20 * day), registered_by=mail)
    # Subscribers stay; a withdrawn consent protects nobody.
    p["consent_active"] = add("Kim", "Prenumerant", registered=OLD, emarketing="active")
    p["newsletter_interest"] = add(
        "Lo", "Nyhetsbrev", registered=OLD, interests=[ids.NEWSLETTER_INTEREST]
    )
    p["consent_withdrawn"] = add("Mia", "Återkallat", registered=OLD, emarketing="withdrawn")
    p["plain_old"] = add("Nils", "Inaktiv", registered=OLD - 400 * day, email="nils@example.se")
    # Registered after as-of: the register as it stood then does not know them.
    p["after_as_of"] = add("Olle", "Framtid", registered=at(AS_OF + 2 * day))
    return tenant, p


GOING = {
    "reg_day_before_cutoff",
    "act_day_before",
    "mailing_only",
    "consent_withdrawn",
    "plain_old",
}


@pytest.fixture
def scenario(sandbox_env: Callable[..., Any]) -> tuple[Any, dict[str, int]]:
    tenant, persons = scenario_tenant()
    return sandbox_env(tenant, purge={"max_share": 0.5}), persons


def dry_run_ids(env: Any, *extra: str) -> tuple[list[dict[str, Any]], Any]:
    result = env.run("purge", "--dry-run", "--as-of", AS_OF.isoformat(), "-f", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result


def test_dry_run_selects_exactly_the_inactive(scenario: tuple[Any, dict[str, int]]) -> None:
    env, p = scenario
    items, result = dry_run_ids(env)
    assert {i["person_id"] for i in items} == {p[name] for name in GOING}
    by_id = {i["person_id"]: i for i in items}
    assert by_id[p["act_day_before"]]["kommuner"] == ["Krokom", "Åre"]
    assert by_id[p["act_day_before"]]["last_activity"] == (CUTOFF - timedelta(days=1)).isoformat()
    assert by_id[p["plain_old"]]["last_activity"] is None
    assert by_id[p["mailing_only"]]["last_activity"] is None  # mailings never count
    assert by_id[p["reg_day_before_cutoff"]]["registered"] == "2021-03-17"
    assert list(items[0]) == ["person_id", "name", "registered", "last_activity", "kommuner"]
    # candidates: registered before the cut-off (and known by as-of)
    assert "11 registrerade före 2021-03-18" in result.stderr
    assert "nyhetsbrevsprenumeranter: 2" in result.stderr
    assert "aktivitet sedan dess: 4" in result.stderr
    assert "tas bort: 5" in result.stderr
    assert not deleted_ids(env.tenant)


def test_purge_alone_is_a_dry_run_and_says_how_to_apply(
    scenario: tuple[Any, dict[str, int]],
) -> None:
    env, _ = scenario
    result = env.run("--lang", "en", "purge", "--as-of", AS_OF.isoformat(), "-f", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "person_id,name,registered,last_activity,kommuner"
    assert "Nothing was deleted" in result.stderr and "--plan plan.json" in result.stderr
    assert "to delete: 5" in result.stderr
    assert not any(m == "DELETE" for m, _, _ in env.tenant.requests)


def test_selection_costs_pages_not_persons(sandbox_env: Callable[..., Any]) -> None:
    tenant = SandboxTenant(persons=0, seed=3, today=AS_OF)
    for n in range(450):
        pid = tenant.add_person("Test", f"P{n}", registered=OLD + timedelta(hours=n))
        if n % 3 == 0:
            tenant.add_activity(pid, "document", date=at(CUTOFF + timedelta(days=n)))
    env = sandbox_env(tenant)  # page_size 100
    tenant.reset_stats()
    items, _ = dry_run_ids(env)
    assert len(items) == 300
    archive = [r for r in tenant.requests if "/Archive/" in r[1]]
    # persons 5 pages, 2 subscriber scans, 8 municipality scans x 4 pages, activity chunks
    assert len(archive) < 60, len(archive)
    assert not [r for r in tenant.requests if "/v1/Person/" in r[1]]


def test_the_dry_run_reads_no_addresses_or_phones(
    scenario: tuple[Any, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The least personal data that lets the administrator act: a name, no contact details."""
    selected: set[str] = set()
    scan = SuperOfficeClient.scan

    def recorded(self: SuperOfficeClient, provider: str, **kwargs: Any) -> Any:
        selected.update(kwargs.get("select") or ())
        return scan(self, provider, **kwargs)

    monkeypatch.setattr(SuperOfficeClient, "scan", recorded)
    env, p = scenario
    items, _ = dry_run_ids(env)
    assert {i["person_id"] for i in items} == {p[name] for name in GOING}
    assert "fullName" in selected
    assert not {c for c in selected if "email" in c.lower() or "phone" in c.lower()}, selected


def test_the_last_activities_of_the_first_leavers_are_asked_while_recent_ones_are_read(
    sandbox_env: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run's two activity reads form a chain of round trips: who goes is known chunk by
    chunk, so the last activities of a chunk's leavers are asked as soon as that chunk's recent
    ones are in, not after every chunk's. The answer is the same as read one after the other."""
    asked: list[str] = []
    by_ids = SuperOfficeClient.by_ids

    def recorded(self: SuperOfficeClient, provider: str, *args: Any, **kwargs: Any) -> Any:
        if provider == "PersonActivity":
            asked.append("recent" if " after " in (kwargs.get("filter") or "") else "last")
        return by_ids(self, provider, *args, **kwargs)

    monkeypatch.setattr(SuperOfficeClient, "by_ids", recorded)
    tenant = SandboxTenant(persons=0, seed=3, today=AS_OF)
    expected: dict[int, str] = {}
    for n in range(700):
        pid = tenant.add_person("Test", f"P{n}", registered=OLD + timedelta(hours=n))
        old = OLD + timedelta(days=n % 200)
        tenant.add_activity(pid, "appointment", date=old)
        if n % 3 == 0:
            tenant.add_activity(pid, "document", date=at(CUTOFF + timedelta(days=n)))
        else:
            expected[pid] = old.date().isoformat()
    env = sandbox_env(tenant, superoffice={"max_in_flight": 4})  # page_size 100
    result = env.run("purge", "--dry-run", "--as-of", AS_OF.isoformat(), "--format", "json")
    assert result.exit_code == 0, result.output
    going = {row["person_id"]: row["last_activity"] for row in json.loads(result.stdout)}
    assert going == expected
    # Seven chunks at least of each; the first "last" question goes before the last "recent".
    assert asked.count("recent") >= 7 and asked.count("last") >= 7, asked
    assert asked.index("last") < len(asked) - 1 - asked[::-1].index("recent"), asked


def test_plan_file_is_private_and_holds_the_rule(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path
) -> None:
    env, p = scenario
    plan_path = tmp_path / "plan.json"
    _, result = dry_run_ids(env, "--plan-out", str(plan_path))
    if POSIX_MODES:
        assert mode(plan_path) == 0o600
    document = json.loads(plan_path.read_text())
    assert document["tenant"] == env.server.api_url  # no [superoffice] tenant: the API root
    assert document["as_of"] == AS_OF.isoformat()
    assert document["rule"]["cutoff"] == CUTOFF.isoformat()
    assert document["rule"]["inactive_years"] == 5
    assert "mailing" not in document["rule"]["activity_kinds"]
    assert {e["id"] for e in document["persons"]} == {p[n] for n in GOING}
    assert all(e["updated"] for e in document["persons"])
    assert document["checksum"].startswith("sha256:")
    assert j.read_plan(plan_path).checksum_ok
    assert "--plan " + str(plan_path) in result.stderr


# ---------------------------------------------------------------- applying


def make_plan(env: Any, tmp_path: Path, name: str = "plan.json") -> Path:
    plan_path = tmp_path / name
    dry_run_ids(env, "--plan-out", str(plan_path))
    return plan_path


def apply(env: Any, plan_path: Path, *extra: str, input: str | None = None) -> Any:
    return env.run("purge", "--plan", str(plan_path), *extra, input=input)


def files_of(env: Any, plan_path: Path) -> tuple[Path, Path, Path]:
    return j.purge_files(env.data_dir, j.read_plan(plan_path).key)


def test_apply_deletes_the_plan_backed_up_and_journaled(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path
) -> None:
    env, p = scenario
    plan_path = make_plan(env, tmp_path)
    env.tenant.reset_stats()
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output
    going = {p[n] for n in GOING}
    assert deleted_ids(env.tenant) == going
    journal, backup, report = files_of(env, plan_path)
    if POSIX_MODES:
        assert mode(journal) == mode(backup) == 0o600
    entities = [r for r in j.read_lines(backup)]
    assert {r["id"] for r in entities} == going
    assert all(r["entity"]["PersonId"] == r["id"] for r in entities)
    states = j.journal_states(journal)
    assert {pid for pid, s in states.items() if s["step"] == "done"} == going
    assert not report.exists()
    # two calls per person, plus one activity re-check per block and one scan for the share
    calls = [(m, path) for m, path, _ in env.tenant.requests if "/v1/Person/" in path]
    assert len(calls) == 2 * len(going)
    # the journal never names anyone
    assert "Nils" not in journal.read_text() and "nils@" not in journal.read_text()
    assert "status: success" in result.stderr and "deleted: 5" in result.stderr


def test_apply_skips_who_changed_since_the_plan(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path
) -> None:
    env, p = scenario
    plan_path = make_plan(env, tmp_path)
    tenant = env.tenant
    tenant.add_activity(p["plain_old"], "chat", date=datetime.now(UTC))  # activity since
    subscribed = tenant.person(p["consent_withdrawn"])
    subscribed.consent = "active"  # subscribed again
    tenant.touch(subscribed)
    changed = tenant.person(p["mailing_only"])
    tenant.touch(changed)  # edited by a move guide
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output  # skips alone are no failure
    assert deleted_ids(tenant) == {p["reg_day_before_cutoff"], p["act_day_before"]}
    _, backup, report = files_of(env, plan_path)
    rows = {int(r["person_id"]): r for r in csv.DictReader(report.open())}
    assert set(rows) == {p["plain_old"], p["consent_withdrawn"], p["mailing_only"]}
    assert rows[p["plain_old"]]["reason"] == "activity since the cut-off"
    assert rows[p["mailing_only"]]["reason"] == "changed since the plan was made"
    assert all(r["outcome"] == "skipped" for r in rows.values())
    if POSIX_MODES:
        assert mode(report) == 0o600
    assert {r["id"] for r in j.read_lines(backup)} == deleted_ids(tenant)


def test_a_subscription_since_the_plan_is_seen_on_the_record(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path
) -> None:
    env, p = scenario
    plan_path = make_plan(env, tmp_path)
    person = env.tenant.person(p["plain_old"])
    person.interests = (ids.NEWSLETTER_INTEREST,)  # UpdatedDate not touched: only the interest
    apply(env, plan_path, "--yes")
    journal, _, _ = files_of(env, plan_path)
    state = j.journal_states(journal)[p["plain_old"]]
    assert state["step"] == "skipped" and "newsletter interest" in state["reason"]
    assert p["plain_old"] not in deleted_ids(env.tenant)


def test_without_a_terminal_yes_is_required(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path
) -> None:
    env, _ = scenario
    plan_path = make_plan(env, tmp_path)
    result = apply(env, plan_path)
    assert result.exit_code == 2
    assert "--yes" in said(result) and "Traceback" not in result.output
    assert not deleted_ids(env.tenant)


def rewrite_plan(plan_path: Path, **changes: Any) -> None:
    plan = j.read_plan(plan_path)
    j.write_plan(replace(plan, **changes), plan_path)


@pytest.mark.parametrize(
    ("change", "override"),
    [
        ({"tenant": "Cust99999"}, "--allow-other-tenant"),
        ({"created_at": datetime.now(UTC) - timedelta(days=15)}, "--allow-old-plan"),
        ("tamper", "--allow-edited-plan"),
    ],
)
def test_refusals_name_their_override(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path, change: Any, override: str
) -> None:
    env, p = scenario
    plan_path = make_plan(env, tmp_path)
    if change == "tamper":
        document = json.loads(plan_path.read_text())
        document["persons"].append({"id": p["consent_active"], "updated": None})
        plan_path.write_text(json.dumps(document))
    else:
        rewrite_plan(plan_path, **change)
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 2, result.output
    assert override in said(result)
    assert result.stderr.startswith("tasteget: ") and len(result.stderr.splitlines()) == 1
    assert not deleted_ids(env.tenant)
    result = apply(env, plan_path, "--yes", override)
    assert result.exit_code == 0, result.output
    # even an edited plan deletes nobody the rule protects: the subscriber is re-checked
    assert p["consent_active"] not in deleted_ids(env.tenant)
    assert deleted_ids(env.tenant) == {p[n] for n in GOING}


def test_too_large_a_share_is_refused(sandbox_env: Callable[..., Any], tmp_path: Path) -> None:
    tenant, p = scenario_tenant()
    env = sandbox_env(tenant, purge={"max_share": 0.2})  # 5 of 15: 33 %
    plan_path = make_plan(env, tmp_path)
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 2
    assert "--allow-large-share" in said(result) and "33.3%" in said(result)
    assert apply(env, plan_path, "--yes", "--allow-large-share").exit_code == 0
    assert deleted_ids(tenant) == {p[n] for n in GOING}


def test_bad_plan_files_are_one_line(sandbox_env: Callable[..., Any], tmp_path: Path) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path in (bad, tmp_path / "missing.json"):
        result = apply(env, path, "--yes")
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "--plan" in said(result) and str(path) in said(result).replace(" ", "")
    result = env.run("purge", "--dry-run", "--plan", str(bad))
    assert result.exit_code == 2


# ---------------------------------------------------------------- interruptions and resume


def service_client(env: Any) -> tuple[SuperOfficeClient, Any]:
    config = load_config(env.config_path)
    return SuperOfficeClient(config.superoffice, load_secrets(None, env.env)), config


def check_consistent(env: Any, plan_path: Path) -> None:
    """The deleted set is the plan minus the skipped; every deleted person is in the backup;
    the journal agrees."""
    plan = j.read_plan(plan_path)
    journal, backup, _ = files_of(env, plan_path)
    states = j.journal_states(journal)
    skipped = {pid for pid, s in states.items() if s["step"] == "skipped"}
    deleted = deleted_ids(env.tenant)
    assert deleted == set(plan.ids) - skipped
    assert deleted <= {r["id"] for r in j.read_lines(backup)}
    assert {pid for pid, s in states.items() if s["step"] == "done"} == deleted
    deletes = [path for m, path, status in env.tenant.requests if m == "DELETE" and status == 204]
    assert len(deletes) == len(set(deletes))  # nobody deleted twice


def big_tenant(n: int = 30) -> Any:
    tenant = SandboxTenant(persons=0, seed=4, today=AS_OF)
    for k in range(n):
        tenant.add_person("Test", f"P{k}", registered=OLD + timedelta(days=k))
    return tenant


@pytest.mark.parametrize("stop_at", [1, 7, 29])
def test_ctrl_c_at_any_person_then_resume(
    sandbox_env: Callable[..., Any], tmp_path: Path, stop_at: int
) -> None:
    env = sandbox_env(big_tenant(), purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    client, config = service_client(env)

    def interrupt(n: int, total: int, outcome: Any) -> None:
        if n == stop_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.apply_plan(client, config, j.read_plan(plan_path), progress=interrupt)
    # Persons already under way on other workers finish their steps before the stop (at most
    # one per worker and one waiting); nobody new starts.
    deleted = len(deleted_ids(env.tenant))
    assert stop_at <= deleted <= stop_at + config.superoffice.max_in_flight + 1
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output
    assert "done_before: " + str(deleted) in result.stderr
    check_consistent(env, plan_path)


class InterruptAfterDelete:
    """A client whose k-th delete goes through and then the process is 'killed' before the
    journal hears of it: the worst moment."""

    def __init__(self, client: SuperOfficeClient, k: int) -> None:
        self._client, self._k, self._n = client, k, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_person(self, person_id: int, **kw: Any) -> None:
        self._client.delete_person(person_id, **kw)
        self._n += 1
        if self._n == self._k:
            raise KeyboardInterrupt


def test_ctrl_c_between_delete_and_journal_counts_as_done_on_resume(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(), purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    client, config = service_client(env)
    with pytest.raises(KeyboardInterrupt):
        service.apply_plan(InterruptAfterDelete(client, 4), config, j.read_plan(plan_path))  # type: ignore[arg-type]
    journal, _, _ = files_of(env, plan_path)
    states = j.journal_states(journal)
    fourth = [pid for pid, s in states.items() if s["step"] == "intent"]
    assert len(fourth) == 1 and fourth[0] in deleted_ids(env.tenant)
    assert apply(env, plan_path, "--yes").exit_code == 0
    state = j.journal_states(journal)[fourth[0]]
    assert state["step"] == "done" and state["deleted"] is True
    check_consistent(env, plan_path)


def test_a_lost_connection_stops_and_the_same_command_carries_on(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    # One request at a time: the cut comes after the eleventh person exactly.
    env = sandbox_env(
        big_tenant(), purge={"max_share": 1.0}, superoffice={"max_retries": 2, "max_in_flight": 1}
    )
    plan_path = make_plan(env, tmp_path)
    client, config = service_client(env)

    def cut_cable(n: int, total: int, outcome: Any) -> None:
        if n == 11:  # the network goes away for longer than the client's retries
            env.tenant.faults.add("drop", times=3)

    result = service.apply_plan(client, config, j.read_plan(plan_path), progress=cut_cable)
    assert result.status == "error" and result.stopped
    assert len(deleted_ids(env.tenant)) == 11
    resumed = apply(env, plan_path, "--yes")
    assert resumed.exit_code == 0, resumed.output
    check_consistent(env, plan_path)


def test_a_timeout_after_the_delete_took_effect_is_done(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(5), purge={"max_share": 1.0})
    plan_path = make_plan(env, tmp_path)
    env.tenant.timeout_sleep = 0.0
    env.tenant.faults.add("timeout", path="/v1/Person/", times=1)  # hits the first GET
    env.tenant.faults.add("status", status=503, path="/v1/Person/", times=1)
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0, result.output
    check_consistent(env, plan_path)


def test_the_cli_reports_a_stop_and_a_failure(
    sandbox_env: Callable[..., Any], tmp_path: Path
) -> None:
    env = sandbox_env(big_tenant(4), purge={"max_share": 1.0}, superoffice={"max_retries": 1})
    plan_path = make_plan(env, tmp_path)
    env.tenant.faults.add("status", status=403, path="/v1/Person/", times=1)
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 3, result.output
    _, _, report = files_of(env, plan_path)
    assert "failed" in report.read_text() and "403" in report.read_text()
    # Only person calls drop: the rights check before the first change still gets through.
    env.tenant.faults.add("drop", path="/v1/Person/", times=50)
    result = apply(env, plan_path, "--yes", "--allow-large-share")  # no share scan to fail first
    assert result.exit_code == 1 and "kör samma kommando igen" in said(result)
    env.tenant.faults.clear()
    result = apply(env, plan_path, "--yes")
    assert result.exit_code == 0
    check_consistent(env, plan_path)


# ---------------------------------------------------------------- undo and prune


def test_undo_brings_them_back(scenario: tuple[Any, dict[str, int]], tmp_path: Path) -> None:
    env, p = scenario
    plan_path = make_plan(env, tmp_path)
    assert apply(env, plan_path, "--yes").exit_code == 0
    journal, _, _ = files_of(env, plan_path)
    gone = {p["plain_old"]}
    env.tenant.person(p["plain_old"]).deleted_at -= 15 * 86_400  # out of the recycle bin
    result = env.run("purge", "--undo", str(journal))
    assert result.exit_code == 3, result.output
    assert deleted_ids(env.tenant) == gone
    assert str(p["plain_old"]) in result.stderr and "recycle bin" in result.stderr
    # the plan again touches nobody who was brought back
    assert apply(env, plan_path, "--yes").exit_code == 0
    assert deleted_ids(env.tenant) == gone


def test_prune_removes_old_backups_only(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path
) -> None:
    env, _ = scenario
    plan_path = make_plan(env, tmp_path)
    assert apply(env, plan_path, "--yes").exit_code == 0
    journal, backup, _ = files_of(env, plan_path)
    old = time.time() - 31 * 86_400
    os.utime(backup, (old, old))
    keep = env.data_dir / "notes.txt"
    keep.write_text("mine")
    os.utime(keep, (old, old))
    result = env.run("purge", "--prune-backups")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(backup)
    assert not backup.exists() and journal.exists() and keep.exists()
    assert "removed 1" in result.stderr


def test_on_a_terminal_the_number_must_be_typed(
    scenario: tuple[Any, dict[str, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ta_steget_cli.cli import purge as purge_cli

    env, p = scenario
    plan_path = make_plan(env, tmp_path)
    monkeypatch.setattr(purge_cli, "stdin_is_terminal", lambda: True)
    result = apply(env, plan_path, input="4\n")
    assert result.exit_code == 1 and "inte bekräftat; inget har tagits bort" in said(result)
    assert not deleted_ids(env.tenant)
    result = apply(env, plan_path, input="5\n")
    assert result.exit_code == 0, result.output
    assert "Skriv antalet" in result.stderr
    assert deleted_ids(env.tenant) == {p[n] for n in GOING}
