"""`tasteget doctor`'s checks of the mail side, when the config has a `[notify]` table: the
section is complete, every municipality and the region has recipients (a warning per missing
one), and the SMTP server answers and accepts the login. No mail is sent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from . import mail
from .config import NotifySettings
from .doctor import Check
from .i18n import _

REGION = mail.REGION


def mail_checks(
    settings: NotifySettings, kommuner: Iterable[str], password: str | None
) -> list[Check]:
    """Every mail check, in order; the SMTP server is asked only when the section can work."""
    checks = list(section_checks(settings, password))
    checks += recipient_checks(settings, kommuner)
    if settings.transport == "smtp" and all(c.ok for c in checks):
        checks.append(smtp_check(settings, password))
    return checks


def section_checks(settings: NotifySettings, password: str | None) -> Iterator[Check]:
    if not settings.sender:
        yield Check("notify from", False, _("[notify] from is not set: the sender address"), 2)
    else:
        yield Check("notify from", True, settings.sender)
    if settings.transport == "outbox":
        written = _("outbox: mails are written to {folder}").format(folder=settings.outbox)
        yield Check("notify transport", True, written)
        return
    if not settings.smtp_host:
        yield Check("notify smtp_host", False, _("[notify] smtp_host is not set"), 2)
        return
    yield Check("notify smtp_host", True, f"{settings.smtp_host}:{settings.smtp_port}")
    if settings.username and not password:
        detail = _("TASTEGET_SMTP_PASSWORD is not set; the login as {user} needs it").format(
            user=repr(settings.username)
        )
        yield Check("notify password", False, detail, 2)


def recipient_checks(settings: NotifySettings, kommuner: Iterable[str]) -> Iterator[Check]:
    """A line per municipality and the region: its addresses, or a warning without any."""
    for key in (*kommuner, REGION):
        addresses = settings.recipients.get(key, ())
        name = f"notify recipients {key}"  # the config's own words: [notify.recipients]
        if addresses:
            yield Check(name, True, ", ".join(addresses))
        else:
            detail = _("none in [notify.recipients]: its list is not mailed")
            yield Check(name, True, detail, warning=True)
    if settings.per_guide and not settings.guides:
        detail = _("per_guide = true but [notify.guides] is empty: no guide gets a list")
        yield Check("notify guides", True, detail, warning=True)


def smtp_check(settings: NotifySettings, password: str | None) -> Check:
    """Connect, secure and log in as notify would, then quit: no mail is sent."""
    failure = mail.check_connection(settings, password)
    if failure is None:
        where = f"{settings.smtp_host}:{settings.smtp_port}"
        if settings.username:
            text = _("{where} answers, logged in as {user}; no mail sent")
        else:
            text = _("{where} answers; no mail sent")
        return Check("notify smtp", True, text.format(where=where, user=repr(settings.username)))
    reason, code = failure
    return Check("notify smtp", False, reason, code)
