"""Secrets and personal data: where they must never show up, and the files that hold them."""

from __future__ import annotations

import csv
import email
import io
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids
from tests.conftest import AS_OF, posix_modes_only

PASSWORD = "pw-Qz9-basic-secret"
SMTP_PASSWORD = "smtp-Qz9-secret"
KEY_CONTENT = "QZ9KEYCONTENTqz9keycontentQZ9"
# Names and addresses that must never reach a log line; formula starts for the CSV checks.
PEOPLE = [
    ("=HYPERLINK(1)", "Qwzynski", "qwzynski@example.se", ["Krokom"]),
    ("+Plus", "Qwzplus", "qwzplus@example.se", ["Krokom", "Åre"]),
    ("-Minus", "Qwzminus", "@qwzminus@example.se", []),
    ("@At", "Qwzat", "qwzat@example.se", ["Krokom"]),
]
NAMES = [f"{first} {last}" for first, last, _, _ in PEOPLE] + [p[1] for p in PEOPLE]
EMAILS = [p[2] for p in PEOPLE]


def tenant_with_people() -> SandboxTenant:
    """Each person twice: overdue in the window (overdue, notify, status, report) and registered
    long ago with no activity (a purge candidate)."""
    tenant = SandboxTenant(persons=0, today=AS_OF)
    recent = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 10, tzinfo=UTC) - timedelta(days=14)
    for first, last, mail, kommuner in PEOPLE:
        for registered in (recent, datetime(2019, 5, 6, 10, tzinfo=UTC)):
            tenant.add_person(
                first, last, registered=registered, kommuner=kommuner, email=mail,
                phone="+46 70 174 06 50", status="interested",
            )  # fmt: skip
    return tenant


@pytest.fixture
def people_env(sandbox_env: Callable[..., Any], tmp_path: Path) -> Any:
    env = sandbox_env(tenant_with_people(), purge={"max_share": 1.0})
    key = tmp_path / "key.pem"
    key.write_text(f"-----BEGIN PRIVATE KEY-----\n{KEY_CONTENT}\n-----END PRIVATE KEY-----\n")
    env.env.update(
        TASTEGET_PASSWORD=PASSWORD,
        TASTEGET_USERNAME="basic-user",
        TASTEGET_SMTP_PASSWORD=SMTP_PASSWORD,
        TASTEGET_PRIVATE_KEY_FILE=str(key),
        TASTEGET_SYSTEM_TOKEN="systok-Qz9-secret",
    )
    return env


