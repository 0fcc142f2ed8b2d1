"""How the client's connections are made: which ones may go through a proxy."""

from __future__ import annotations

import httpx

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def loopback_without_proxy() -> dict[str, httpx.BaseTransport | None]:
    """Calls to this machine, and every plain http call, never go through a proxy. Plain http
    is allowed only to loopback (`tenant.check_url`, any 127.x address), and HTTP_PROXY would
    otherwise hand the ticket and app token, in clear text, to whatever the proxy is; a proxy
    for https sees only an encrypted tunnel, so it may stay for the real tenant."""
    direct = httpx.HTTPTransport()
    mounts: dict[str, httpx.BaseTransport | None] = {"http://": direct}
    mounts.update({f"all://{host}": direct for host in LOOPBACK_HOSTS})
    return mounts
