"""The client's longer messages, in the user's language (kept here so that client.py stays a
screenful of behaviour)."""

from __future__ import annotations

from ..i18n import _, ngettext


def gave_up(call: str, attempts: int, seconds: float, reason: str) -> str:
    """The retries are spent: which call, how long it was tried and the last reason."""
    return ngettext(
        "SuperOffice did not answer {call} after {n} try in {seconds} s "
        "(last: {reason}); try again later",
        "SuperOffice did not answer {call} after {n} tries in {seconds} s "
        "(last: {reason}); try again later",
        attempts,
    ).format(call=call, n=attempts, seconds=f"{seconds:.0f}", reason=reason)


def misdirected(call: str) -> str:
    return _(
        "SuperOffice answered 421 Misdirected Request on {call}: "
        "api_url names a login host, not the tenant's API host; "
        "configure tenant instead, so it is resolved via /api/state"
    ).format(call=call)


def tenant_down(tenant: str, state: str) -> str:
    return _(
        "tenant {tenant} is {state}; SuperOffice maintenance is "
        "Saturday 20:00-Sunday 06:00 CET and nightly 01-03; try again later"
    ).format(tenant=tenant, state=state)


def tenant_unknown(tenant: str, host: str) -> str:
    return _(
        "tenant {tenant} is unknown at {host}: check [superoffice] tenant and environment"
    ).format(tenant=tenant, host=host)
