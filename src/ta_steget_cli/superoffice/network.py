"""How the client's connections are made and fail: which ones may go through a proxy, and
which connection failures no retry can mend."""

from __future__ import annotations

import ssl

import httpx

from ..errors import UntrustedCertificate
from ..i18n import _

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def trusted_context() -> ssl.SSLContext:
    """The CAs this machine trusts (SSL_CERT_FILE and SSL_CERT_DIR honoured, as httpx does),
    made once for all of a client's connections: loading them costs ~90 ms a time, which every
    transport httpx makes by itself would pay again."""
    return httpx.create_ssl_context()


def loopback_without_proxy(verify: ssl.SSLContext) -> dict[str, httpx.BaseTransport | None]:
    """Calls to this machine, and every plain http call, never go through a proxy. Plain http
    is allowed only to loopback (`tenant.check_url`, any 127.x address), and HTTP_PROXY would
    otherwise hand the ticket and app token, in clear text, to whatever the proxy is; a proxy
    for https sees only an encrypted tunnel, so it may stay for the real tenant."""
    direct = httpx.HTTPTransport(verify=verify)
    mounts: dict[str, httpx.BaseTransport | None] = {"http://": direct}
    mounts.update({f"all://{host}": direct for host in LOOPBACK_HOSTS})
    return mounts


def certificate_failure(exc: BaseException, url: str) -> UntrustedCertificate | None:
    """A connection refused because the server's certificate could not be verified (expired,
    self-signed, issued for another name, or signed by a CA this machine does not trust). That
    is not transient: retrying for minutes would end in "try again later", which is wrong
    advice. None for any other failure."""
    bad = _verification_error(exc)
    if bad is None:
        return None
    host = httpx.URL(url).host
    reason = bad.verify_message or bad.reason or type(bad).__name__
    return UntrustedCertificate(
        _(
            "the TLS certificate of {host} cannot be trusted ({reason}); not retried: check "
            "[superoffice] api_url or tenant, and if your network inspects TLS, point "
            "SSL_CERT_FILE at its CA certificate"
        ).format(host=host, reason=reason)
    )


def _verification_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error under httpx's and httpcore's wrappers, if that is the cause."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
