"""Composes and delivers the weekly overdue mails of `tasteget notify`.

One message per municipality (and one for the region's persons with no municipality): a plain
text part, an HTML part and the list as a CSV attachment for Excel. Which persons go to which
municipality is the notify service's business; this module only writes and sends.

Delivery uses one SMTP connection for all messages; a message the server refuses does not stop
the others, and every outcome comes back as a one-line `DeliveryResult`.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
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
from .i18n import N_, _
from .mail_body import (
    GUIDE_PREFIX,
    REGION,
    Older,
    csv_part,
    html_part,
    plain_text,
    slug,
    subject_for,
    words_for,
)
from .models import OverdueItem
from .output import csv_safe
from .smtp_policy import require_encrypted_login
from .workdays import STOCKHOLM, today_stockholm

__all__ = ["GUIDE_PREFIX", "REGION", "Older", "csv_safe", "slug", "subject_for"]

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
    details: str = "names",
    older: Older | None = None,
) -> EmailMessage:
    """One municipality's (or the region's, or a guide's) list as a mail with a CSV attachment:
    the overdue, then those due soon, each with what `details` allows (see _FIELDS)."""
    words = words_for(lang)
    message = EmailMessage()
    message["Subject"] = subject_for(key, len(items), as_of, lang)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now or datetime.now(STOCKHOLM))
    message["Message-ID"] = make_msgid("tasteget", domain=_domain(sender))
    message[AS_OF_HEADER] = as_of.isoformat()
    # Quoted-printable keeps the parts 7-bit safe for any relay and readable in a saved .eml.
    message.set_content(
        plain_text(key, items, as_of, words, lang, details, older), cte="quoted-printable"
    )
    message.add_alternative(
        html_part(key, items, as_of, lang, words, details, older),
        subtype="html",
        cte="quoted-printable",
    )
    message.add_attachment(
        csv_part(items, words, lang, details),
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
    recipients: Sequence[str] | None = None,
    older: Older | None = None,
) -> Outgoing | None:
    """The message for `key` addressed from the config (or to `recipients`); None when no
    recipients are configured."""
    to = tuple(settings.recipients.get(key, ()) if recipients is None else recipients)
    if not to:
        return None
    if not settings.sender:
        raise ConfigError(_("[notify] from is not set; notify needs a sender address"))
    message = compose(
        key,
        items,
        as_of=as_of,
        sender=settings.sender,
        recipients=to,
        lang=lang,
        details=settings.details,
        older=older,
    )
    return Outgoing(key, to, message)


def _domain(sender: str) -> str | None:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or None


# ---------------------------------------------------------------- send


def writes_files(settings: NotifySettings, dry_run: bool) -> bool:
    """Whether mails are written as .eml files into the outbox instead of sent: --dry-run, or
    [notify] transport = "outbox" (the sandbox's config), for notify and report --mail alike."""
    return dry_run or settings.transport == "outbox"


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


def check_connection(
    settings: NotifySettings,
    password: str | None,
    *,
    timeout: float = 30,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[str, int] | None:
    """Connect, secure and log in as `send` does, then quit without sending: None when all
    went well, else the one-line reason and its exit code (4: login refused) for `doctor`."""
    _check_settings(settings, password)
    context = ssl_context or ssl.create_default_context()
    try:
        smtp = _connect(settings, password, timeout, context)
    except (OSError, smtplib.SMTPException) as exc:
        code = 4 if isinstance(exc, smtplib.SMTPAuthenticationError) else 1
        return _redact(_connect_reason(settings, exc), password), code
    _quit(smtp)
    return None


_CONNECTION_LOST = N_("the SMTP connection was lost")


def _still_connected(result: DeliveryResult) -> bool:
    return result.ok or not (result.reason or "").startswith(_(_CONNECTION_LOST))


def _check_settings(settings: NotifySettings, password: str | None) -> None:
    if not settings.smtp_host:
        raise ConfigError(_("[notify] smtp_host is not set; notify needs an SMTP server to send"))
    require_encrypted_login(settings)
    if settings.username and not password:
        raise ConfigError(
            _(
                "TASTEGET_SMTP_PASSWORD is not set in the environment; the SMTP login as "
                "{user} needs it (or use notify --dry-run)"
            ).format(user=repr(settings.username))
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
            _("SMTP AUTH PLAIN, needed for a password with non-ASCII letters")
        )
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, text = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, text)


def _connect_reason(settings: NotifySettings, exc: BaseException) -> str:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        text = _("SMTP login as {user} refused by {where}: {reply}")
        return text.format(user=repr(settings.username), where=where, reply=_smtp_text(exc))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        text = _("{where} does not offer {what}; nothing was sent")
        return text.format(where=where, what=_unsupported(exc, settings))
    if isinstance(exc, ssl.SSLError):
        return _("TLS with {where} failed: {reason}").format(where=where, reason=_one_line(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("{where} refused the session: {reply}").format(where=where, reply=_smtp_text(exc))
    text = _("cannot connect to SMTP server {where}: {reason}")
    return text.format(where=where, reason=_one_line(exc))


def _unsupported(exc: smtplib.SMTPNotSupportedError, settings: NotifySettings) -> str:
    text = str(exc)
    if "STARTTLS" in text.upper():
        return _("STARTTLS (set [notify] starttls = false only for a trusted local relay)")
    if "PLAIN" in text.upper():
        return _one_line(exc)
    if "AUTH" in text.upper():
        return _("SMTP AUTH, but [notify] username = {user} is set").format(
            user=repr(settings.username)
        )
    return _one_line(exc)


def _deliver_one(
    smtp: smtplib.SMTP, out: Outgoing, settings: NotifySettings, password: str | None
) -> DeliveryResult:
    sender = settings.sender or parseaddr(str(out.message["From"]))[1]
    if not out.recipients:
        return DeliveryResult(out.key, False, _("no recipients configured in [notify.recipients]"))
    try:
        refused = smtp.send_message(out.message, from_addr=sender, to_addrs=list(out.recipients))
    except OSError as exc:  # smtplib's exceptions are OSErrors too
        return DeliveryResult(out.key, False, _redact(_send_failure(exc, sender), password))
    if refused:
        # Some recipients got it; say so, since sending again would mail them twice.
        delivered = len(out.recipients) - len(refused)
        reason = _("{refused} (delivered to the other {n})").format(
            refused=_refused_text(refused), n=delivered
        )
        return DeliveryResult(out.key, False, _redact(reason, password))
    return DeliveryResult(out.key, True, None)


def _send_failure(exc: OSError, sender: str) -> str:
    """Why one message was not delivered, in one line."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refused_text(exc.recipients)
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
        # The server is closing the session: smtplib has closed it; the rest cannot go.
        return f"{_(_CONNECTION_LOST)}: {_smtp_text(exc)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _("sender {sender} refused: {reply}").format(sender=sender, reply=_smtp_text(exc))
    if isinstance(exc, smtplib.SMTPDataError):
        return _("message refused: {reply}").format(reply=_smtp_text(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("SMTP error: {reply}").format(reply=_smtp_text(exc))
    return f"{_(_CONNECTION_LOST)}: {_one_line(exc)}"


def _refused_text(refused: dict[str, tuple[int, bytes]]) -> str:
    parts = [f"{address} ({code} {_decode(text)})" for address, (code, text) in refused.items()]
    return _one_line(_("recipient refused: {parts}").format(parts="; ".join(parts)))


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
    if outbox.exists() and not outbox.is_dir():
        raise UsageError(
            _("--outbox {path}: is a file; expected a folder for the .eml files").format(
                path=outbox
            )
        )
    paths = []
    try:
        outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        for out, name in zip(outgoing, names, strict=True):
            path = outbox / name
            _refuse_foreign(path)
            write_atomically(path, out.message.as_bytes(policy=SMTP_POLICY), private=True)
            paths.append(path)
    except OSError as exc:
        raise UsageError(
            _(
                "--outbox {path}: cannot write the messages there ({reason}); "
                "{n} of {total} written"
            ).format(path=outbox, reason=exc.strerror, n=len(paths), total=len(outgoing))
        ) from None
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
    raise UsageError(
        _("{path} exists and was not written by tasteget notify; move it away").format(path=path)
    )
