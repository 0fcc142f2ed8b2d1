"""The sandbox's OpenID Connect side: a person's own login, as SuperOffice's native-app flow has it.

Authorization code flow with PKCE (S256) and `response_mode=form_post`: the authorize endpoint
shows a sign-in form; signing in answers a page that posts `code` and `state` to the app's
loopback listener. The tokens endpoint trades the code (with the verifier) for an access token,
a refresh token and an id_token signed with the tenant's JWKS key, and later a refresh token for
fresh ones; the revocation endpoint forgets a refresh token. Everything is checked as strictly
as a real identity provider would: a wrong verifier, redirect URI, client or a reused code fails.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from . import ids
from .auth import JWT_KID, KeyPair


class Request(Protocol):
    """What this module reads of api.Request (api.py imports this module, not the reverse)."""

    method: str
    query: str
    body: bytes
    base_url: str


# (status, body, content type): api.py turns it into its Response, so this module needs no
# import of api.py, which imports it.
Answer = tuple[int, bytes, str]
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

CLAIMS = "http://schemes.superoffice.net/identity/"
CODE_SECONDS = 600
ACCESS_SECONDS = 3600
# The redirect URLs SuperOffice's "Native app" template registers: the loopback literal, a port.
LOOPBACK_REDIRECT = re.compile(r"^http://127\.0\.0\.1:\d{4,10}$")


@dataclass(frozen=True)
class LoginUser:
    associate_id: int
    login: str
    full_name: str
    email: str
    is_administrator: bool


def _users() -> dict[str, LoginUser]:
    guides = [
        LoginUser(a, login, name, f"{login.lower()}@sandbox.example", False)
        for a, login, name, _area in ids.MOVE_GUIDES
    ]
    admins = [
        LoginUser(a, login, name, f"{login.lower()}@sandbox.example", True)
        for a, login, name in ids.ADMINISTRATORS
    ]
    return {u.login.casefold(): u for u in (*guides, *admins)}


USERS = _users()


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    user: LoginUser
    expires: float


@dataclass
class _Access:
    user: LoginUser
    expires: float


@dataclass
class OidcProvider:
    """Codes, tokens and who they belong to; the tenant holds one."""

    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, _Access] = field(default_factory=dict)
    refresh: dict[str, LoginUser] = field(default_factory=dict)
    access_seconds: int = ACCESS_SECONDS
    refused_refresh: bool = False  # tests: the provider refuses every refresh token
    forge_id_tokens: bool = False  # tests: id_tokens signed with a key the JWKS does not hold

    def user_of(self, token: str, now: float) -> LoginUser | None:
        entry = self.access.get(token)
        if entry is None or entry.expires <= now:
            return None
        return entry.user

    def expire_access_tokens(self) -> None:
        for entry in self.access.values():
            entry.expires = 0


class SandboxTenant(Protocol):
    """What this module needs of the tenant (tenant.py imports this module, not the reverse)."""

    oidc: OidcProvider

    def now(self) -> datetime: ...

    @property
    def keys(self) -> KeyPair: ...


def route(tenant: SandboxTenant, request: Request, lowered: str) -> Answer | None:
    """The answer for an OpenID Connect path, or None when the path is not one."""
    if lowered == "/login/.well-known/openid-configuration" and request.method == "GET":
        return _metadata(request)
    if lowered == "/login/common/oauth/authorize" and request.method in ("GET", "POST"):
        return _authorize(tenant, request)
    if lowered == "/login/common/oauth/tokens" and request.method == "POST":
        return _tokens(tenant, request)
    if lowered == "/login/common/oauth/revoke" and request.method == "POST":
        return _revoke(tenant, request)
    return None


def _metadata(request: Request) -> Answer:
    base = request.base_url
    return json_response(
        200,
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/login/common/oauth/authorize",
            "token_endpoint": f"{base}/login/common/oauth/tokens",
            "revocation_endpoint": f"{base}/login/common/oauth/revoke",
            "jwks_uri": f"{base}/login/.well-known/jwks",
            "scopes_supported": ["openid"],
            "response_modes_supported": ["form_post", "fragment", "query"],
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
        },
    )


# ---------------------------------------------------------------- authorize


def _authorize(tenant: SandboxTenant, request: Request) -> Answer:
    params = dict(parse_qsl(request.query, keep_blank_values=True))
    problem = _authorize_problem(params)
    if problem:
        return _page(400, "Inloggningen kan inte starta", f"<p>{html.escape(problem)}</p>")
    if request.method == "GET":
        return _sign_in_form(request, params.get("login_hint", ""))
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    user = USERS.get(form.get("username", "").strip().casefold())
    if user is None or form.get("password") != ids.LOGIN_PASSWORD:
        return _sign_in_form(request, form.get("username", ""), failed=True)
    code = secrets.token_urlsafe(24)
    tenant.oidc.codes[code] = _Code(
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"],
        challenge=params["code_challenge"],
        nonce=params.get("nonce"),
        user=user,
        expires=tenant.now().timestamp() + CODE_SECONDS,
    )
    return _form_post(params["redirect_uri"], {"code": code, "state": params.get("state", "")})


def _authorize_problem(params: dict[str, str]) -> str | None:
    if params.get("client_id") != ids.CLIENT_ID:
        return "Unknown client_id"
    if params.get("response_type") != "code":
        return "response_type must be code"
    if "openid" not in params.get("scope", "").split():
        return "scope must include openid"
    if not LOOPBACK_REDIRECT.match(params.get("redirect_uri", "")):
        return "redirect_uri is not registered for this app (http://127.0.0.1:port only)"
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        return "PKCE with code_challenge_method S256 is required for a native app"
    # A tenant hint the user has no access to is not refused here: the user still signs in,
    # to the one tenant they have, and the id_token's ctx claim tells the app which one that is.
    if params.get("response_mode", "form_post") != "form_post":
        return "This sandbox answers with response_mode=form_post only"
    return None


def _sign_in_form(request: Request, username: str, failed: bool = False) -> Answer:
    action = f"/login/common/oauth/authorize?{request.query}"
    note = "<p class=error>Fel användarnamn eller lösenord.</p>" if failed else ""
    body = (
        f"{note}<form method=post action='{html.escape(action, quote=True)}'>"
        f"<label>Användarnamn <input name=username value='{html.escape(username, quote=True)}'>"
        "</label><label>Lösenord <input name=password type=password></label>"
        "<button type=submit>Logga in</button></form>"
    )
    return _page(401 if failed else 200, "Logga in i sandlådan", body)


def _form_post(redirect_uri: str, fields: dict[str, str]) -> Answer:
    inputs = "".join(
        f"<input type=hidden name='{html.escape(k)}' value='{html.escape(v, quote=True)}'>"
        for k, v in fields.items()
    )
    body = (
        f"<form method=post action='{html.escape(redirect_uri, quote=True)}'>{inputs}"
        "<noscript><button type=submit>Fortsätt</button></noscript></form>"
        "<script>document.forms[0].submit()</script>"
    )
    return _page(200, "Skickar dig tillbaka", body)


def _page(status: int, title: str, body: str) -> Answer:
    text = f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"
    return status, text.encode(), HTML_TYPE


# ---------------------------------------------------------------- tokens


def _tokens(tenant: SandboxTenant, request: Request) -> Answer:
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    if form.get("client_id") != ids.CLIENT_ID:
        return _oauth_error("invalid_client", "Unknown client_id")
    grant = form.get("grant_type")
    if grant == "authorization_code":
        return _trade_code(tenant, request, form)
    if grant == "refresh_token":
        return _trade_refresh(tenant, request, form)
    return _oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")


def _trade_code(tenant: SandboxTenant, request: Request, form: dict[str, str]) -> Answer:
    code = tenant.oidc.codes.pop(form.get("code", ""), None)  # a code is good once
    now = tenant.now().timestamp()
    if code is None or code.expires <= now:
        return _oauth_error("invalid_grant", "The authorization code is unknown or expired")
    if form.get("redirect_uri") != code.redirect_uri:
        return _oauth_error("invalid_grant", "redirect_uri differs from the authorize request")
    if _challenge(form.get("code_verifier", "")) != code.challenge:
        return _oauth_error("invalid_grant", "code_verifier does not match code_challenge")
    return _issue(tenant, request, code.user, code.nonce)


def _trade_refresh(tenant: SandboxTenant, request: Request, form: dict[str, str]) -> Answer:
    user = tenant.oidc.refresh.get(form.get("refresh_token", ""))
    if user is None or tenant.oidc.refused_refresh:
        return _oauth_error("invalid_grant", "The refresh token is unknown or revoked")
    return _issue(tenant, request, user, None, keep_refresh=form["refresh_token"])


def _issue(
    tenant: SandboxTenant,
    request: Request,
    user: LoginUser,
    nonce: str | None,
    keep_refresh: str | None = None,
) -> Answer:
    now = tenant.now()
    access = f"8A:{ids.CONTEXT_IDENTIFIER}.{secrets.token_urlsafe(32)}"
    tenant.oidc.access[access] = _Access(user, now.timestamp() + tenant.oidc.access_seconds)
    refresh = keep_refresh or secrets.token_urlsafe(32)
    tenant.oidc.refresh[refresh] = user
    answer: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": tenant.oidc.access_seconds,
        "refresh_token": refresh,
        "id_token": id_token(tenant, request.base_url, user, nonce, now),
    }
    return json_response(200, answer)


def id_token(
    tenant: SandboxTenant, issuer: str, user: LoginUser, nonce: str | None, now: datetime
) -> str:
    moment = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": ids.CLIENT_ID,
        "sub": user.email,
        "iat": moment,
        "nbf": moment,
        "exp": moment + tenant.oidc.access_seconds,
        CLAIMS + "ctx": ids.CONTEXT_IDENTIFIER,
        CLAIMS + "webapi_url": f"{issuer}/{ids.CONTEXT_IDENTIFIER}/api/",
        CLAIMS + "associateid": str(user.associate_id),
        CLAIMS + "is_administrator": "True" if user.is_administrator else "False",
        CLAIMS + "email": user.email,
        CLAIMS + "upn": user.email,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    key = _forger() if tenant.oidc.forge_id_tokens else tenant.keys.jwt
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": JWT_KID})


def _forger() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _revoke(tenant: SandboxTenant, request: Request) -> Answer:
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    tenant.oidc.refresh.pop(form.get("token", ""), None)
    return 200, b"", JSON_TYPE


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _oauth_error(code: str, description: str) -> Answer:
    return json_response(400, {"error": code, "error_description": description})


def json_response(status: int, value: Any) -> Answer:
    return status, json.dumps(value, ensure_ascii=False).encode(), JSON_TYPE
