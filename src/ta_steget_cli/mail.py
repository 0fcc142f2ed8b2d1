"""Composes and delivers the weekly overdue mails of `tasteget notify`.

One message per municipality (and one for the region's persons with no municipality): a plain
text part, an HTML part and the list as a CSV attachment for Excel. Which persons go to which
municipality is the notify service's business; this module only writes and sends.

Delivery uses one SMTP connection for all messages; a message the server refuses does not stop
the others, and every outcome comes back as a one-line `DeliveryResult`.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from .config import NotifySettings
from .errors import ConfigError, UsageError
from .files import write_atomically
from .models import OverdueItem
from .output import csv_safe
from .workdays import STOCKHOLM, today_stockholm

REGION = "region"
AS_OF_HEADER = "X-Tasteget-As-Of"  # lets write_eml name the file after the run's as-of date


@dataclass(frozen=True)
class Outgoing:
    key: str  # municipality name, or "region"
    recipients: tuple[str, ...]
    message: EmailMessage


@dataclass(frozen=True)
class DeliveryResult:
    key: str
    ok: bool
    reason: str | None = None  # one line, never a secret


# ---------------------------------------------------------------- wording


@dataclass(frozen=True)
class _Words:
    subject: str  # {count} {people} {place} {week}
    person: str
    persons: str
    region: str
    # (one person, several): English verbs agree with the count.
    intro: tuple[str, str]  # {count_text} {place} {as_of}
    region_intro: tuple[str, str]  # {count_text} {as_of}
    nobody: str
    due_soon_note: tuple[str, str]  # {n}
    closing: str
    headings: tuple[str, ...]  # name, registered, due, overdue, preferred, phone, email, ours
    csv_extra: tuple[str, ...]  # person id, municipalities, status
    contact: dict[str, str]
    status: dict[str, str]
    attachment: str  # {slug} {as_of}


_SV = _Words(
    subject="Ta steget: {count} {people} väntar på första kontakt – {place} (vecka {week})",
    person="person",
    persons="personer",
    region="Regionen",
    intro=(
        "{count_text} som vill flytta till {place} väntar på första kontakt från en "
        "flyttvägledare. Listan gäller {as_of}.",
    )
    * 2,
    region_intro=(
        "{count_text} som inte har valt någon kommun väntar på första kontakt från "
        "regionen. Listan gäller {as_of}.",
    )
    * 2,
    nobody="Ingen väntar på första kontakt. Listan gäller {as_of}.",
    due_soon_note=(
        "Av dem är {n} ännu inte försenad men ska kontaktas inom kort.",
        "Av dem är {n} ännu inte försenade men ska kontaktas inom kort.",
    ),
    closing="När ni har kontaktat en person: registrera kontakten som en aktivitet i "
    "SuperOffice, så försvinner personen från listan. Listan finns också som CSV-fil i "
    "bilagan.\n\nDetta meddelande skickas automatiskt av tasteget varje vecka.",
    headings=(
        "Namn",
        "Registrerad",
        "Svar senast",
        "Arbetsdagar försenad",
        "Vill bli kontaktad via",
        "Telefon",
        "E-post",
        "Vår kontakt",
    ),
    csv_extra=("Person-id", "Kommuner", "Status"),
    contact={"phone": "telefon", "email": "e-post"},
    status={"overdue": "försenad", "due_soon": "förfaller snart"},
    attachment="ta-steget-{slug}-{as_of}.csv",
)

_EN = _Words(
    subject="Ta steget: {count} {people} waiting for a first contact – {place} (week {week})",
    person="person",
    persons="people",
    region="Region",
    intro=(
        "{count_text} who wants to move to {place} is waiting for a first contact from a "
        "move guide. The list is as of {as_of}.",
        "{count_text} who want to move to {place} are waiting for a first contact from a "
        "move guide. The list is as of {as_of}.",
    ),
    region_intro=(
        "{count_text} who has chosen no municipality is waiting for a first contact from "
        "the region. The list is as of {as_of}.",
        "{count_text} who have chosen no municipality are waiting for a first contact from "
        "the region. The list is as of {as_of}.",
    ),
    nobody="Nobody is waiting for a first contact. The list is as of {as_of}.",
    due_soon_note=(
        "Of these, {n} is not overdue yet but is due soon.",
        "Of these, {n} are not overdue yet but are due soon.",
    ),
    closing="Once you have contacted a person, register the contact as an activity in "
    "SuperOffice and the person leaves the list. The list is also attached as a CSV file."
    "\n\nThis message is sent automatically by tasteget every week.",
    headings=(
        "Name",
        "Registered",
        "Due",
        "Working days overdue",
        "Preferred contact",
        "Phone",
        "E-mail",
        "Our contact",
    ),
    csv_extra=("Person id", "Municipalities", "Status"),
    contact={"phone": "phone", "email": "e-mail"},
    status={"overdue": "overdue", "due_soon": "due soon"},
    attachment="ta-steget-{slug}-{as_of}.csv",
)


def _words(lang: str) -> _Words:
    return _EN if lang == "en" else _SV


def _place(key: str, words: _Words) -> str:
    return words.region if key == REGION else key


def _count_text(count: int, words: _Words) -> str:
    return f"{count} {words.person if count == 1 else words.persons}"


def subject_for(key: str, count: int, as_of: date, lang: str = "sv") -> str:
    """The subject: municipality, count and ISO week; never a person's data."""
    words = _words(lang)
    return words.subject.format(
        count=count,
        people=words.person if count == 1 else words.persons,
        place=_place(key, words),
        week=as_of.isocalendar().week,
    )


