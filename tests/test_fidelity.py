"""Every command against the sandbox answering the real way (issue 11): the same results as
with the friendlier forms, imports that write nothing the second time, encoded move dates in the
report, and a tenant without archive POST or without PATCH."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from ta_steget_cli.sandbox.realism import Realism

from .conftest import AS_OF

DAY = AS_OF.isoformat()
PERSONS = 1500
# Large pages, so that id lists outgrow a URL and the sandbox's 500-row cap cuts answers.
BIG_PAGES = {"superoffice": {"page_size": 1000}}


def tenant_of(realism: Realism) -> SandboxTenant:
    return SandboxTenant(persons=PERSONS, seed=3, today=AS_OF, realism=realism)


COMMANDS: list[tuple[str, ...]] = [
    ("overdue", "--all", "--as-of", DAY, "--format", "json"),
    ("overdue", "--region", "--as-of", DAY, "--format", "json"),
    ("status", "list", "--kommun", "Krokom", "--as-of", DAY, "--format", "json"),
    ("status", "list", "--region", "--as-of", DAY, "--format", "json"),
    ("report", "--year", str(AS_OF.year - 1), "--as-of", DAY, "--format", "json"),
    ("purge", "--dry-run", "--as-of", DAY, "--format", "json"),
]


def outputs(env: Any) -> dict[str, str]:
    out = {}
    for command in COMMANDS:
        result = env.run(*command)
        assert result.exit_code == 0, (command, result.output)
        out[" ".join(command[:2])] = result.stdout
    return out


@pytest.fixture(scope="module")
def friendly_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What every command answered before the sandbox answered the real way."""
    from ta_steget_cli.sandbox import SandboxServer

    from .conftest import merge, sandbox_document, to_toml

    tenant = tenant_of(Realism.friendly())
    home = tmp_path_factory.mktemp("friendly")
    with SandboxServer(tenant) as server:
        document = merge(sandbox_document(server.api_url, home / "data"), BIG_PAGES)
        path = home / "config.toml"
        path.write_text(to_toml(document), encoding="utf-8")
        from typer.testing import CliRunner

        from ta_steget_cli.cli import app

        env = {"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
        out = {}
        for command in COMMANDS:
            result = CliRunner().invoke(app, ["--config", str(path), *command], env=env)
            assert result.exit_code == 0, (command, result.output)
            out[" ".join(command[:2])] = result.stdout
    return out


def test_every_command_gives_the_same_results_in_real_forms(
    sandbox_env: Any, friendly_outputs: dict[str, str]
) -> None:
    tenant = tenant_of(Realism.real())
    env = sandbox_env(tenant, **BIG_PAGES)
    assert outputs(env) == friendly_outputs
    archive = [r for r in tenant.requests if "/Archive/" in r[1]]
    assert archive and all(status == 200 for _, _, status in archive)


def test_every_command_works_without_archive_post(
    sandbox_env: Any, friendly_outputs: dict[str, str]
) -> None:
    """superoffice-contract.md section 3: older NetServers answer 404 to archive POST; the
    client falls back to GET requests whose URLs the server accepts (it refuses query strings
    over 2048 characters, as IIS does)."""
    tenant = tenant_of(Realism(archive_post=False))
    env = sandbox_env(tenant, **BIG_PAGES)
    assert outputs(env) == friendly_outputs
    posts = [r for r in tenant.requests if r[0] == "POST" and "/Archive/" in r[1]]
    assert posts and all(status == 404 for _, _, status in posts)
    # Told once per run, then long id lists go as GET straight away.
    assert len(posts) <= len(COMMANDS)
    gets = [r for r in tenant.requests if r[0] == "GET" and "/Archive/" in r[1]]
    assert all(status == 200 for _, _, status in gets)


def write_import(path: Path, rows: list[str]) -> Path:
    path.write_text("person_id;status;moved_to;date\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def small_tenant(realism: Realism | None = None) -> SandboxTenant:
    t = SandboxTenant(persons=0, today=AS_OF, realism=realism)
    registered = datetime(2025, 3, 1, 10, tzinfo=UTC)
    for n in range(4):
        t.add_person(f"P{n}", "Flytt", registered=registered, kommuner=["Krokom"])
    t.add_person(
        "Q", "Redan", registered=registered, status="moved", moved_to="Åre",
        move_date=date(2025, 8, 27),
    )  # fmt: skip
    return t


def writes(tenant: SandboxTenant) -> list[tuple[str, str, int]]:
    return [r for r in tenant.requests if r[0] in ("PATCH", "PUT", "DELETE")]


def test_import_twice_writes_nothing_the_second_time(sandbox_env: Any, tmp_path: Path) -> None:
    """Dates come back as `[DT:08/27/2025 00:00:00.0000000]` whatever was sent; compared as
    values, the second import finds nothing to change (the sandbox's request log shows no
    write). Before, `[D:2025.08.27]` was sent and the `[DT:…]` read back never matched."""
    tenant = small_tenant()
    env = sandbox_env(tenant)
    file = write_import(
        tmp_path / "flytt.csv",
        [
            "1001;moved;Krokom;2025-09-01",
            "1002;moved;Åre;2025-10-15",
            "1003;planning;;",
            "1005;moved;Åre;2025-08-27",  # already so, in SuperOffice's own encoding
        ],
    )
    first = env.run("status", "import", str(file), "--format", "json")
    assert first.exit_code == 0, first.output
    assert [r["outcome"] for r in json.loads(first.stdout)] == ["set", "set", "set", "unchanged"]
    assert tenant.person(1001).move_date == date(2025, 9, 1)
    assert len(writes(tenant)) == 3
    tenant.reset_stats()
    second = env.run("status", "import", str(file), "--format", "json")
    assert second.exit_code == 0, second.output
    assert {r["outcome"] for r in json.loads(second.stdout)} == {"unchanged"}
    assert writes(tenant) == []


def test_status_set_without_patch_uses_get_and_put(sandbox_env: Any) -> None:
    """superoffice-contract.md section 4: older Onsite has no PATCH; with person_update = "put"
    the entity as read goes back whole, guarded by If-Unmodified-Since."""
    tenant = small_tenant(Realism(patch=False))
    refused = sandbox_env(tenant).run("status", "set", "1001", "moved", "--date", "2025-09-01")
    assert refused.exit_code != 0 and "405" in refused.output
    env = sandbox_env(tenant, superoffice={"person_update": "put"})
    result = env.run("status", "set", "1001", "moved", "--date", "2025-09-01")
    assert result.exit_code == 0, result.output
    assert tenant.person(1001).move_date == date(2025, 9, 1)
    assert tenant.person(1001).status == ids.MOVE_STATUS_VALUES["moved"]
    assert [r[0] for r in writes(tenant)][-1] == "PUT"
    tenant.reset_stats()
    again = env.run("status", "set", "1001", "moved", "--date", "2025-09-01")
    assert again.exit_code == 0 and writes(tenant) == []


def test_put_is_refused_when_the_person_changed_since_it_was_read(sandbox_env: Any) -> None:
    from ta_steget_cli.config import Secrets, load_config
    from ta_steget_cli.errors import Conflict
    from ta_steget_cli.superoffice import SuperOfficeClient

    tenant = small_tenant(Realism(patch=False))
    env = sandbox_env(tenant, superoffice={"person_update": "put"})
    config = load_config(env.config_path)
    with SuperOfficeClient(config.superoffice, Secrets(env.env)) as client:
        entity = client.get_person(1001)
        tenant.touch(tenant.person(1001))  # someone else writes in between
        with pytest.raises(Conflict):
            client.write_custom_fields(1001, entity, {ids.MOVE_STATUS_FIELD: "[I:203]"})
    assert tenant.person(1001).status is None
