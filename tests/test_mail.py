"""Composing and delivering the notify mails, against a real SMTP server on loopback."""

from __future__ import annotations

import csv
import datetime as dt
import email
import io
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ta_steget_cli.config import NotifySettings
from ta_steget_cli.errors import ConfigError, UsageError
from ta_steget_cli.mail import (
    DeliveryResult,
    Outgoing,
    compose,
    csv_safe,
    outgoing_for,
    send,
    slug,
    write_eml,
)
from ta_steget_cli.models import OverdueItem
from tests.conftest import POSIX_MODES

AS_OF = date(2026, 11, 23)  # Monday, ISO week 48
SENDER = "tasteget@region.example"
PASSWORD = "s3cret-Lösen!"  # non-ASCII: smtplib's own login cannot send it
USERS = {b"tasteget": PASSWORD.encode(), b"ascii": b"plain-secret"}

TRICKY_NAME = 'Anna "Annie" <script>alert(1)</script> & Ødegård'
NON_LATIN = "Зоя Ли 李小龍"


def item(person_id: int, name: str, **changes: object) -> OverdueItem:
    values: dict[str, object] = {
        "person_id": person_id,
        "name": name,
        "kommuner": ("Krokom",),
        "registered": date(2026, 11, 9),
        "due": date(2026, 11, 16),
        "working_days_overdue": 5,
        "status": "overdue",
        "email": f"p{person_id}@example.se",
        "phone": "070-123 45 67",
        "preferred_contact": "phone",
        "our_contact": "Maja Flyttvägledare",
    }
    values.update(changes)
    return OverdueItem(**values)  # type: ignore[arg-type]


ITEMS = [
    item(1, TRICKY_NAME),
    item(2, NON_LATIN, kommuner=("Krokom", "Åre"), preferred_contact="email"),
    item(
        3,
        '=HYPERLINK("http://evil")',
        phone="+46 70-123 45 67",
        email="@evil",
        our_contact="-2+3",
        due=date(2026, 11, 24),
        working_days_overdue=-1,
        status="due_soon",
    ),
]


# ---------------------------------------------------------------- helpers: reading mail back


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def attachment_rows(message: EmailMessage) -> list[list[str]]:
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    part = attachments[0]
    assert part.get_content_type() == "text/csv"
    data = part.get_payload(decode=True)
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


# ---------------------------------------------------------------- compose


def composed(lang: str = "sv", key: str = "Krokom") -> EmailMessage:
    message = compose(
        key,
        ITEMS,
        as_of=AS_OF,
        sender=SENDER,
        recipients=["a@krokom.example", "b@krokom.example"],
        lang=lang,
    )
    return parse(message.as_bytes())  # what a mail client sees


def test_subject_names_municipality_count_and_week_in_swedish() -> None:
    message = composed()
    assert message["Subject"] == (
        "Ta steget: 3 personer väntar på första kontakt – Krokom (vecka 48)"
    )


def test_subject_in_english() -> None:
    assert composed("en")["Subject"] == (
        "Ta steget: 3 people waiting for a first contact – Krokom (week 48)"
    )


def test_subject_singular_and_region() -> None:
    message = compose(
        "region", ITEMS[:1], as_of=AS_OF, sender=SENDER, recipients=["r@region.example"]
    )
    assert message["Subject"] == (
        "Ta steget: 1 person väntar på första kontakt – Regionen (ingen kommun vald) (vecka 48)"
    )


def test_subject_holds_no_person_data() -> None:
    subject = composed()["Subject"]
    for entry in ITEMS:
        assert entry.name not in subject
        assert (entry.email or "") not in subject


def test_headers() -> None:
    message = composed()
    assert message["From"] == SENDER
    assert message["To"] == "a@krokom.example, b@krokom.example"
    assert message["Date"].datetime.tzinfo is not None
    assert message["Message-ID"].endswith("@region.example>")


def test_parts_plain_html_and_csv() -> None:
    message = composed()
    assert message.get_content_type() == "multipart/mixed"
    assert body(message, "plain")
    assert body(message, "html")
    assert attachment_rows(message)
    filename = next(message.iter_attachments()).get_filename()
    assert filename == "ta-steget-krokom-2026-11-23.csv"


def test_text_part_holds_names_intact() -> None:
    text = body(composed(), "plain")
    assert TRICKY_NAME in text
    assert NON_LATIN in text
    assert "Kommuner: Krokom, Åre" in text
    assert "Svara senast: måndag 16 november (5 arbetsdagar sen)" in text
    assert "Försenade (2)\n-------------" in text
    assert "Snart försenade – svara senast (1)" in text
    assert "Svara senast: tisdag 24 november\n" in text
    assert not re.search(r"(?<![\d-])-\d", text)  # people never read a negative number
    assert "070-123 45 67" not in text  # details = "names": no phone or e-mail


