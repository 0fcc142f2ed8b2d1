"""Shared fixtures: no test touches a real config, data dir or secret; every command test talks
to the sandbox tenant over real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ta_steget_cli.config import SECRET_NAMES

# Whether files have POSIX modes to check (0600). Windows has none (the tool keeps its files
# private through the user profile's ACL there, see files.py): mode checks skip on Windows.
POSIX_MODES = sys.platform != "win32"
posix_modes_only = pytest.mark.skipif(not POSIX_MODES, reason="POSIX file modes (not on Windows)")

# A fixed "today" for every test that uses the sandbox: a Wednesday in a week with no holiday.
AS_OF = date(2026, 3, 18)


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point config and data homes at a temp dir and clear every secret from the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    # The --sandbox tenant's saved state is this test's own on every platform, so no test sees
    # another's changes whatever the order; beside tmp_path, not in it: a test may check that
    # a failed command wrote nothing there.
    monkeypatch.setenv("TASTEGET_SANDBOX_DIR", str(tmp_path_factory.mktemp("sandbox")))
    for name in (*SECRET_NAMES, "TASTEGET_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(autouse=True)
def isolated_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real keychain: an empty file keyring per test, chosen the way keyring
    itself lets a machine choose (PYTHON_KEYRING_BACKEND), so child processes use it too."""
    import keyring

    from .keyring_backend import BACKEND, FileKeyring

    path = tmp_path / "keyring.json"
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", BACKEND)
    monkeypatch.setenv("TASTEGET_TEST_KEYRING", str(path))
    keyring.set_keyring(FileKeyring())
    return path


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        text = str(value).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def to_toml(document: Mapping[str, Any], prefix: str = "") -> str:
    """A small TOML writer for test configs (tables, scalars, lists)."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in document.items():
        quoted = key if key.replace("_", "").isalnum() and key.isascii() else toml_value(key)
        if isinstance(value, Mapping):
            tables.append((f"{prefix}{quoted}", value))
        else:
            lines.append(f"{quoted} = {toml_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for name, table in tables:
        out += f"\n[{name}]\n" + to_toml(table, f"{name}.")
    return out


def merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def sandbox_document(api_url: str, data_dir: Path) -> dict[str, Any]:
    """A config document for the sandbox tenant's ids, as a region admin would write it."""
    from ta_steget_cli.sandbox import ids

    return {
        "superoffice": {
            "api_url": api_url,
            "auth": "ticket",
            "page_size": 100,
            "requests_per_second": 1000,
            "max_retry_seconds": 5,
            "timeout_seconds": 5,
        },
        "kommuner": dict(ids.KOMMUN_INTERESTS),
        "move_status": {
            "field": ids.MOVE_STATUS_FIELD,
            "moved_to_field": ids.MOVED_TO_FIELD,
            "move_date_field": ids.MOVE_DATE_FIELD,
            "values": dict(ids.MOVE_STATUS_VALUES),
            "moved_to_values": dict(ids.MOVED_TO_VALUES),
        },
        "preferred_contact": {
            "field": ids.PREFERRED_CONTACT_FIELD,
            "values": dict(ids.PREFERRED_CONTACT_VALUES),
        },
        "first_response": {
            "ignore_registered_by": [ids.FORM_USER[0]],
            "no_response_interests": list(ids.NO_RESPONSE_INTERESTS),
        },
        "purge": {"newsletter_interest": ids.NEWSLETTER_INTEREST, "data_dir": str(data_dir)},
        "notify": {
            # doctor asks the SMTP server when the transport is smtp: the tests that send
            # mail set transport = "smtp" and their own server's port.
            "transport": "outbox",
            "outbox": str(data_dir.parent / "outbox"),
            "smtp_host": "127.0.0.1",
            "smtp_port": 2525,
            "starttls": False,
            "from": "tasteget@region.example",
            "recipients": {
                "Krokom": ["flyttvagledare@krokom.example"],
                "Östersund": ["inflytt@ostersund.example"],
                "region": ["inflytt@region.example"],
            },
        },
    }


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
    """Services and the config are tested in English, the message ids; the CLI chooses each
    run's language itself (Swedish unless --lang en), so CLI tests see what people see."""
    from ta_steget_cli import i18n

    i18n.set_language("en")
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


@dataclass
class SandboxEnv:
    """A sandbox tenant served over real HTTP, a config file pointing at it, and a CLI runner."""

    tenant: Any
    server: Any
    config_path: Path
    data_dir: Path
    env: dict[str, str]

    def run(self, *args: str, input: str | None = None) -> Any:
        runner = CliRunner()
        return runner.invoke(
            _app(), ["--config", str(self.config_path), *args], input=input, env=self.env
        )


def _app() -> Any:
    from ta_steget_cli.cli import app

    return app


@pytest.fixture
def sandbox_env(tmp_path: Path) -> Iterator[Callable[..., SandboxEnv]]:
    """Factory: sandbox_env(tenant, **config_overrides) -> SandboxEnv (server stopped after)."""
    from ta_steget_cli.sandbox import SandboxServer, ids

    servers: list[Any] = []

    def make(tenant: Any, **overrides: Any) -> SandboxEnv:
        server = SandboxServer(tenant)
        server.__enter__()
        servers.append(server)
        data_dir = tmp_path / "data"
        document = merge(sandbox_document(server.api_url, data_dir), overrides)
        path = tmp_path / f"config-{len(servers)}.toml"
        path.write_text(to_toml(document), encoding="utf-8")
        env = {"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
        return SandboxEnv(tenant, server, path, data_dir, env)

    yield make
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Run the CLI without a config (for --sandbox, --help, usage errors)."""

    def run(*args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Any:
        return CliRunner().invoke(_app(), list(args), input=input, env=dict(env or {}))

    return run


def pytest_report_header(config: pytest.Config) -> str:
    return f"tasteget tests; TASTEGET_SHARED_DIR={os.environ.get('TASTEGET_SHARED_DIR', '-')}"