def every_command(env: Any, folder: Path) -> list[Any]:
    """Every command once, verbose, leaving its files in `folder` and the data dir."""
    plan = folder / "plan.json"
    day = ["--as-of", AS_OF.isoformat()]
    runs = [
        ["overdue", "--all", *day, "--format", "csv", "--output", str(folder / "overdue.csv")],
        ["overdue", "--all", *day, "--format", "json"],
        ["purge", "--dry-run", *day, "--format", "csv", "--output", str(folder / "purge.csv")],
        ["purge", "--dry-run", *day, "--format", "json", "--plan-out", str(plan)],
        ["purge", "--plan", str(plan), "--yes"],
        ["status", "list", "--kommun", "Krokom", *day, "--format", "csv",
         "--output", str(folder / "status.csv")],
        ["status", "list", "--kommun", "Krokom", *day, "--format", "json"],
        ["report", "--year", str(AS_OF.year), *day, "--format", "csv",
         "--output", str(folder / "report.csv")],
        ["notify", "--dry-run", *day, "--outbox", str(folder / "outbox")],
        ["doctor"],
    ]  # fmt: skip
    results = []
    for args in runs:
        result = env.run("--verbose", *args)
        assert result.exit_code == 0, (args, result.output)
        results.append(result)
    return results


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def test_secrets_never_in_output_logs_or_files(people_env: Any, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    results = every_command(people_env, folder)
    secrets = [
        ids.TICKET, ids.APP_TOKEN, PASSWORD, SMTP_PASSWORD, KEY_CONTENT, "systok-Qz9-secret",
    ]  # fmt: skip
    written = files_under(folder, people_env.data_dir)
    assert any("backup" in p.name for p in written) and any("journal" in p.name for p in written)
    for secret in secrets:
        for result in results:
            assert secret not in result.stdout and secret not in result.stderr
        for path in written:
            assert secret.encode() not in path.read_bytes(), path


def test_verbose_logs_ids_not_names_or_addresses(people_env: Any, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    results = every_command(people_env, folder)
    assert any("/v1/Archive/Person" in r.stderr for r in results)  # it did log
    for result in results:
        for text in (*NAMES, *EMAILS, "example.se"):
            assert text not in result.stderr, (text, result.stderr[-500:])


@posix_modes_only
def test_backup_journal_and_plan_files_are_private(people_env: Any, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    every_command(people_env, folder)
    private = [folder / "plan.json", *files_under(people_env.data_dir)]
    assert len(private) >= 3
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def unsafe_cells(text: str, delimiter: str = ",") -> list[str]:
    """Cells a spreadsheet would run as a formula; our own numbers (-3) are fine."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    return [
        cell
        for row in rows
        for cell in row
        if cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not _number(cell)
    ]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_every_csv_the_tool_writes_is_safe_for_spreadsheets(
    people_env: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    every_command(people_env, folder)
    for name in ("overdue.csv", "purge.csv", "status.csv", "report.csv"):
        text = (folder / name).read_text(encoding="utf-8-sig")
        assert unsafe_cells(text) == [], name
    assert "'=HYPERLINK(1)" in (folder / "overdue.csv").read_text(encoding="utf-8-sig")
    attachments = 0
    for path in (folder / "outbox").glob("*.eml"):
        for part in email.message_from_bytes(path.read_bytes()).walk():
            if part.get_content_type() == "text/csv":
                attachments += 1
                text = part.get_payload(decode=True).decode("utf-8-sig")
                assert unsafe_cells(text, ";") == [], path.name
    assert attachments >= 2


# ---------------------------------------------------------------- plain http


@pytest.mark.parametrize(
    "superoffice",
    [
        {"api_url": "http://crm.example.se/SuperOffice/api"},
        {"api_url": "http://10.0.0.5/SuperOffice/api"},
        {"api_url": None, "tenant": "Cust12345", "login_url": "http://sod.example.se"},
    ],
    ids=["host", "lan-address", "login-url"],
)
def test_plain_http_is_refused_except_for_loopback(
    sandbox_env: Callable[..., Any], superoffice: dict[str, Any]
) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    text = env.config_path.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("api_url")]
    at = lines.index("[superoffice]") + 1
    for key, value in superoffice.items():
        if value is not None:
            lines.insert(at, f'{key} = "{value}"')
    env.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = env.run("overdue", "--all", "--as-of", AS_OF.isoformat(), "--format", "json")
    assert result.exit_code == 2, result.output
    assert "okrypterad http" in result.stderr and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_loopback_http_is_allowed(sandbox_env: Callable[..., Any]) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    assert "http://127.0.0.1:" in env.config_path.read_text(encoding="utf-8")
    assert env.run("doctor").exit_code == 0


# ---------------------------------------------------------------- the config file's mode


@posix_modes_only
@pytest.mark.parametrize("with_env_secrets", [True, False], ids=["env-secrets", "no-env-secrets"])
def test_config_with_secret_text_readable_by_others_warns(
    sandbox_env: Callable[..., Any], with_env_secrets: bool
) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    text = env.config_path.read_text(encoding="utf-8")
    env.config_path.write_text(f"# password = hunter2, ticket {ids.TICKET}\n{text}")
    env.config_path.chmod(0o644)
    if not with_env_secrets:
        env.env = {}
    result = env.run("doctor")
    assert "verkar innehålla hemliga uppgifter och kan läsas av andra" in result.stderr
    english = env.run("--lang", "en", "doctor").stderr
    assert "looks like it holds secrets and others can read it" in english
    env.config_path.chmod(0o600)
    assert "kan läsas av andra" not in env.run("doctor").stderr


def test_config_without_secret_text_does_not_warn(sandbox_env: Callable[..., Any]) -> None:
    env = sandbox_env(SandboxTenant(persons=0, today=AS_OF))
    env.config_path.chmod(0o644)
    result = env.run("doctor")
    assert result.exit_code == 0 and "varning" not in result.stderr