def test_html_part_escapes_names() -> None:
    page = body(composed(), "html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;Annie&quot;" in page
    assert "&amp; Ødegård" in page
    assert NON_LATIN in page
    assert "<th>Svara senast</th>" in page
    assert "<h2>Snart försenade – svara senast (1)</h2>" in page


def test_csv_attachment_round_trip_and_formula_cells_neutralised() -> None:
    message = compose(
        "Krokom", ITEMS, as_of=AS_OF, sender=SENDER, recipients=["a@x.se"], details="full"
    )
    rows = attachment_rows(parse(message.as_bytes()))
    assert rows[0] == [
        "Person-id",
        "Namn",
        "Öppna i SuperOffice",
        "Kommuner",
        "Registrerad",
        "Svara senast",
        "Arbetsdagar sen",
        "Status",
        "Vill bli kontaktad via",
        "Telefon",
        "E-post",
        "Vår kontakt",
    ]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["1"][1] == TRICKY_NAME
    assert by_id["2"][1] == NON_LATIN
    assert by_id["2"][8] == "e-post"
    assert by_id["2"][3] == "Krokom, Åre"
    assert by_id["1"][6] == "5"  # our own number stays a number
    evil = by_id["3"]
    assert evil[1] == '\'=HYPERLINK("http://evil")'
    assert evil[9] == "'+46 70-123 45 67"
    assert evil[10] == "'@evil"
    assert evil[11] == "'-2+3"
    assert evil[5] == "2026-11-24"
    assert evil[6] == ""  # due soon: no negative number
    assert evil[7] == "förfaller snart"


def test_english_verbs_agree_with_the_count() -> None:
    one = compose("Åre", ITEMS[:1], as_of=AS_OF, sender=SENDER, recipients=["a@x.se"], lang="en")
    text = body(parse(one.as_bytes()), "plain")
    assert "1 person who wants to move to Åre is waiting" in text
    many = body(composed("en"), "plain")
    assert "3 people who want to move to Krokom are waiting" in many
    assert "Due soon – answer by (1)" in many
    assert "Answer by: Tuesday 24 November\n" in many
    assert "Answer by: Monday 16 November (5 working days late)" in many


def test_empty_list_still_composes() -> None:
    message = compose("Berg", [], as_of=AS_OF, sender=SENDER, recipients=["x@berg.example"])
    assert message["Subject"].startswith("Ta steget: 0 personer")
    parsed = parse(message.as_bytes())
    assert "Ingen väntar" in body(parsed, "plain")
    assert len(attachment_rows(parsed)) == 1  # the heading only


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+46", "+46"),  # + and digits only: a phone number, runs nothing (issue 9, 19)
        ("+46 70", "'+46 70"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Anna", "Anna"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_csv_safe(value: str, expected: str) -> None:
    assert csv_safe(value) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [("Östersund", "ostersund"), ("Åre", "are"), ("Bräcke", "bracke"), ("region", "region")],
)
def test_slug(key: str, expected: str) -> None:
    assert slug(key) == expected


# ---------------------------------------------------------------- write_eml


def outgoing(keys: tuple[str, ...] = ("Krokom", "Åre", "region")) -> list[Outgoing]:
    out = []
    for key in keys:
        recipients = (f"guide@{slug(key)}.example",)
        message = compose(key, ITEMS, as_of=AS_OF, sender=SENDER, recipients=recipients)
        out.append(Outgoing(key, recipients, message))
    return out


def test_write_eml_round_trip(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox" / "nested"
    paths = write_eml(outgoing(), outbox)
    assert [p.name for p in paths] == [
        "2026-11-23-krokom.eml",
        "2026-11-23-are.eml",
        "2026-11-23-region.eml",
    ]
    for path in paths:
        if POSIX_MODES:
            assert path.stat().st_mode & 0o077 == 0, "personal data: owner only"
        message = parse(path.read_bytes())
        assert "Ta steget: 3 personer" in message["Subject"]
        assert TRICKY_NAME in body(message, "plain")
        assert attachment_rows(message)[1][1] == TRICKY_NAME
    assert not [p for p in outbox.iterdir() if p.name.startswith(".")]  # no temp files left


def test_write_eml_replaces_its_own_file_from_the_same_day(tmp_path: Path) -> None:
    write_eml(outgoing(("Krokom",)), tmp_path)
    second = outgoing(("Krokom",))
    write_eml(second, tmp_path)
    saved = parse((tmp_path / "2026-11-23-krokom.eml").read_bytes())
    assert saved["Message-ID"] == second[0].message["Message-ID"]


def test_write_eml_leaves_an_unrelated_file_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "2026-11-23-krokom.eml"
    foreign.write_text("my own notes\n")
    with pytest.raises(UsageError, match="not written by tasteget"):
        write_eml(outgoing(("Krokom",)), tmp_path)
    assert foreign.read_text() == "my own notes\n"


# ---------------------------------------------------------------- a real SMTP server


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Recorder:
    """An aiosmtpd handler that records what it accepts and refuses what the test says."""

    refuse_rcpt: set[str] = field(default_factory=set)
    refuse_data_for: set[str] = field(default_factory=set)
    close_on_data_for: set[str] = field(default_factory=set)
    delivered: list[Delivered] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.refuse_data_for:
            return "554 5.6.0 Message rejected by policy"
        if set(envelope.rcpt_tos) & self.close_on_data_for:
            return "421 4.3.2 Service shutting down"
        message = parse(envelope.original_content or envelope.content)
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def by_rcpt(self, address: str) -> Delivered:
        return next(d for d in self.delivered if address in d.rcpt_tos)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    recorder: Recorder
    port: int


def run_server(recorder: Recorder, **smtp_options: object) -> Iterator[Server]:
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    try:
        yield Server(recorder, port)
    finally:
        controller.stop()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from run_server(Recorder(refuse_rcpt={"nobody@are.example"}))


def settings(port: int, **changes: object) -> NotifySettings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "starttls": False,
        "sender": SENDER,
    }
    values.update(changes)
    return NotifySettings(**values)  # type: ignore[arg-type]


def test_delivers_one_mail_per_municipality(server: Server) -> None:
    results = send(outgoing(), settings(server.port), None, timeout=5)
    assert results == [
        DeliveryResult("Krokom", True, None),
        DeliveryResult("Åre", True, None),
        DeliveryResult("region", True, None),
    ]
    assert len(server.recorder.delivered) == 3
    krokom = server.recorder.by_rcpt("guide@krokom.example")
    assert krokom.mail_from == SENDER
    assert krokom.rcpt_tos == ["guide@krokom.example"]
    message = krokom.message
    assert message["Subject"] == (
        "Ta steget: 3 personer väntar på första kontakt – Krokom (vecka 48)"
    )
    assert TRICKY_NAME in body(message, "plain")
    assert "&lt;script&gt;" in body(message, "html")
    rows = attachment_rows(message)
    assert [row[1] for row in rows[1:]] == [TRICKY_NAME, NON_LATIN, '\'=HYPERLINK("http://evil")']
    region = server.recorder.by_rcpt("guide@region.example").message
    assert "Regionen" in region["Subject"]


def test_a_refused_recipient_does_not_stop_the_others(server: Server) -> None:
    out = outgoing()
    are = out[1]
    out[1] = Outgoing(are.key, ("nobody@are.example",), are.message)
    results = send(out, settings(server.port), None, timeout=5)
    assert [r.ok for r in results] == [True, False, True]
    reason = results[1].reason or ""
    assert "nobody@are.example" in reason and "550" in reason
    assert "\n" not in reason
    assert {d.rcpt_tos[0] for d in server.recorder.delivered} == {
        "guide@krokom.example",
        "guide@region.example",
    }


def test_partly_refused_recipients_are_reported(server: Server) -> None:
    out = outgoing(("Åre",))
    out[0] = Outgoing("Åre", ("guide@are.example", "nobody@are.example"), out[0].message)
    [result] = send(out, settings(server.port), None, timeout=5)
    assert not result.ok
    assert "nobody@are.example" in (result.reason or "")
    assert "delivered to the other 1" in (result.reason or "")
    assert server.recorder.by_rcpt("guide@are.example")


def test_a_refused_message_does_not_stop_the_others() -> None:
    for srv in run_server(Recorder(refuse_data_for={"guide@krokom.example"})):
        results = send(outgoing(), settings(srv.port), None, timeout=5)
        assert [r.ok for r in results] == [False, True, True]
        assert "554" in (results[0].reason or "")
        assert len(srv.recorder.delivered) == 2


def test_a_server_closing_the_session_fails_the_rest_with_that_reason() -> None:
    for srv in run_server(Recorder(close_on_data_for={"guide@are.example"})):
        results = send(outgoing(), settings(srv.port), None, timeout=5)
        assert [r.ok for r in results] == [True, False, False]
        assert "connection was lost: 421" in (results[1].reason or "")
        assert (results[2].reason or "").startswith("not sent: the SMTP connection was lost")
        assert len(srv.recorder.delivered) == 1


def test_connection_refused_fails_every_message() -> None:
    port = free_port()  # nobody listens there
    results = send(outgoing(), settings(port), None, timeout=5)
    assert [r.ok for r in results] == [False, False, False]
    for result in results:
        assert f"cannot connect to SMTP server 127.0.0.1:{port}" in (result.reason or "")


def test_nothing_to_send_opens_no_connection() -> None:
    assert send([], settings(free_port()), None) == []


def test_missing_host_or_password_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="smtp_host"):
        send(outgoing(), NotifySettings(), None)
    with pytest.raises(ConfigError, match="TASTEGET_SMTP_PASSWORD"):
        send(outgoing(), settings(1, username="tasteget"), None)


