"""A person's own SuperOffice login: OpenID Connect's authorization code flow for a native app.

The flow SuperOffice documents for native apps (contract, section 7): PKCE (S256) with a fresh
verifier, `state` and `nonce`; the system browser at the authorize endpoint; the answer posted
(`response_mode=form_post`) to a listener on the loopback address only, closed as soon as it has
it; the code traded for tokens; the `id_token` checked against the JWKS (signature, issuer,
audience, expiry, nonce). Its claims say which tenant and WebAPI the person reached, who they are
and whether they are an administrator. Endpoints come from the login host's discovery document.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import jwt

from ..errors import AuthError
from ..i18n import _
from ..models import Identity, Session

CLAIMS = "http://schemes.superoffice.net/identity/"
DISCOVERY_PATH = "/login/.well-known/openid-configuration"
LEEWAY_SECONDS = 120


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorize: str
    tokens: str
    jwks: str
    revoke: str | None


class OidcClient:
    """Talks to the login host's OpenID Connect endpoints for one native app (client id)."""

    def __init__(
        self,
        http: httpx.Client,
        login_base: str,
        client_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._login_base = login_base.rstrip("/")
        self.client_id = client_id
        self._clock = clock
        self._endpoints: Endpoints | None = None
        self._jwks: dict[str, Any] | None = None

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        self._http.close()

    def session_from(
        self, response: httpx.Response, nonce: str | None, old: Session | None = None
    ) -> Session:
        """The session a tokens answer gives; an AuthError says why there is none."""
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            reason = body.get("error_description") or body.get("error") if body else None
            why = reason or f"HTTP {response.status_code}"
            if old is not None:
                text = _(
                    "SuperOffice would not refresh the login ({why}); run 'tasteget login' again"
                )
            else:
                text = _(
                    "SuperOffice would not finish the login ({why}); run 'tasteget login' again"
                )
            raise AuthError(text.format(why=why))
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError(_("SuperOffice's token answer holds no access token"))
        refresh = body.get("refresh_token") or (old.refresh_token if old else None)
        if not isinstance(refresh, str) or not refresh:
            raise AuthError(_("SuperOffice's token answer holds no refresh token"))
        id_token = body.get("id_token")
        if isinstance(id_token, str) and id_token:
            identity = self.identity(id_token, nonce)
        elif old is not None:
            identity = old.identity
        else:
            raise AuthError(_("SuperOffice's token answer holds no id_token"))
        lifetime = _seconds(body.get("expires_in"), default=3600)
        return Session(access, self._clock() + lifetime, refresh, identity)

    # -- answers, discovery and validation

    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            body = self._get_json(self._login_base + DISCOVERY_PATH, _("the login discovery"))
            try:
                self._endpoints = Endpoints(
                    issuer=str(body["issuer"]),
                    authorize=str(body["authorization_endpoint"]),
                    tokens=str(body["token_endpoint"]),
                    jwks=str(body["jwks_uri"]),
                    revoke=body.get("revocation_endpoint"),
                )
            except KeyError as exc:
                text = _("SuperOffice's login discovery names no {key}")
                raise AuthError(text.format(key=exc.args[0])) from None
        return self._endpoints

    def identity(self, id_token: str, nonce: str | None) -> Identity:
        """The id_token's identity, once its signature, issuer, audience, expiry and nonce hold."""
        endpoints = self.endpoints()
        try:
            key = signing_key(self._keyset(), id_token)
            claims = jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=endpoints.issuer,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise AuthError(
                _("SuperOffice's id_token did not validate ({why})").format(why=exc)
            ) from None
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or self._clock() > exp + LEEWAY_SECONDS:
            raise AuthError(_("SuperOffice's id_token has expired; check this machine's clock"))
        if nonce is not None and claims.get("nonce") != nonce:
            raise AuthError(_("SuperOffice's id_token answers another login (nonce mismatch)"))
        return _identity(claims)

    def _keyset(self) -> dict[str, Any]:
        if self._jwks is None:
            self._jwks = self._get_json(self.endpoints().jwks, _("the login keys (JWKS)"))
        return self._jwks

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            text = _("cannot reach {what} at {url} ({error})")
            raise AuthError(text.format(what=what, url=url, error=type(exc).__name__)) from None
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            text = _("{what} at {url} answered HTTP {status}")
            raise AuthError(text.format(what=what, url=url, status=response.status_code))
        return body

    # -- the steps of a login

    def authorize_url(self, request: LoginRequest) -> str:
        params = {
            "client_id": self.client_id,
            "scope": "openid",
            "redirect_uri": request.redirect_uri,
            "response_type": "code",
            "response_mode": "form_post",
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.challenge,
            "code_challenge_method": "S256",
        }
        if request.tenant:
            params["acr_values"] = f"tenant:{request.tenant}"
        return f"{self.endpoints().authorize}?{urlencode(params)}"

    def trade_code(self, code: str, request: LoginRequest) -> Session:
        form = {
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.verifier,
        }
        try:
            response = self._http.post(self.endpoints().tokens, data=form)
        except httpx.HTTPError as exc:
            text = _("cannot reach SuperOffice's tokens endpoint ({reason})")
            raise AuthError(text.format(reason=exc)) from None
        session = self.session_from(response, request.nonce)
        if request.tenant and session.identity.tenant.casefold() != request.tenant.casefold():
            text = _(
                "you signed in to tenant {signed}, not {wanted}; run 'tasteget login' again and"
                " choose the right one"
            )
            raise AuthError(text.format(signed=session.identity.tenant, wanted=request.tenant))
        return session

    def refresh(self, old: Session) -> Session:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "refresh_token": old.refresh_token,
        }
        try:
            response = self._http.post(self.endpoints().tokens, data=form)
        except httpx.HTTPError as exc:
            text = _("cannot reach SuperOffice's tokens endpoint ({reason})")
            raise AuthError(text.format(reason=exc)) from None
        return self.session_from(response, None, old)

    def revoke(self, refresh_token: str) -> bool:
        """Asks SuperOffice to forget the refresh token; False when it could not be asked."""
        url = self.endpoints().revoke
        if not url:
            return False
        form = {"token": refresh_token, "token_type_hint": "refresh_token"}
        try:
            response = self._http.post(url, data={**form, "client_id": self.client_id})
        except httpx.HTTPError:
            return False
        return response.status_code == 200