# ---------------------------------------------------------------- the list, three ways


def _row(item: OverdueItem, words: _Words, *, for_reading: bool = True) -> list[str]:
    """The visible columns of one person, as text, in heading order.

    For reading, a count of -1 alone looks like an error: a due-soon person says so.
    """
    overdue = str(item.working_days_overdue)
    if for_reading and item.status == "due_soon":
        overdue += f" ({words.status['due_soon']})"
    return [
        item.name,
        item.registered.isoformat(),
        item.due.isoformat(),
        overdue,
        words.contact.get(item.preferred_contact or "", item.preferred_contact or ""),
        item.phone or "",
        item.email or "",
        item.our_contact or "",
    ]


def _agree(forms: tuple[str, str], count: int) -> str:
    return forms[0] if count == 1 else forms[1]


def _summary(key: str, items: Sequence[OverdueItem], as_of: date, words: _Words) -> list[str]:
    """The paragraphs above the list."""
    if not items:
        return [words.nobody.format(as_of=as_of.isoformat())]
    count_text = _count_text(len(items), words)
    template = _agree(words.region_intro if key == REGION else words.intro, len(items))
    lines = [template.format(count_text=count_text, place=key, as_of=as_of.isoformat())]
    due_soon = sum(1 for item in items if item.status == "due_soon")
    if due_soon:
        lines.append(_agree(words.due_soon_note, due_soon).format(n=due_soon))
    return lines


def _plain_text(key: str, items: Sequence[OverdueItem], as_of: date, words: _Words) -> str:
    # A labelled block per person reads well in any mail client, with any name length.
    parts = ["\n".join(_summary(key, items, as_of, words))]
    for item in items:
        cells = _row(item, words)
        block = [cells[0]] + [
            f"  {heading}: {cell}"
            for heading, cell in zip(words.headings[1:], cells[1:], strict=True)
            if cell
        ]
        parts.append("\n".join(block))
    parts.append(words.closing)
    return "\n\n".join(parts) + "\n"