# ---------------------------------------------------------------- AUTH


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login in USERS
        and auth_data.password == USERS[auth_data.login]
    )
    return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535 itself


@pytest.fixture
def auth_server() -> Iterator[Server]:
    yield from run_server(
        Recorder(),
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )


NO_TLS_WARNING = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@NO_TLS_WARNING
@pytest.mark.parametrize(
    ("username", "password"), [("tasteget", PASSWORD), ("ascii", "plain-secret")]
)
def test_login(auth_server: Server, username: str, password: str) -> None:
    results = send(outgoing(), settings(auth_server.port, username=username), password)
    assert all(r.ok for r in results), results
    assert len(auth_server.recorder.delivered) == 3


@NO_TLS_WARNING
def test_refused_ascii_login(auth_server: Server) -> None:
    results = send(outgoing(), settings(auth_server.port, username="ascii"), "wrong")
    assert [r.ok for r in results] == [False, False, False]
    assert "login as 'ascii' refused" in (results[0].reason or "")


@NO_TLS_WARNING
def test_refused_login_fails_every_message_without_the_password(auth_server: Server) -> None:
    wrong = "wrong-" + PASSWORD
    results = send(outgoing(), settings(auth_server.port, username="tasteget"), wrong)
    assert [r.ok for r in results] == [False, False, False]
    for result in results:
        reason = result.reason or ""
        assert "login as 'tasteget' refused" in reason
        assert "535" in reason
        assert wrong not in reason and PASSWORD not in reason
    assert auth_server.recorder.delivered == []


