"""When the SMTP password may be sent: never over a plain connection to another machine."""

from __future__ import annotations

import ipaddress

from .config import NotifySettings
from .errors import ConfigError
from .i18n import _


def require_encrypted_login(settings: NotifySettings) -> None:
    """The SMTP password never goes over a plain connection, except to this machine itself
    (a local relay): with a username set, starttls or ssl is required for any other host."""
    if not settings.username or settings.starttls or settings.ssl:
        return
    if is_loopback(settings.smtp_host or ""):
        return
    raise ConfigError(
        _(
            "[notify] starttls = false and ssl = false, but username = {user!r}: the SMTP "
            "password would go to {host} unencrypted; set starttls = true (or ssl = true), or "
            "use a relay on this machine"
        ).format(user=settings.username, host=settings.smtp_host)
    )


def is_loopback(host: str) -> bool:
    if host.strip().casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[] ")).is_loopback
    except ValueError:
        return False
