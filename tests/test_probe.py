"""`tasteget doctor --probe` (issue 11, items 3 and 4): it passes on the sandbox, fails naming
the check when an undocumented semantic is answered the other way, writes nothing, and its
recording replays to the same findings without a personal text in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.sandbox.realism import Realism
from ta_steget_cli.sandbox.replay import Replay, ReplayServer

from .conftest import AS_OF, merge, sandbox_document, to_toml

DAY = AS_OF.isoformat()
PERSONS = 400


def tenant_of(realism: Realism | None = None) -> SandboxTenant:
    return SandboxTenant(persons=PERSONS, seed=5, today=AS_OF, realism=realism)


def probe(env: Any, *extra: str) -> tuple[int, list[str]]:
    result = env.run("--lang", "en", "doctor", "--probe", "--as-of", DAY, *extra)
    return result.exit_code, result.stdout.splitlines()


def line_of(lines: list[str], name: str) -> str:
    found = [line for line in lines if line[6:].startswith(f"{name}:")]
    assert len(found) == 1, (name, lines)
    return found[0]


def test_probe_passes_on_the_sandbox(sandbox_env: Any) -> None:
    code, lines = probe(sandbox_env(tenant_of()))
    assert code == 0, lines
    assert not [line for line in lines if line.startswith("FAIL")]
    for name in (
        "query shapes",
        "archive POST",
        "region filter",
        "two interest restrictions",
        "consent restriction",
        "activity rows",
        "values of move_status.move_date_field",
        "updated dates",
        "activity date zone",
        "ignore_registered_by",
        "credentials",
        "update right",
        "delete right",
        "PATCH",
    ):
        assert line_of(lines, name).startswith("ok    "), name


@pytest.mark.parametrize(
    ("semantic", "check"),
    [
        ("not_one_of_includes_empty", "region filter"),
        ("interest_restrictions", "two interest restrictions"),
        ("invited_participants", "activity rows"),
        ("activity_date_zone", "activity date zone"),
        ("update_precision", "updated dates"),
    ],
)
def test_probe_fails_naming_the_check_when_a_semantic_is_flipped(
    sandbox_env: Any, semantic: str, check: str
) -> None:
    code, lines = probe(sandbox_env(tenant_of(Realism().flipped(semantic))))
    assert code == 1
    assert line_of(lines, check).startswith("FAIL  "), lines
    failing = [line for line in lines if line.startswith("FAIL")]
    assert len(failing) == 1, failing  # only the check that depends on it


def test_probe_tells_the_get_fallback_and_a_tenant_without_patch(sandbox_env: Any) -> None:
    code, lines = probe(sandbox_env(tenant_of(Realism(archive_post=False, patch=False))))
    assert code == 1
    assert line_of(lines, "archive POST").startswith("warn  ")
    assert "GET" in line_of(lines, "archive POST")
    patch = line_of(lines, "PATCH")
    assert patch.startswith("FAIL  ") and 'person_update = "put"' in patch


def test_probe_suggests_the_form_login(sandbox_env: Any) -> None:
    env = sandbox_env(tenant_of(), first_response={"ignore_registered_by": []})
    code, lines = probe(env)
    assert code == 0
    line = line_of(lines, "ignore_registered_by")
    assert line.startswith("warn  ") and ids.FORM_USER[0] in line
    wrong = sandbox_env(tenant_of(), first_response={"ignore_registered_by": ["FORM"]})
    assert "FORM registered no activity" in line_of(probe(wrong)[1], "ignore_registered_by")


def test_probe_writes_nothing(sandbox_env: Any) -> None:
    tenant = tenant_of()
    before = {p.id: (p.updated, p.status, p.move_date) for p in tenant.persons()}
    probe(sandbox_env(tenant))
    assert {p.id: (p.updated, p.status, p.move_date) for p in tenant.persons()} == before
    writes = [r for r in tenant.requests if r[0] in ("PATCH", "PUT", "DELETE")]
    assert writes and all(r[0] == "PATCH" and r[2] == 409 for r in writes)


def test_record_without_personal_text_replays_to_the_same_findings(
    sandbox_env: Any, tmp_path: Path
) -> None:
    tenant = tenant_of()
    env = sandbox_env(tenant)
    record = tmp_path / "tenant.json"
    code, lines = probe(env, "--record", str(record))
    assert code == 0 and line_of(lines, "record").startswith("ok    ")
    text = record.read_text(encoding="utf-8")
    document = json.loads(text)
    statuses = {x["status"] for x in document["exchanges"]}
    assert {200, 409} <= statuses
    assert "[DT:" in text and "[I:" in text and ids.FORM_USER[0] in text
    for person in tenant.persons():
        for personal in (person.first, person.last, person.email, person.mobile, person.phone):
            if personal and len(personal) > 3:
                assert personal not in text, personal
    assert "Anna Lind" not in text and "ANLA" not in text  # a guide's name and login

    with ReplayServer(Replay.load(record)) as replay:
        document = merge(
            sandbox_document(replay.api_url(f"/{ids.CONTEXT_IDENTIFIER}/api"), tmp_path / "d"),
            {"superoffice": {"page_size": 100, "requests_per_second": 1000}},
        )
        config = tmp_path / "replay.toml"
        config.write_text(to_toml(document), encoding="utf-8")
        from ta_steget_cli.cli import app

        again = CliRunner().invoke(
            app,
            ["--config", str(config), "--lang", "en", "doctor", "--probe", "--as-of", DAY],
            env=env.env,
        )
    replayed = again.stdout.splitlines()
    assert again.exit_code == 0, replayed

    def findings(found: list[str]) -> list[str]:
        """Each check's verdict (the details name persons and users, replaced in the file)."""
        return [
            line.split(":", 1)[0]
            for line in found
            if not line[6:].startswith(("config:", "record:"))
        ]

    assert findings(replayed) == findings(lines)


def test_readme_first_run_starts_with_the_probe() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## First run against your tenant\n", 1)[1].split("\n## ", 1)[0]
    first_block = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert first_block == "tasteget doctor --probe"


def test_probe_speaks_swedish_by_default(sandbox_env: Any) -> None:
    env = sandbox_env(tenant_of(Realism().flipped("not_one_of_includes_empty")))
    result = env.run("doctor", "--probe", "--as-of", DAY)
    assert result.exit_code == 1
    assert any(
        line.startswith("FEL   regionfilter:") and "utan kommun" in line
        for line in result.stdout.splitlines()
    ), result.stdout


def test_the_sandbox_config_names_the_sandbox_form_login(cli: Any) -> None:
    """`--sandbox` (and `sandbox serve --write-config`) must ignore the sandbox's own form login,
    a `sysCust…` login as on a real tenant; the probe sees it register the forms' activities."""
    result = cli("--sandbox", "--lang", "en", "doctor", "--probe", "--as-of", DAY)
    assert result.exit_code == 0, result.output
    line = line_of(result.stdout.splitlines(), "ignore_registered_by")
    assert line.startswith("ok    ") and ids.FORM_USER[0] in line