# ---------------------------------------------------------------- TLS


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        # Trust exactly this certificate: the client still verifies, as in production.
        return ssl.create_default_context(cafile=str(self.cert_file))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = folder / "cert.pem"
    key_file = folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


@pytest.fixture
def starttls_server(certificate: Certificate) -> Iterator[Server]:
    yield from run_server(
        Recorder(),
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )


def test_starttls_then_login(starttls_server: Server, certificate: Certificate) -> None:
    config = settings(starttls_server.port, starttls=True, username="tasteget")
    results = send(outgoing(), config, PASSWORD, ssl_context=certificate.client_context())
    assert all(r.ok for r in results), results
    assert len(starttls_server.recorder.delivered) == 3


def test_starttls_verifies_the_certificate_by_default(starttls_server: Server) -> None:
    config = settings(starttls_server.port, starttls=True, username="tasteget")
    results = send(outgoing(), config, PASSWORD, timeout=5)
    assert [r.ok for r in results] == [False, False, False]
    assert "TLS with 127.0.0.1" in (results[0].reason or "")
    assert "CERTIFICATE_VERIFY_FAILED" in (results[0].reason or "")
    assert starttls_server.recorder.delivered == []


def test_a_server_without_starttls_gets_no_plain_text_login(server: Server) -> None:
    config = settings(server.port, starttls=True)
    results = send(outgoing(), config, None, timeout=5)
    assert [r.ok for r in results] == [False, False, False]
    assert "does not offer STARTTLS" in (results[0].reason or "")
    assert server.recorder.delivered == []


def test_implicit_tls(certificate: Certificate) -> None:
    for srv in run_server(Recorder(), ssl_context=certificate.server_context()):
        config = settings(srv.port, ssl=True)
        results = send(outgoing(), config, None, ssl_context=certificate.client_context())
        assert all(r.ok for r in results), results
        assert len(srv.recorder.delivered) == 3


# ---------------------------------------------------------------- outgoing_for


def test_outgoing_for_takes_recipients_and_sender_from_the_settings() -> None:
    config = NotifySettings(
        sender=SENDER, recipients={"Krokom": ("a@krokom.example", "b@krokom.example")}
    )
    out = outgoing_for("Krokom", ITEMS, as_of=AS_OF, settings=config)
    assert out.recipients == ("a@krokom.example", "b@krokom.example")
    assert out.message["To"] == "a@krokom.example, b@krokom.example"
    assert out.message["From"] == SENDER
    assert outgoing_for("Berg", ITEMS, as_of=AS_OF, settings=config) is None
