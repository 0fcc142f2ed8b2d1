"""Where the tenant lives: SuperOffice's `/api/state/{tenant}` answer, and the rule that
credentials only travel over https (or plain http to this machine)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..config import SuperOfficeSettings
from ..errors import ApiError, ConfigError
from ..i18n import _
from .values import parse_datetime

RUNNING_STATES = ("Running", "OnlineMaintenance")


@dataclass(frozen=True)
class TenantState:
    """The answer of `GET /api/state/{tenant}`."""

    context: str
    state: str
    is_running: bool
    valid_until: datetime | None
    api: str

    @property
    def usable(self) -> bool:
        return self.state in RUNNING_STATES


def login_host(settings: SuperOfficeSettings) -> str:
    """The login host: `login_url`, else the environment's un-numbered host (never sod2...)."""
    base = settings.login_url or f"https://{settings.environment}.superoffice.com"
    return base.rstrip("/")


def parse_state(body: Any, tenant: str, any_url: bool) -> TenantState:
    """The tenant state in an `/api/state` answer; its Api checked like a configured URL."""
    if not isinstance(body, dict) or not isinstance(body.get("State"), str):
        text = _("SuperOffice's /api/state/{tenant} answer is not a tenant state")
        raise ApiError(text.format(tenant=tenant))
    api = str(body.get("Api") or "").rstrip("/")
    state = TenantState(
        context=str(body.get("ContextIdentifier") or tenant),
        state=body["State"],
        is_running=bool(body.get("IsRunning")),
        valid_until=parse_datetime(body.get("ValidUntil")),
        api=api,
    )
    if state.usable:
        if not api:
            raise ApiError(
                _("SuperOffice's /api/state/{tenant} answer names no Api").format(tenant=tenant)
            )
        check_url(api, _("the tenant's Api"), any_url)
    return state


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str, any_url: bool) -> str:
    """Refuses plain http to anything but this machine: tickets must not cross a network open."""
    parts = urlsplit(url)
    if any_url:
        return url
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    if parts.scheme == "http":
        raise ConfigError(
            _(
                "{what} {url} uses plain http; only https is allowed, "
                "except for this machine (127.0.0.1, ::1, localhost)"
            ).format(what=what, url=url)
        )
    raise ConfigError(_("{what} {url} is not an https URL").format(what=what, url=repr(url)))