def _html(key: str, items: Sequence[OverdueItem], as_of: date, lang: str, words: _Words) -> str:
    esc = html.escape  # every value from the register goes through this: names hold < & "
    paragraphs = "".join(f"<p>{esc(p)}</p>" for p in _summary(key, items, as_of, words))
    closing = "".join(f"<p>{esc(p)}</p>" for p in words.closing.split("\n\n"))
    table = ""
    if items:
        head = "".join(f"<th>{esc(h)}</th>" for h in words.headings)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in _row(item, words)) + "</tr>"
            for item in items
        )
        table = (
            '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    title = esc(subject_for(key, len(items), as_of, lang))
    return (
        f'<!DOCTYPE html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body>{paragraphs}{table}{closing}</body></html>\n"
    )


def _csv(items: Sequence[OverdueItem], words: _Words) -> bytes:
    """The list for Excel: UTF-8 with BOM and semicolons, as Swedish Excel expects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(words.csv_extra[:1] + words.headings + words.csv_extra[1:])
    for item in items:
        cells = _row(item, words, for_reading=False)
        text = [csv_safe(c) for c in cells]
        text[3] = cells[3]  # working days overdue is our own number: no quote before -1
        kommuner = csv_safe(", ".join(item.kommuner))
        status = words.status.get(item.status, item.status)
        writer.writerow([str(item.person_id), *text, kommuner, status])
    return buffer.getvalue().encode("utf-8-sig")


def slug(key: str) -> str:
    """An ASCII file-name part: Östersund -> ostersund, Åre -> are."""
    decomposed = unicodedata.normalize("NFKD", key)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "list"


# ---------------------------------------------------------------- compose


def compose(
    key: str,
    items: Sequence[OverdueItem],
    *,
    as_of: date,
    sender: str,
    recipients: Sequence[str],
    lang: str = "sv",
    now: datetime | None = None,
) -> EmailMessage:
    """One municipality's (or the region's) overdue list as a mail with a CSV attachment."""
    words = _words(lang)
    message = EmailMessage()
    message["Subject"] = subject_for(key, len(items), as_of, lang)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now or datetime.now(STOCKHOLM))
    message["Message-ID"] = make_msgid("tasteget", domain=_domain(sender))
    message[AS_OF_HEADER] = as_of.isoformat()
    # Quoted-printable keeps the parts 7-bit safe for any relay and readable in a saved .eml.
    message.set_content(_plain_text(key, items, as_of, words), cte="quoted-printable")
    message.add_alternative(
        _html(key, items, as_of, lang, words), subtype="html", cte="quoted-printable"
    )
    message.add_attachment(
        _csv(items, words),
        maintype="text",
        subtype="csv",
        filename=words.attachment.format(slug=slug(key), as_of=as_of.isoformat()),
    )
    return message


def outgoing_for(
    key: str,
    items: Sequence[OverdueItem],
    *,
    as_of: date,
    settings: NotifySettings,
    lang: str = "sv",
) -> Outgoing | None:
    """The message for `key` addressed from the config; None when no recipients are configured."""
    recipients = tuple(settings.recipients.get(key, ()))
    if not recipients:
        return None
    if not settings.sender:
        raise ConfigError("[notify] from is not set; notify needs a sender address")
    message = compose(
        key, items, as_of=as_of, sender=settings.sender, recipients=recipients, lang=lang
    )
    return Outgoing(key, recipients, message)


def _domain(sender: str) -> str | None:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or None


# ---------------------------------------------------------------- send


def send(
    outgoing: Sequence[Outgoing],
    settings: NotifySettings,
    password: str | None,
    *,
    timeout: float = 30,
    ssl_context: ssl.SSLContext | None = None,
) -> list[DeliveryResult]:
    """Deliver every message over one SMTP connection; a result per message, in order.

    `password` is TASTEGET_SMTP_PASSWORD. `ssl_context` defaults to one that verifies the
    server's certificate; tests pass one that trusts their self-signed certificate.
    Raises ConfigError when the settings cannot work at all (no host, no password for a login).
    """
    if not outgoing:
        return []
    _check_settings(settings, password)
    context = ssl_context or ssl.create_default_context()
    try:
        smtp = _connect(settings, password, timeout, context)
    except (OSError, smtplib.SMTPException) as exc:
        reason = _redact(_connect_reason(settings, exc), password)
        return [DeliveryResult(out.key, False, reason) for out in outgoing]
    results: list[DeliveryResult] = []
    try:
        for out in outgoing:
            results.append(_deliver_one(smtp, out, settings, password))
            if not _still_connected(results[-1]):
                break
    finally:
        _quit(smtp)
    lost = results[-1].reason if results and not _still_connected(results[-1]) else None
    for out in outgoing[len(results) :]:
        results.append(DeliveryResult(out.key, False, f"not sent: {lost}"))
    return results


_CONNECTION_LOST = "the SMTP connection was lost"


def _still_connected(result: DeliveryResult) -> bool:
    return result.ok or not (result.reason or "").startswith(_CONNECTION_LOST)


def _check_settings(settings: NotifySettings, password: str | None) -> None:
    if not settings.smtp_host:
        raise ConfigError("[notify] smtp_host is not set; notify needs an SMTP server to send")
    if settings.username and not password:
        raise ConfigError(
            f"TASTEGET_SMTP_PASSWORD is not set in the environment; the SMTP login as "
            f"{settings.username!r} needs it (or use notify --dry-run)"
        )


def _connect(
    settings: NotifySettings, password: str | None, timeout: float, context: ssl.SSLContext
) -> smtplib.SMTP:
    """An open, secured and logged-in connection, or an exception saying which step failed."""
    host, port = settings.smtp_host or "", settings.smtp_port
    smtp: smtplib.SMTP
    if settings.ssl:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        smtp.ehlo()
        if settings.starttls and not settings.ssl:
            # Never fall back to plain text: a server without STARTTLS fails every message.
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            _login(smtp, settings.username, password or "")
    except BaseException:
        _quit(smtp)
        raise
    return smtp


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """Log in; smtplib encodes credentials as ASCII, so others go as UTF-8 AUTH PLAIN."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    if "PLAIN" not in smtp.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPNotSupportedError(
            "SMTP AUTH PLAIN, needed for a password with non-ASCII letters"
        )
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, text = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, text)


