"""How tasteget proves who it is to SuperOffice: one `httpx.Auth` per login mode.

Each class sets its headers on every request to the tenant's API. The system-user class also
owns the login (a signed system token for a JWT), the JWT's validation, the ticket cache, and
one new login after a 401 inside its own flow, the way httpx's `DigestAuth` answers a 401 by
sending the request again. The login's own requests go through the client (`LoginHost`), so
they are rate limited, retried and counted like every other request.

A new login mode is a new class here and a line in `auth_for`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..config import Secrets, SuperOfficeSettings
from ..errors import AuthError, ConfigError
from ..files import write_atomically
from ..i18n import _
from ..models import Session
from ..secrets_file import check_header_secret
from .oidc import OidcClient, signing_key
from .values import parse_datetime

logger = logging.getLogger("ta_steget_cli.superoffice")

TICKET_CLAIM = "http://schemes.superoffice.net/identity/ticket"
# SuperOffice tickets live about 6 hours; stop using one well before, so a long purge does not
# meet a 401 half-way, yet a cron job still logs in far less than once an hour.
TICKET_LIFETIME = timedelta(hours=6)
TICKET_MARGIN = timedelta(minutes=20)
JWT_LEEWAY_SECONDS = 120
LOGIN_PATH = "/Login/api/PartnerSystemUser/Authenticate"
JWKS_PATH = "/login/.well-known/jwks"


class LoginHost(Protocol):
    """What a login needs from the client: where the login host is, and a way to call it."""

    @property
    def login_base(self) -> str: ...

    def call_login(self, method: str, path: str, kind: str, json_body: Any = None) -> Any:
        """Sends one call to `login_base + path` without credentials; answers the JSON body."""
        ...


class SuperOfficeAuth(httpx.Auth):
    """A login mode: the headers it sets, and what to check when SuperOffice refuses them."""

    mode: ClassVar[str]
    hint: ClassVar[str]  # the settings that make up the credentials, for error messages

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.headers())
        yield request

    def _app_token(self) -> str:
        return self._token("TASTEGET_APP_TOKEN", f"auth = {self.mode}")

    def _token(self, name: str, why: str) -> str:
        """A required ticket or token, checked to be sendable as it is."""
        value = self.secrets.require(name, why)
        check_header_secret(name, value)
        return value


class TicketAuth(SuperOfficeAuth):
    """A ticket handed in (`TASTEGET_TICKET`); a 401 means it is no longer good."""

    mode = "ticket"
    hint = "TASTEGET_TICKET"

    def headers(self) -> dict[str, str]:
        ticket = self._token("TASTEGET_TICKET", "auth = ticket")
        headers = {"Authorization": f"SOTicket {ticket}"}
        # Onsite installations take a ticket without an app token; Online needs both.
        if self.secrets.get("TASTEGET_APP_TOKEN"):
            headers["SO-AppToken"] = self._app_token()
        return headers


class BearerAuth(SuperOfficeAuth):
    """An OAuth access token handed in (`TASTEGET_ACCESS_TOKEN`)."""

    mode = "bearer"
    hint = "TASTEGET_ACCESS_TOKEN (it lives an hour) and TASTEGET_APP_TOKEN"

    def headers(self) -> dict[str, str]:
        token = self._token("TASTEGET_ACCESS_TOKEN", "auth = bearer")
        return {"Authorization": f"Bearer {token}", "SO-AppToken": self._app_token()}


class BasicAuth(SuperOfficeAuth):
    """User name and password (Onsite installations only)."""

    mode = "basic"
    hint = "TASTEGET_USERNAME and TASTEGET_PASSWORD"

    def headers(self) -> dict[str, str]:
        user = self.secrets.require("TASTEGET_USERNAME", "auth = basic")
        password = self.secrets.require("TASTEGET_PASSWORD", "auth = basic")
        pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {pair}"}


class SystemUserAuth(SuperOfficeAuth):
    """The system user flow: logs in with a signed system token, keeps the ticket (in memory
    and in the optional ticket cache) until shortly before it expires, and logs in once more
    when SuperOffice answers 401 to a ticket it considered good."""

    mode = "system_user"
    hint = "TASTEGET_SYSTEM_TOKEN, TASTEGET_PRIVATE_KEY_FILE and TASTEGET_APP_TOKEN"
    # The 401 is read before logging in again, so its connection is free for the login.
    requires_response_body = True

    def __init__(
        self,
        settings: SuperOfficeSettings,
        secrets: Secrets,
        host: LoginHost,
        utcnow: Callable[[], datetime],
    ) -> None:
        super().__init__(secrets)
        self.settings = settings
        self._host = host
        self._utcnow = utcnow
        self._ticket: str | None = None
        self._ticket_expires: datetime | None = None
        # Workers share one ticket: one of them logs in while the others wait for its ticket.
        self._lock = threading.RLock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.headers())
        response = yield request
        if response.status_code == 401:
            logger.debug("ticket refused; logging in again")
            self.forget_ticket(refused=request.headers["Authorization"])
            request.headers.update(self.headers())
            yield request

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"SOTicket {self.ticket()}", "SO-AppToken": self._app_token()}

    def ticket(self) -> str:
        with self._lock:
            return self._current_ticket()

    def _current_ticket(self) -> str:
        now = self._utcnow()
        if self._ticket and self._ticket_expires and now < self._ticket_expires:
            return self._ticket
        cached = self._read_ticket_cache(now)
        if cached:
            self._ticket, self._ticket_expires = cached
            return cached[0]
        ticket = self._login()
        self._ticket = ticket
        self._ticket_expires = now + TICKET_LIFETIME - TICKET_MARGIN
        self._write_ticket_cache(ticket, self._ticket_expires)
        return ticket

    def forget_ticket(self, refused: str | None = None) -> None:
        """Forgets the ticket; with `refused` (the Authorization a 401 answered), only if it is
        still that one: when several workers hear 401 at once, one new login serves them all."""
        with self._lock:
            if refused is not None and refused != f"SOTicket {self._ticket}":
                return
            self._ticket = None
            self._ticket_expires = None
            path = self.settings.ticket_cache
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()

    # -- the ticket cache

    def _cache_owner(self) -> str:
        return f"{self._host.login_base}|{self.settings.tenant or ''}"

    def _read_ticket_cache(self, now: datetime) -> tuple[str, datetime] | None:
        path = self.settings.ticket_cache
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ticket = data["ticket"]
            expires = parse_datetime(data["expires"])
            owner = data.get("owner")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(ticket, str) or expires is None or owner != self._cache_owner():
            return None
        if now >= expires:
            return None
        return ticket, expires

    def _write_ticket_cache(self, ticket: str, expires: datetime) -> None:
        path = self.settings.ticket_cache
        if path is None:
            return
        data = {"ticket": ticket, "expires": expires.isoformat(), "owner": self._cache_owner()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, json.dumps(data), private=True)
        except OSError as exc:
            # A ticket cache that cannot be written costs a login per run, not the run.
            logger.warning("cannot write the ticket cache %s (%s)", path, exc.strerror)

    # -- the login

    def _signed_system_token(self) -> str:
        system_token = self.secrets.require("TASTEGET_SYSTEM_TOKEN", "auth = system_user")
        key_file = self.secrets.require("TASTEGET_PRIVATE_KEY_FILE", "auth = system_user")
        key = _load_private_key(Path(key_file).expanduser())
        text = f"{system_token}.{self._utcnow().astimezone(UTC):%Y%m%d%H%M}"
        signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return f"{text}.{base64.b64encode(signature).decode('ascii')}"

    def _login(self) -> str:
        """Logs the system user in; answers the ticket from the validated JWT."""
        if not self.settings.tenant:
            raise ConfigError(_("auth = system_user needs [superoffice] tenant (the Cust id)"))
        payload = {
            "SignedSystemToken": self._signed_system_token(),
            "ApplicationToken": self._app_token(),
            "ContextIdentifier": self.settings.tenant,
            "ReturnTokenType": "JWT",
        }
        body = self._host.call_login("POST", LOGIN_PATH, "login:authenticate", payload)
        if not isinstance(body, dict) or not body.get("IsSuccessful"):
            reason = body.get("ErrorMessage") if isinstance(body, dict) else None
            said = f": {' '.join(str(reason).split())}" if reason else ""
            raise AuthError(
                _("SuperOffice refused the system user login{said}; check {hint}").format(
                    said=said, hint=self.hint
                )
            )
        return self._ticket_from_jwt(str(body.get("Token") or ""))

    def _ticket_from_jwt(self, token: str) -> str:
        jwks = self._host.call_login("GET", JWKS_PATH, "login:jwks")
        try:
            key = signing_key(jwks, token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp"],
                },
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            text = _("SuperOffice's login token did not validate ({reason})")
            raise AuthError(text.format(reason=exc)) from None
        # Times are checked against the injected clock, so tests and the sandbox agree on "now".
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise AuthError(_("SuperOffice's login token has no valid expiry"))
        if self._utcnow().timestamp() > exp + JWT_LEEWAY_SECONDS:
            raise AuthError(_("SuperOffice's login token has expired; check this machine's clock"))
        ticket = claims.get(TICKET_CLAIM)
        if not isinstance(ticket, str) or not ticket:
            raise AuthError(_("SuperOffice's login token holds no ticket"))
        return ticket


class SessionKeeper(Protocol):
    """Where a personal login is kept between runs (the OS keyring: `keychain.LoginStore`)."""

    def load(self) -> Session | None: ...

    def save(self, session: Session) -> None: ...


class UserAuth(SuperOfficeAuth):
    """A person's own login (`tasteget login`): the access token as a Bearer, refreshed
    silently shortly before it expires, and once more when SuperOffice answers 401 to it."""

    mode = "user"
    hint = "your personal login (run 'tasteget login')"
    requires_response_body = True

    def __init__(self, secrets: Secrets, oidc: OidcClient, keeper: SessionKeeper) -> None:
        super().__init__(secrets)
        self._oidc = oidc
        self._keeper = keeper
        self._session: Session | None = None
        # Workers share one login: one of them refreshes it while the others wait.
        self._lock = threading.RLock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.headers())
        response = yield request
        if response.status_code == 401:
            logger.debug("access token refused; refreshing it")
            with self._lock:
                session = self.session()
                # Another worker may have refreshed it since this request went out.
                if request.headers["Authorization"] == f"Bearer {session.access_token}":
                    self._refresh(session)
            request.headers.update(self.headers())
            yield request

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.session().access_token}"}
        # A native app's user token needs no app token; send one only when it is configured.
        if self.secrets.get("TASTEGET_APP_TOKEN"):
            headers["SO-AppToken"] = self._app_token()
        return headers

    def session(self) -> Session:
        """The current login, refreshed first when its access token is (nearly) spent."""
        with self._lock:
            return self._current_session()

    def _current_session(self) -> Session:
        if self._session is None:
            self._session = self._keeper.load()
            if self._session is None:
                raise AuthError(_("you are not signed in to SuperOffice; run 'tasteget login'"))
        if not self._session.fresh(self._oidc.now()):
            self._refresh(self._session)
        assert self._session is not None
        return self._session

    def _refresh(self, old: Session) -> None:
        self._session = self._oidc.refresh(old)
        self._keeper.save(self._session)


AUTH_CLASSES: dict[str, type[SuperOfficeAuth]] = {
    cls.mode: cls for cls in (UserAuth, SystemUserAuth, TicketAuth, BearerAuth, BasicAuth)
}


def auth_for(
    settings: SuperOfficeSettings,
    secrets: Secrets,
    host: LoginHost,
    utcnow: Callable[[], datetime],
    logins: tuple[OidcClient, SessionKeeper] | None = None,
) -> SuperOfficeAuth:
    """The Auth for `[superoffice] auth`."""
    if settings.auth == SystemUserAuth.mode:
        return SystemUserAuth(settings, secrets, host, utcnow)
    if settings.auth == UserAuth.mode:
        if logins is None:
            raise ConfigError(_("auth = user needs [superoffice] client_id (the native app's id)"))
        return UserAuth(secrets, *logins)
    cls = AUTH_CLASSES.get(settings.auth)
    if cls is None:
        raise ConfigError(
            _("[superoffice] auth = {auth} is not one of {modes}").format(
                auth=repr(settings.auth), modes=", ".join(AUTH_CLASSES)
            )
        )
    return cls(secrets)


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        text = _("TASTEGET_PRIVATE_KEY_FILE {path}: cannot read it ({reason})")
        raise ConfigError(text.format(path=path, reason=exc.strerror)) from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        text = _("TASTEGET_PRIVATE_KEY_FILE {path}: not an unencrypted PEM private key")
        raise ConfigError(text.format(path=path)) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(_("TASTEGET_PRIVATE_KEY_FILE {path}: not an RSA key").format(path=path))
    return key
