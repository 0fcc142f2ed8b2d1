"""`tasteget notify` end to end: the sandbox tenant over HTTP, a real SMTP server (aiosmtpd)
on loopback, and the delivered messages read back: recipients, subject, parts and the CSV."""

from __future__ import annotations

import csv
import email
import io
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ta_steget_cli.sandbox import SandboxTenant

from .conftest import AS_OF
from .test_overdue import County, at, build_county

KROKOM = "flyttvagledare@krokom.example"
OSTERSUND = "inflytt@ostersund.example"
REGION = "inflytt@region.example"
PASSWORD = "rätt-lösen"


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Delivered:
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """An SMTP handler that keeps what it accepts and refuses some recipients."""

    refuse: set[str] = field(default_factory=set)
    delivered: list[Delivered] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.delivered.append(Delivered(list(envelope.rcpt_tos), parse(raw)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> EmailMessage:
        return next(d.message for d in self.delivered if address in d.rcpt_tos)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Smtp:
    recorder: Recorder
    port: int


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == b"tasteget"
        and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[Callable[..., Smtp]]:
    controllers: list[Controller] = []

    def start(refuse: set[str] | None = None, *, login: bool = False) -> Smtp:
        recorder = Recorder(refuse=set(refuse or ()))
        port = free_port()
        options: dict[str, Any] = {}
        if login:
            options = {"authenticator": authenticate, "auth_require_tls": False}
        controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return Smtp(recorder, port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def county_mail(
    sandbox_env: Callable[..., Any], smtp: Callable[..., Smtp]
) -> Callable[..., tuple[Any, County, Smtp]]:
    def make(refuse: set[str] | None = None, **notify: Any) -> tuple[Any, County, Smtp]:
        server = smtp(refuse, login=bool(notify.get("username")))
        tenant = SandboxTenant(persons=0, today=AS_OF)
        ids = build_county(tenant)
        env = sandbox_env(tenant, notify={"transport": "smtp", "smtp_port": server.port, **notify})
        return env, ids, server

    return make


def attachment_ids(message: EmailMessage) -> list[int]:
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "text/csv"
    data = part.get_payload(decode=True)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Person-id"
    return [int(row[0]) for row in rows[1:]]


def notify(env: Any, *args: str) -> Any:
    return env.run("notify", "--as-of", AS_OF.isoformat(), *args)


# ---------------------------------------------------------------- sending


def test_each_municipality_and_the_region_get_their_list(county_mail: Callable[..., Any]) -> None:
    env, c, server = county_mail()
    result = notify(env)
    assert result.exit_code == 0, result.output
    delivered = server.recorder.delivered
    assert sorted(d.rcpt_tos[0] for d in delivered) == sorted([KROKOM, OSTERSUND, REGION])
    assert all(len(d.rcpt_tos) == 1 for d in delivered)

    krokom = server.recorder.to(KROKOM)
    assert krokom["Subject"] == (
        "Ta steget: 4 personer väntar på första kontakt – Krokom (vecka 12)"
    )
    assert krokom["From"] == "tasteget@region.example"
    assert krokom["To"] == KROKOM
    plain = krokom.get_body(preferencelist=("plain",))
    html = krokom.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert "Anna Berg" in plain.get_content() and "Nyström" in plain.get_content()
    assert "<td>Anna Berg</td>" in html.get_content()
    assert "Cecilia Holm" not in plain.get_content()  # answered in time
    assert attachment_ids(krokom) == [c.ignored, c.before, c.late, c.both]

    # A person in two municipalities is on both lists.
    assert attachment_ids(server.recorder.to(OSTERSUND)) == [c.both]
    region = server.recorder.to(REGION)
    assert region["Subject"].endswith("– Regionen (ingen kommun vald) (vecka 12)")
    # Due today: in the mail by default ([notify] due_soon_days = 2), in a section of its own.
    assert attachment_ids(region) == [c.region_late, c.region_today]

    assert "Krokom: 4 personer skickade till 1 mottagare" in result.stdout
    # Berg has someone waiting but no recipients: said on stderr, not an error.
    assert (
        "varning: Berg har inga mottagare i [notify.recipients]; listan med 2 personer skickas "
        "inte" in result.stderr
    )


def test_refused_recipient_gives_exit_3_and_the_others_are_delivered(
    county_mail: Callable[..., Any],
) -> None:
    env, _, server = county_mail(refuse={OSTERSUND})
    result = notify(env)
    assert result.exit_code == 3, result.output
    assert sorted(d.rcpt_tos[0] for d in server.recorder.delivered) == [KROKOM, REGION]
    assert "Östersund: INTE skickad: mottagaren avvisades" in result.stderr
    assert "1 av 3 utskick misslyckades: Östersund" in result.stderr
    assert "Traceback" not in result.output


def test_refused_login_is_one_line_and_exit_3(county_mail: Callable[..., Any]) -> None:
    env, _, server = county_mail(username="tasteget")
    env.env["TASTEGET_SMTP_PASSWORD"] = "fel-lösen"
    result = notify(env)
    assert result.exit_code == 3, result.output
    assert server.recorder.delivered == []
    assert "3 av 3 utskick misslyckades" in result.stderr
    assert "fel-lösen" not in result.output


def test_login_with_the_password_from_the_environment(county_mail: Callable[..., Any]) -> None:
    env, _, server = county_mail(username="tasteget")
    env.env["TASTEGET_SMTP_PASSWORD"] = PASSWORD
    result = notify(env, "--only", "KROKOM")
    assert result.exit_code == 0, result.output
    assert [d.rcpt_tos for d in server.recorder.delivered] == [[KROKOM]]


def test_missing_password_is_a_config_error_before_reading(
    county_mail: Callable[..., Any],
) -> None:
    env, _, server = county_mail(username="tasteget")
    env.tenant.requests.clear()
    result = notify(env)
    assert result.exit_code == 2
    assert "TASTEGET_SMTP_PASSWORD" in result.stderr
    assert env.tenant.requests == []
    assert server.recorder.delivered == []


def test_only_one_municipality_or_the_region(county_mail: Callable[..., Any]) -> None:
    env, c, server = county_mail()
    assert notify(env, "--only", "region").exit_code == 0
    assert [d.rcpt_tos for d in server.recorder.delivered] == [[REGION]]
    assert attachment_ids(server.recorder.delivered[0].message) == [c.region_late, c.region_today]
    unconfigured = notify(env, "--only", "berg")
    assert unconfigured.exit_code == 2
    assert "har inga adresser för Berg" in unconfigured.stderr
    unknown = notify(env, "--only", "Stockholm")
    assert unknown.exit_code == 2
    assert len(server.recorder.delivered) == 1


def test_empty_lists_are_sent_only_when_asked(
    sandbox_env: Callable[..., Any], smtp: Callable[..., Smtp]
) -> None:
    server = smtp()
    tenant = SandboxTenant(persons=0, today=AS_OF)
    answered = tenant.add_person("Ada", "Svar", registered=at("2026-03-02"), kommuner=["Krokom"])
    tenant.add_activity(answered, "appointment", date=at("2026-03-03"))
    env = sandbox_env(tenant, notify={"transport": "smtp", "smtp_port": server.port})
    quiet = notify(env)
    assert quiet.exit_code == 0
    assert server.recorder.delivered == []
    assert "inget att skicka" in quiet.stderr
    loud = notify(env, "--send-empty")
    assert loud.exit_code == 0, loud.output
    assert len(server.recorder.delivered) == 3
    krokom = server.recorder.to(KROKOM)
    assert krokom["Subject"].startswith("Ta steget: 0 personer")
    plain = krokom.get_body(preferencelist=("plain",))
    assert plain is not None and "Ingen väntar på första kontakt" in plain.get_content()


# ---------------------------------------------------------------- dry run and bad input


def test_dry_run_writes_eml_files_and_sends_nothing(
    county_mail: Callable[..., Any], tmp_path: Path
) -> None:
    env, c, server = county_mail()
    outbox = tmp_path / "outbox"
    result = notify(env, "--dry-run", "--outbox", str(outbox), "--due-soon", "0")
    assert result.exit_code == 0, result.output
    assert server.recorder.delivered == []
    names = sorted(p.name for p in outbox.iterdir())
    assert names == ["2026-03-18-krokom.eml", "2026-03-18-ostersund.eml", "2026-03-18-region.eml"]
    region = parse((outbox / "2026-03-18-region.eml").read_bytes())
    assert region["To"] == REGION
    assert attachment_ids(region) == [c.region_late, c.region_today]  # due today included
    assert "Regionen (ingen kommun vald): 2 personer skrivna till" in result.stdout


def test_bad_as_of_exits_2_and_sends_nothing(county_mail: Callable[..., Any]) -> None:
    env, _, server = county_mail()
    result = env.run("notify", "--as-of", "2026-13-01")
    assert result.exit_code == 2
    assert "--as-of" in result.stderr
    assert server.recorder.delivered == []