@dataclass(frozen=True)
class LoginRequest:
    """One login attempt's secrets: the PKCE verifier, state and nonce, and where to answer."""

    redirect_uri: str
    verifier: str
    state: str
    nonce: str
    tenant: str | None

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)

    @classmethod
    def new(cls, redirect_uri: str, tenant: str | None) -> LoginRequest:
        # 64 random bytes give an 86-character verifier, within PKCE's 43 to 128.
        return cls(
            redirect_uri=redirect_uri,
            verifier=secrets.token_urlsafe(64),
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            tenant=tenant,
        )


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def browser_login(
    oidc: OidcClient,
    tenant: str | None,
    open_browser: Callable[[str], bool],
    show_url: Callable[[str], None],
    timeout: float,
) -> Session:
    """Runs the whole login: listener, browser, answer, tokens. AuthError on every failure."""
    with Listener() as listener:
        request = LoginRequest.new(listener.redirect_uri, tenant)
        url = oidc.authorize_url(request)
        show_url(url)
        open_browser(url)
        code = listener.wait(request.state, timeout)
    return oidc.trade_code(code, request)


# ---------------------------------------------------------------- the loopback listener


@dataclass
class _Answer:
    fields: dict[str, str] | None = None
    refused: str | None = None


class Listener:
    """Receives the browser's form_post on 127.0.0.1 and nothing else; closed after one answer."""

    def __init__(self) -> None:
        self._answer = _Answer()
        self._done = threading.Event()
        self._server = HTTPServer(("127.0.0.1", 0), _handler(self))
        self.port = self._server.server_address[1]
        # SuperOffice's native-app template registers ^http://127.0.0.1\:\d{4,10}$: no path.
        self.redirect_uri = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, daemon=True, name="login-listener")

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        self._server.timeout = 0.1
        while not self._done.is_set():
            self._server.handle_request()

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)
        self._server.server_close()

    def receive(self, client_host: str, method: str, fields: dict[str, str]) -> tuple[int, str]:
        """What the listener answers the browser; keeps the first acceptable answer."""
        if not _is_loopback(client_host):
            return 403, "Only this computer may answer the login."
        if method != "POST":
            return 405, "The login answer comes as a form post."
        self._answer = _Answer(fields=fields)
        self._done.set()
        return 200, "Inloggningen är klar. Du kan stänga fönstret och gå tillbaka till tasteget."

    def wait(self, state: str, timeout: float) -> str:
        if not self._done.wait(timeout):
            text = _(
                "no answer from the browser within {seconds} seconds; run 'tasteget login' again"
                " (the address to open is printed above)"
            )
            raise AuthError(text.format(seconds=f"{timeout:g}"))
        fields = self._answer.fields or {}
        if "error" in fields:
            reason = fields.get("error_description") or fields["error"]
            raise AuthError(_("the login was cancelled or refused ({why})").format(why=reason))
        if not secrets.compare_digest(fields.get("state", ""), state):
            raise AuthError(
                _("the login answer belongs to another login (state mismatch); refused")
            )
        code = fields.get("code")
        if not code:
            raise AuthError(_("the login answer holds no code"))
        return code


def _handler(listener: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 65536)).decode("utf-8", "replace")
            fields = dict(parse_qsl(body, keep_blank_values=True))
            status, text = listener.receive(self.client_address[0], self.command, fields)
            page = f"<!DOCTYPE html><html><body><p>{text}</p></body></html>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:  # the URL holds the code
            pass

    return Handler


# ---------------------------------------------------------------- small parts


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _identity(claims: dict[str, Any]) -> Identity:
    tenant = claims.get(CLAIMS + "ctx")
    webapi = claims.get(CLAIMS + "webapi_url")
    if not isinstance(tenant, str) or not isinstance(webapi, str) or not webapi:
        raise AuthError(_("SuperOffice's id_token names no tenant or WebAPI address"))
    associate = claims.get(CLAIMS + "associateid")
    email = claims.get(CLAIMS + "email") or claims.get(CLAIMS + "upn")
    return Identity(
        tenant=tenant,
        webapi_url=webapi.rstrip("/"),
        associate_id=int(str(associate)) if str(associate or "").isdigit() else None,
        is_administrator=str(claims.get(CLAIMS + "is_administrator", "")).lower() == "true",
        email=str(email) if email else None,
    )


def signing_key(jwks: Any, token: str) -> Any:
    """The JWKS key that signed `token`: by kid, or the only key when the token names none."""
    keyset = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(token).get("kid")
    for candidate in keyset.keys:
        if kid is None or candidate.key_id == kid:
            return candidate.key
    raise ValueError(f"no key {kid!r} in SuperOffice's JWKS")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _seconds(value: Any, default: int) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default