def _connect_reason(settings: NotifySettings, exc: BaseException) -> str:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"SMTP login as {settings.username!r} refused by {where}: {_smtp_text(exc)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where} does not offer {_unsupported(exc, settings)}; nothing was sent"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {_one_line(exc)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} refused the session: {_smtp_text(exc)}"
    return f"cannot connect to SMTP server {where}: {_one_line(exc)}"


def _unsupported(exc: smtplib.SMTPNotSupportedError, settings: NotifySettings) -> str:
    text = str(exc)
    if "STARTTLS" in text.upper():
        return "STARTTLS (set [notify] starttls = false only for a trusted local relay)"
    if "PLAIN" in text.upper():
        return _one_line(exc)
    if "AUTH" in text.upper():
        return f"SMTP AUTH, but [notify] username = {settings.username!r} is set"
    return _one_line(exc)


def _deliver_one(
    smtp: smtplib.SMTP, out: Outgoing, settings: NotifySettings, password: str | None
) -> DeliveryResult:
    sender = settings.sender or parseaddr(str(out.message["From"]))[1]
    if not out.recipients:
        return DeliveryResult(out.key, False, "no recipients configured in [notify.recipients]")
    try:
        refused = smtp.send_message(out.message, from_addr=sender, to_addrs=list(out.recipients))
    except OSError as exc:  # smtplib's exceptions are OSErrors too
        return DeliveryResult(out.key, False, _redact(_send_failure(exc, sender), password))
    if refused:
        # Some recipients got it; say so, since sending again would mail them twice.
        delivered = len(out.recipients) - len(refused)
        reason = f"{_refused_text(refused)} (delivered to the other {delivered})"
        return DeliveryResult(out.key, False, _redact(reason, password))
    return DeliveryResult(out.key, True, None)


def _send_failure(exc: OSError, sender: str) -> str:
    """Why one message was not delivered, in one line."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused_text(exc.recipients)
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
        # The server is closing the session: smtplib has closed it; the rest cannot go.
        return f"{_CONNECTION_LOST}: {_smtp_text(exc)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {sender} refused: {_smtp_text(exc)}"
    if isinstance(exc, smtplib.SMTPDataError):
        return f"message refused: {_smtp_text(exc)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP error: {_smtp_text(exc)}"
    return f"{_CONNECTION_LOST}: {_one_line(exc)}"


def _refused_text(refused: dict[str, tuple[int, bytes]]) -> str:
    parts = [f"{address} ({code} {_decode(text)})" for address, (code, text) in refused.items()]
    return _one_line("recipient refused: " + "; ".join(parts))


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    return _one_line(f"{exc.smtp_code} {_decode(exc.smtp_error)}")


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or type(value).__name__


def _redact(text: str, password: str | None) -> str:
    # Servers do not echo passwords, but a reason ends up in logs and cron mail: make sure.
    return text.replace(password, "***") if password else text


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


# ---------------------------------------------------------------- dry run


def write_eml(outgoing: Sequence[Outgoing], outbox: Path) -> list[Path]:
    """Write each message to `outbox` as YYYY-MM-DD-slug.eml (the as-of date); the paths.

    The folder is created (owner only: the lists hold personal data). A file of the same name
    from an earlier run is replaced, since it is the tool's own output; any other file in the
    way is left alone and reported as a UsageError.
    """
    names = [_eml_name(out) for out in outgoing]
    if len(set(names)) != len(names):
        raise ValueError("two messages for the same municipality: " + ", ".join(names))
    outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = []
    for out, name in zip(outgoing, names, strict=True):
        path = outbox / name
        _refuse_foreign(path)
        write_atomically(path, out.message.as_bytes(policy=SMTP_POLICY), private=True)
        paths.append(path)
    return paths


def _eml_name(out: Outgoing) -> str:
    day = str(out.message.get(AS_OF_HEADER) or "") or today_stockholm().isoformat()
    return f"{day}-{slug(out.key)}.eml"


def _refuse_foreign(path: Path) -> None:
    if not path.exists() and not path.is_symlink():
        return
    if path.is_file() and not path.is_symlink():
        with path.open("rb") as handle:
            headers = BytesHeaderParser().parse(handle)
        if headers.get(AS_OF_HEADER):
            return
    raise UsageError(f"{path} exists and was not written by tasteget notify; move it away")
