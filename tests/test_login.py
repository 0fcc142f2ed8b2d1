"""A person's own login (issue 15): `tasteget login` through a scripted browser against the
sandbox's OpenID Connect endpoints, the login kept in a (test) keyring, later commands run as
that person, refresh, logout, least privilege before any change, and every refusal the flow
owes a person: state, nonce, a forged id_token, a wrong tenant, a timeout, a cancelled login,
a refused refresh, an answer from another machine.

Every command runs in its own process, as a person's would, so `webbrowser` reads BROWSER and
`keyring` reads PYTHON_KEYRING_BACKEND afresh; the sandbox runs in this process on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ta_steget_cli.sandbox import SandboxServer, SandboxTenant, ids
from ta_steget_cli.superoffice.oidc import Listener

from .conftest import AS_OF, merge, sandbox_document, to_toml
from .keyring_backend import BACKEND

ENTRY = "from ta_steget_cli.cli import main; main()"
ROOT = Path(__file__).resolve().parents[1]
BROWSER = f'"{sys.executable}" "{Path(__file__).with_name("fake_browser.py")}" %s'


@dataclass
class Desk:
    """One person's computer: a config for a personal login, a keyring, a browser."""

    tenant: SandboxTenant
    server: SandboxServer
    config: Path
    keyring: Path
    home: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TASTEGET_")},
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "PYTHON_KEYRING_BACKEND": BACKEND,
            "TASTEGET_TEST_KEYRING": str(self.keyring),
            "BROWSER": BROWSER,
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "NO_PROXY": "127.0.0.1",
            **env,
        }
        return subprocess.run(
            [sys.executable, "-c", ENTRY, "--config", str(self.config), "--lang", "en", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=environment,
            cwd=ROOT,
        )

    def login(self, user: str = "ELNY", *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run("login", "--timeout", "20", *args, FAKE_BROWSER_USER=user, **env)

    def requests(self, method: str, fragment: str) -> int:
        return sum(1 for m, path, _ in self.tenant.requests if m == method and fragment in path)

    def keyring_entries(self) -> dict[str, str]:
        if not self.keyring.exists():
            return {}
        return dict(json.loads(self.keyring.read_text(encoding="utf-8")))


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    tenant = SandboxTenant(persons=300, seed=3, today=AS_OF)
    with SandboxServer(tenant) as server:
        document = merge(
            sandbox_document(server.api_url, tmp_path / "data"),
            {
                "superoffice": {
                    "auth": "user",
                    "client_id": ids.CLIENT_ID,
                    "login_url": server.base_url,
                    "tenant": ids.CONTEXT_IDENTIFIER,
                }
            },
        )
        del document["superoffice"]["api_url"]  # a personal login learns it from the id_token
        config = tmp_path / "config.toml"
        config.write_text(to_toml(document), encoding="utf-8")
        yield Desk(tenant, server, config, tmp_path / "keyring.json", tmp_path / "home")


def test_login_then_commands_run_as_that_person_without_any_secret_in_the_environment(
    desk: Desk,
) -> None:
    done = desk.login("ELNY")
    assert done.returncode == 0, done.stderr
    assert "Signed in as elny@sandbox.example to Cust00000" in done.stderr
    # The refresh token is in the keyring, never in a plain file.
    entries = desk.keyring_entries()
    refresh = [v for k, v in entries.items() if k.startswith("tasteget/login:refresh:")]
    assert len(refresh) == 1
    for path in desk.home.rglob("*"):
        if path.is_file():
            assert refresh[0] not in path.read_text(encoding="utf-8", errors="replace")

    who = desk.run("whoami")
    assert who.returncode == 0, who.stderr
    assert "Elin Nyberg (ELNY)" in who.stdout
    assert "Cust00000" in who.stdout
    rows = {k.strip(): v.strip() for k, v in (x.rsplit("  ", 1) for x in who.stdout.splitlines())}
    assert rows["Administrator"] == "no"
    assert rows["May delete persons (purge)"] == "no"
    assert rows["May change persons"] == "yes"

    listing = desk.run("overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat(), "-f", "json")
    assert listing.returncode == 0, listing.stderr
    assert isinstance(json.loads(listing.stdout), list)


def test_an_expired_access_token_is_refreshed_silently(desk: Desk) -> None:
    assert desk.login("ELNY").returncode == 0
    logins = desk.requests("POST", "/oauth/tokens")
    desk.tenant.oidc.expire_access_tokens()  # the server no longer takes the old token: a 401

    who = desk.run("whoami")

    assert who.returncode == 0, who.stderr
    assert desk.requests("POST", "/oauth/tokens") == logins + 1
    assert any(status == 401 for _m, _p, status in desk.tenant.requests)
    # The next process uses the refreshed token without refreshing again.
    assert desk.run("whoami").returncode == 0
    assert desk.requests("POST", "/oauth/tokens") == logins + 1


def test_logout_forgets_the_login_and_the_next_command_says_to_log_in(desk: Desk) -> None:
    assert desk.login("ELNY").returncode == 0

    out = desk.run("logout")

    assert out.returncode == 0, out.stderr
    assert desk.requests("POST", "/oauth/revoke") == 1
    assert desk.tenant.oidc.refresh == {}
    assert not [k for k in desk.keyring_entries() if "login:" in k]
    after = desk.run("overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat())
    assert after.returncode == 4
    assert after.stderr.strip().splitlines() == [
        "tasteget: you are not signed in to SuperOffice; run 'tasteget login'"
    ]


def test_a_move_guide_is_refused_the_purge_before_any_change(desk: Desk, tmp_path: Path) -> None:
    assert desk.login("ELNY").returncode == 0
    plan = tmp_path / "plan.json"
    dry = desk.run("purge", "--dry-run", "--as-of", AS_OF.isoformat(), "--plan-out", str(plan))
    assert dry.returncode == 0, dry.stderr
    desk.tenant.requests.clear()

    refused = desk.run("purge", "--plan", str(plan), "--yes")

    assert refused.returncode == 4, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "administrator" in refused.stderr
    changes = [m for m, _p, _s in desk.tenant.requests if m in ("DELETE", "PATCH", "PUT")]
    assert changes == []
    assert not any("undelete" in p.lower() for _m, p, _s in desk.tenant.requests)


def test_an_administrator_may_purge(desk: Desk, tmp_path: Path) -> None:
    assert desk.login("ADMN").returncode == 0
    who = desk.run("whoami")
    assert "Alva Adminsson (ADMN)" in who.stdout
    assert who.stdout.splitlines()[-1].split()[-1] == "yes"  # may delete persons
    plan = tmp_path / "plan.json"
    assert desk.run("purge", "--dry-run", "--as-of", AS_OF.isoformat(), "--plan-out", str(plan))
    applied = desk.run("purge", "--plan", str(plan), "--yes")
    assert applied.returncode == 0, applied.stderr
    assert desk.requests("DELETE", "/v1/Person/") > 0


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("wrong_state", "state mismatch"),
        ("wrong_nonce", "nonce mismatch"),
        ("cancel", "the login was cancelled or refused (access_denied)"),
    ],
)
def test_a_login_answer_that_does_not_belong_to_this_login_is_refused(
    desk: Desk, mode: str, message: str
) -> None:
    out = desk.login("ELNY", FAKE_BROWSER_MODE=mode)

    assert out.returncode == 4
    assert message in out.stderr.strip().splitlines()[-1]
    assert not [k for k in desk.keyring_entries() if "login:" in k]


def test_a_forged_id_token_is_refused(desk: Desk) -> None:
    desk.tenant.oidc.forge_id_tokens = True  # signed with a key the JWKS does not publish

    out = desk.login("ELNY")

    assert out.returncode == 4
    assert "id_token did not validate" in out.stderr
    assert not [k for k in desk.keyring_entries() if "login:" in k]


def test_a_login_to_another_tenant_is_refused(desk: Desk) -> None:
    out = desk.login("ELNY", "--tenant", "Cust99999")

    assert out.returncode == 4
    assert "you signed in to tenant Cust00000, not Cust99999" in out.stderr


def test_no_answer_from_the_browser_times_out_with_one_line(desk: Desk) -> None:
    out = desk.run("login", "--timeout", "1", FAKE_BROWSER_MODE="stay_away")

    assert out.returncode == 4
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("tasteget: no answer from the browser within 1 seconds")
    # The address was printed for a machine without a browser.
    assert "/login/common/oauth/authorize?" in out.stderr


def test_a_refused_refresh_says_to_log_in_again(desk: Desk) -> None:
    assert desk.login("ELNY").returncode == 0
    desk.tenant.oidc.expire_access_tokens()
    desk.tenant.oidc.refused_refresh = True

    out = desk.run("whoami")

    assert out.returncode == 4
    assert out.stderr.strip().splitlines() == [
        "tasteget: SuperOffice would not refresh the login (The refresh token is unknown or"
        " revoked); run 'tasteget login' again"
    ]


def test_the_listener_refuses_an_answer_from_another_machine() -> None:
    with Listener() as listener:
        status, _text = listener.receive("10.1.2.3", "POST", {"code": "x", "state": "s"})
        assert status == 403
        status, _text = listener.receive("127.0.0.1", "GET", {"code": "x", "state": "s"})
        assert status == 405
        assert listener.redirect_uri == f"http://127.0.0.1:{listener.port}"


def test_doctor_says_who_is_signed_in_and_what_they_may_do(desk: Desk) -> None:
    assert desk.login("ELNY").returncode == 0

    out = desk.run("doctor")

    line = next(x for x in out.stdout.splitlines() if "credentials" in x)
    assert line.startswith("ok")
    assert "signed in as ELNY (associate 15)" in line
    assert "may change persons: yes; may delete persons (purge, undo): no" in line


def test_secrets_kept_in_the_keyring_are_used_and_the_environment_wins(
    sandbox_env: Any, tmp_path: Path
) -> None:
    env = sandbox_env(SandboxTenant(persons=300, seed=3, today=AS_OF))
    keyring = tmp_path / "secrets-keyring.json"
    desk = Desk(env.tenant, env.server, env.config_path, keyring, tmp_path / "home")
    # auth = "ticket": the ticket and app token come from the keyring, not the environment.
    for name, value in (("TASTEGET_TICKET", ids.TICKET), ("app_token", ids.APP_TOKEN)):
        stored = subprocess.run(
            [sys.executable, "-c", ENTRY, "secrets", "set", name],
            input=value + "\n",
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "TASTEGET_TEST_KEYRING": str(keyring),
                "PYTHON_KEYRING_BACKEND": BACKEND,
            },
            timeout=60,
        )
        assert stored.returncode == 0, stored.stderr
    assert set(desk.keyring_entries()) == {
        "tasteget/TASTEGET_TICKET",
        "tasteget/TASTEGET_APP_TOKEN",
    }
    assert desk.keyring_entries()["tasteget/TASTEGET_TICKET"] == ids.TICKET  # no line end kept

    listed = desk.run("secrets", "list")
    assert "TASTEGET_TICKET" in listed.stdout and ids.TICKET not in listed.stdout
    assert desk.run("doctor").returncode == 0
    wrong = desk.run("doctor", TASTEGET_TICKET="7T:bm90LXRoZS1yaWdodC10aWNrZXQ=")
    assert wrong.returncode == 4  # the environment wins over the keyring

    assert desk.run("secrets", "unset", "TASTEGET_TICKET").returncode == 0
    assert "tasteget/TASTEGET_TICKET" not in desk.keyring_entries()
    assert desk.run("doctor").returncode == 2  # no ticket anywhere now: a config error


def test_secrets_set_refuses_an_unknown_name(desk: Desk) -> None:
    out = desk.run("secrets", "set", "OSLO")

    assert out.returncode == 2
    assert out.stderr.startswith("tasteget: NAME: found 'OSLO', expected one of TASTEGET_")
