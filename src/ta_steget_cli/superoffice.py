"""The only module of tasteget that speaks HTTP: a small client for the SuperOffice WebAPI subset
in `superoffice-contract.md`.

Every answer is classified before anything is done with it (done / retry / re-authenticate /
resolve the host again / fail), as singer-sdk and the Airbyte CDK do, so that retrying, backing
off and error mapping live in one place. Retries are capped by count and by total time; an
archive scan that gets the same page twice stops instead of looping.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import enum
import ipaddress
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import filters
from .config import Secrets, SuperOfficeSettings
from .errors import (
    ApiError,
    AuthError,
    BadRequest,
    ConfigError,
    Conflict,
    Forbidden,
    NotFound,
    PageRepeated,
    TenantUnavailable,
    TransientError,
)
from .files import write_atomically

logger = logging.getLogger("ta_steget_cli.superoffice")

TICKET_CLAIM = "http://schemes.superoffice.net/identity/ticket"
RUNNING_STATES = ("Running", "OnlineMaintenance")
# SuperOffice tickets live about 6 hours; stop using one well before, so a long purge does not
# meet a 401 half-way, yet a cron job still logs in far less than once an hour.
TICKET_LIFETIME = timedelta(hours=6)
TICKET_MARGIN = timedelta(minutes=20)
JWT_LEEWAY_SECONDS = 120
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
MAX_URL_LENGTH = 2000
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_NEVER_SET = "0001-01-01"


# ---------------------------------------------------------------- values


def parse_datetime(value: str | None) -> datetime | None:
    """A SuperOffice datetime (UTC without offset, or with one) as an aware UTC datetime.

    "0001-01-01T00:00:00" is SuperOffice's "never set"; it and empty values give None.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.startswith(_NEVER_SET):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        # .NET writes up to 7 fractional digits, which fromisoformat rejects on some inputs.
        from dateutil import parser as dateutil_parser

        parsed = dateutil_parser.isoparse(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """An aware datetime in SuperOffice's form: UTC, no offset, whole seconds."""
    if value.tzinfo is None:
        raise ValueError("format_datetime needs an aware datetime; SuperOffice stores UTC")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def primary_key(row: dict[str, Any]) -> int:
    """A row's PrimaryKey as an int: real tenants send a string, some samples an int."""
    return int(row["PrimaryKey"])


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- small parts


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


@dataclass
class RequestStats:
    """Counts of HTTP attempts. `requests` counts every attempt (retries, login, state and JWKS
    calls included); `retries` the attempts that repeated an earlier one; `by_kind` every attempt
    by kind ("archive:Person", "person:get", "login:authenticate", ...), summing to `requests`."""

    requests: int = 0
    retries: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def count(self, kind: str) -> None:
        self.requests += 1
        self.by_kind[kind] += 1


class RateLimiter:
    """Spaces calls at most `rate` per second (SuperOffice's app rules: 10/s)."""

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: float | None = None

    def acquire(self) -> None:
        """Wait until the next call may go."""
        now = self._monotonic()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


_SECRET_PATTERNS = re.compile(
    r"(?:7T|8A):[A-Za-z0-9+/=_\-.~]+"
    r"|\b(?:SOTicket|Bearer|Basic)\s+[A-Za-z0-9+/=_\-.:~]+",
)


class RedactSecrets(logging.Filter):
    """Replaces secret values, tickets and authorization headers in log records with ***.

    The CLI installs it on its handlers; the client itself never logs secrets, this is the net
    under it (an exception text from a library, a careless message elsewhere)."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self._values = sorted(
            {v for v in secret_values if v and len(v) >= 4}, key=len, reverse=True
        )

    def redact(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        return _SECRET_PATTERNS.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


# ---------------------------------------------------------------- classifying answers


class _Action(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    REAUTH = "reauth"
    RESOLVE = "resolve"
    FAIL = "fail"


@dataclass
class _Verdict:
    action: _Action
    reason: str
    body: Any = None
    retry_after: float | None = None
    error: Exception | None = None


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _error_message(response: httpx.Response) -> tuple[str | None, str | None]:
    """ErrorMessage and ErrorType of a SuperOffice error body, if it is one; bodies of
    401/403/5xx may be HTML or empty, and an HTML page never goes into a message."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    message = body.get("ErrorMessage") or body.get("Message")
    error_type = body.get("ErrorType")
    if not isinstance(message, str) or not message.strip():
        return None, error_type if isinstance(error_type, str) else None
    one_line = " ".join(message.split())
    if len(one_line) > 300:
        one_line = one_line[:297] + "..."
    return one_line, error_type if isinstance(error_type, str) else None


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP-date), None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _classify(
    response: httpx.Response, method: str, shown: str, expect_json: bool, now: datetime
) -> _Verdict:
    status = response.status_code
    if 200 <= status < 300:
        if not expect_json:
            return _Verdict(_Action.DONE, "ok")
        try:
            return _Verdict(_Action.DONE, "ok", body=response.json())
        except ValueError:
            # A 2xx whose body does not parse was cut off on the way: ask again.
            return _Verdict(_Action.RETRY, f"{_status_text(status)} with an unreadable body")
    if status in RETRY_STATUSES:
        return _Verdict(
            _Action.RETRY, _status_text(status), retry_after=_retry_after(response, now)
        )
    if status == 401:
        return _Verdict(_Action.REAUTH, _status_text(status))
    if status == 421:
        return _Verdict(_Action.RESOLVE, _status_text(status))
    return _Verdict(_Action.FAIL, _status_text(status), error=_error_for(response, method, shown))


def _error_for(response: httpx.Response, method: str, shown: str) -> ApiError:
    status = response.status_code
    message, error_type = _error_message(response)
    where = f"{method} {shown}"
    said = f"SuperOffice answered {_status_text(status)} on {where}"
    text = f"{said}: {message}" if message else said
    kind: type[ApiError] = ApiError
    if status == 400:
        kind = BadRequest
    elif status == 403:
        kind = Forbidden
    elif status == 404:
        kind = NotFound
    elif status in (409, 412):
        kind = Conflict
    return kind(text, status=status, error_type=error_type, method=method, path=shown)


# ---------------------------------------------------------------- urls


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str, any_url: bool) -> str:
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
            f"{what} {url} uses plain http; only https is allowed, "
            "except for this machine (127.0.0.1, ::1, localhost)"
        )
    raise ConfigError(f"{what} {url!r} is not an https URL")


# ---------------------------------------------------------------- the client


class SuperOfficeClient:
    """SuperOffice WebAPI client: archive scans, persons, reference lists, tenant state."""

    def __init__(
        self,
        settings: SuperOfficeSettings,
        secrets: Secrets,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.stats = RequestStats()
        self._any_url = transport is not None
        self._sleep = sleep
        self._monotonic = monotonic
        self._utcnow = utcnow
        self._rng = rng or random.Random()
        self._limiter = RateLimiter(settings.requests_per_second, monotonic, sleep)
        self._http = httpx.Client(
            transport=transport,
            timeout=settings.timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": "tasteget"},
        )
        self._state: TenantState | None = None
        self._ticket: str | None = None
        self._ticket_expires: datetime | None = None
        if settings.api_url:
            _check_url(settings.api_url, "api_url", self._any_url)
        elif not settings.tenant:
            raise ConfigError("[superoffice] needs api_url, or tenant to resolve it")

    # -- lifecycle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SuperOfficeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- where

    @property
    def login_base(self) -> str:
        base = self.settings.login_url or f"https://{self.settings.environment}.superoffice.com"
        return _check_url(base.rstrip("/"), "login_url", self._any_url)

    @property
    def api_url(self) -> str:
        """The tenant's API root (ends in /api), resolved via /api/state when not configured."""
        if self.settings.api_url:
            return self.settings.api_url.rstrip("/")
        return self._resolved_state(force=False).api

    @property
    def tenant_id(self) -> str:
        """Ties plans to a tenant: the context identifier, else the configured api_url."""
        return self.settings.tenant or self.api_url

    def tenant_state(self) -> TenantState | None:
        """The tenant's /api/state answer; None when api_url is configured directly."""
        if self.settings.api_url:
            return None
        if self._state is None or self._state_expired(self._state):
            self._state = self._fetch_state()
        return self._state

    def _state_expired(self, state: TenantState) -> bool:
        return state.valid_until is not None and self._utcnow() >= state.valid_until

    def _resolved_state(self, *, force: bool) -> TenantState:
        if force or self._state is None or self._state_expired(self._state):
            self._state = self._fetch_state()
        state = self._state
        if not state.usable:
            raise TenantUnavailable(
                f"tenant {state.context} is {state.state}; SuperOffice maintenance is "
                "Saturday 20:00-Sunday 06:00 CET and nightly 01-03; try again later"
            )
        return state

    def _fetch_state(self) -> TenantState:
        tenant = self.settings.tenant or ""
        url = f"{self.login_base}/api/state/{tenant}"
        try:
            body = self._call("GET", url, kind="state:get", shown=f"/api/state/{tenant}", api=False)
        except NotFound:
            raise ConfigError(
                f"tenant {tenant} is unknown at {self.login_base}: check [superoffice] tenant "
                "and environment"
            ) from None
        return self._parse_state(body, tenant)

    def _parse_state(self, body: Any, tenant: str) -> TenantState:
        if not isinstance(body, dict) or not isinstance(body.get("State"), str):
            raise ApiError(f"SuperOffice's /api/state/{tenant} answer is not a tenant state")
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
                raise ApiError(f"SuperOffice's /api/state/{tenant} answer names no Api")
            _check_url(api, "the tenant's Api", self._any_url)
        return state

    # -- authentication

    def _auth_headers(self) -> dict[str, str]:
        mode = self.settings.auth
        if mode == "system_user":
            return {
                "Authorization": f"SOTicket {self._system_ticket()}",
                "SO-AppToken": self._app_token("auth = system_user"),
            }
        if mode == "ticket":
            ticket = self.secrets.require("TASTEGET_TICKET", "auth = ticket")
            headers = {"Authorization": f"SOTicket {ticket}"}
            # Onsite installations take a ticket without an app token; Online needs both.
            app_token = self.secrets.get("TASTEGET_APP_TOKEN")
            if app_token:
                headers["SO-AppToken"] = app_token
            return headers
        if mode == "bearer":
            token = self.secrets.require("TASTEGET_ACCESS_TOKEN", "auth = bearer")
            return {
                "Authorization": f"Bearer {token}",
                "SO-AppToken": self._app_token("auth = bearer"),
            }
        if mode == "basic":
            user = self.secrets.require("TASTEGET_USERNAME", "auth = basic")
            password = self.secrets.require("TASTEGET_PASSWORD", "auth = basic")
            pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        raise ConfigError(f"[superoffice] auth = {mode!r} is not one of system_user, ticket, ...")

    def _app_token(self, why: str) -> str:
        return self.secrets.require("TASTEGET_APP_TOKEN", why)

    def _credential_hint(self) -> str:
        return {
            "system_user": (
                "TASTEGET_SYSTEM_TOKEN, TASTEGET_PRIVATE_KEY_FILE and TASTEGET_APP_TOKEN"
            ),
            "ticket": "TASTEGET_TICKET",
            "bearer": "TASTEGET_ACCESS_TOKEN (it lives an hour) and TASTEGET_APP_TOKEN",
            "basic": "TASTEGET_USERNAME and TASTEGET_PASSWORD",
        }.get(self.settings.auth, "the credentials")

    def _system_ticket(self) -> str:
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

    def _forget_ticket(self) -> None:
        self._ticket = None
        self._ticket_expires = None
        path = self.settings.ticket_cache
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def _cache_owner(self) -> str:
        return f"{self.login_base}|{self.settings.tenant or ''}"

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
            raise ConfigError("auth = system_user needs [superoffice] tenant (the Cust id)")
        payload = {
            "SignedSystemToken": self._signed_system_token(),
            "ApplicationToken": self._app_token("auth = system_user"),
            "ContextIdentifier": self.settings.tenant,
            "ReturnTokenType": "JWT",
        }
        path = "/Login/api/PartnerSystemUser/Authenticate"
        body = self._call(
            "POST", self.login_base + path, kind="login:authenticate", shown=path, api=False,
            json_body=payload,
        )  # fmt: skip
        if not isinstance(body, dict) or not body.get("IsSuccessful"):
            reason = body.get("ErrorMessage") if isinstance(body, dict) else None
            raise AuthError(
                "SuperOffice refused the system user login"
                + (f": {' '.join(str(reason).split())}" if reason else "")
                + "; check TASTEGET_SYSTEM_TOKEN, TASTEGET_PRIVATE_KEY_FILE and TASTEGET_APP_TOKEN"
            )
        return self._ticket_from_jwt(str(body.get("Token") or ""))

    def _ticket_from_jwt(self, token: str) -> str:
        path = "/login/.well-known/jwks"
        jwks = self._call("GET", self.login_base + path, kind="login:jwks", shown=path, api=False)
        try:
            key = _signing_key(jwks, token)
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
            raise AuthError(f"SuperOffice's login token did not validate ({exc})") from None
        # Times are checked against the injected clock, so tests and the sandbox agree on "now".
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise AuthError("SuperOffice's login token has no valid expiry")
        if self._utcnow().timestamp() > exp + JWT_LEEWAY_SECONDS:
            raise AuthError("SuperOffice's login token has expired; check this machine's clock")
        ticket = claims.get(TICKET_CLAIM)
        if not isinstance(ticket, str) or not ticket:
            raise AuthError("SuperOffice's login token holds no ticket")
        return ticket

    # -- the one place that sends

    def _call(
        self,
        method: str,
        url: str | None,
        *,
        kind: str,
        shown: str,
        api: bool = True,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        expect_json: bool = True,
    ) -> Any:
        """Sends one call, retrying what is worth retrying; answers the parsed JSON body.

        `url` None means `{api_url}{shown}`, resolved anew on every attempt so that a 421 can
        move the call to the tenant's new host."""
        started = self._monotonic()
        attempt = 0
        reauthed = resolved = False
        while True:
            attempt += 1
            if attempt > 1:
                self.stats.retries += 1
            target = url or self.api_url + shown
            all_headers = {"Accept": "application/json"}
            if api:
                all_headers.update(self._auth_headers())
            all_headers.update(headers or {})
            verdict = self._attempt(
                method, target, kind, shown, attempt, all_headers, params, data, json_body,
                expect_json,
            )  # fmt: skip
            if verdict.action is _Action.DONE:
                return verdict.body
            if verdict.action is _Action.FAIL:
                assert verdict.error is not None
                raise verdict.error
            if verdict.action is _Action.REAUTH:
                if api and self.settings.auth == "system_user" and not reauthed:
                    reauthed = True
                    self._forget_ticket()
                    continue
                raise self._auth_failed(method, shown)
            if verdict.action is _Action.RESOLVE:
                if api and not self.settings.api_url and not resolved:
                    resolved = True
                    self._resolved_state(force=True)
                    continue
                raise ApiError(
                    f"SuperOffice answered 421 Misdirected Request on {method} {shown}: "
                    "api_url names a login host, not the tenant's API host; "
                    "configure tenant instead, so it is resolved via /api/state",
                    status=421,
                    method=method,
                    path=shown,
                )
            self._wait_before_retry(verdict, method, shown, attempt, started)

    def _attempt(
        self,
        method: str,
        url: str,
        kind: str,
        shown: str,
        attempt: int,
        headers: dict[str, str],
        params: dict[str, str] | None,
        data: dict[str, str] | None,
        json_body: Any,
        expect_json: bool,
    ) -> _Verdict:
        self._limiter.acquire()
        self.stats.count(kind)
        began = self._monotonic()
        try:
            response = self._http.request(
                method, url, params=params, data=data, json=json_body, headers=headers
            )
        except httpx.TransportError as exc:
            self._log(method, shown, type(exc).__name__, began, attempt)
            return _Verdict(_Action.RETRY, f"{type(exc).__name__} (connection failed or dropped)")
        self._log(method, shown, response.status_code, began, attempt)
        return _classify(response, method, shown, expect_json, self._utcnow())

    def _log(self, method: str, shown: str, outcome: object, began: float, attempt: int) -> None:
        elapsed_ms = (self._monotonic() - began) * 1000
        logger.debug(
            "%s %s -> %s in %.0f ms (attempt %d)", method, shown, outcome, elapsed_ms, attempt
        )

    def _auth_failed(self, method: str, shown: str) -> AuthError:
        return AuthError(
            f"SuperOffice did not accept the credentials (auth = {self.settings.auth}) "
            f"on {method} {shown}: check {self._credential_hint()}"
        )

    def _wait_before_retry(
        self, verdict: _Verdict, method: str, shown: str, attempt: int, started: float
    ) -> None:
        """Sleeps before the next attempt, or raises TransientError when the budget is spent."""
        wait = self._backoff(attempt, verdict.retry_after)
        spent = self._monotonic() - started
        retries_done = attempt - 1
        if (
            retries_done >= self.settings.max_retries
            or spent + wait > self.settings.max_retry_seconds
        ):
            tries = "try" if attempt == 1 else "tries"
            raise TransientError(
                f"SuperOffice did not answer {method} {shown} after {attempt} {tries} "
                f"in {spent:.0f} s (last: {verdict.reason}); try again later",
                method=method,
                path=shown,
            )
        logger.debug("retrying %s %s in %.1f s (%s)", method, shown, wait, verdict.reason)
        self._sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; the server's Retry-After wins when given."""
        if retry_after is not None:
            return retry_after
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)

    # -- archive reading

    def _archive(
        self, provider: str, params: dict[str, str], url: str | None = None
    ) -> dict[str, Any]:
        """One archive page. Long queries (id lists) go as a form-encoded POST."""
        shown = f"/v1/Archive/{provider}"
        kind = f"archive:{provider}"
        if url is not None:
            body = self._call("GET", url, kind=kind, shown=shown)
        elif self._url_length(shown, params) > MAX_URL_LENGTH:
            body = self._call("POST", None, kind=kind, shown=shown, data=params)
        else:
            body = self._call("GET", None, kind=kind, shown=shown, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise ApiError(f"SuperOffice's answer to {shown} has no list of rows ('value')")
        return body

    def _url_length(self, shown: str, params: dict[str, str]) -> int:
        return len(str(httpx.URL(self.api_url + shown, params=params)))

    def _archive_params(
        self,
        select: Sequence[str],
        filter: str | None,
        entities: Sequence[str] | None,
        **extra: str,
    ) -> dict[str, str]:
        params = {"$select": ",".join(select)}
        if filter:
            params["$filter"] = filter
        if entities:
            params["$entities"] = ",".join(entities)
        params.update(extra)
        return params

    def scan(
        self,
        provider: str,
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        key: str = "personId",
    ) -> Iterator[dict[str, Any]]:
        """Every row of `provider` matching `filter`, paged by `key` (never $skip).

        Stops on a short page, so a result that is an exact multiple of page_size costs one
        more (empty) request. Raises PageRepeated when a page does not move past the last key."""
        columns = list(select) if key in select else [*select, key]
        page_size = self.settings.page_size
        last: int | None = None
        next_link: str | None = None
        while True:
            if next_link:
                body = self._archive(provider, {}, url=next_link)
            else:
                where = filters.all_of(filter, filters.gt(key, last) if last is not None else None)
                params = self._archive_params(
                    columns, where, entities, **{"$orderBy": key, "$top": str(page_size)}
                )
                body = self._archive(provider, params)
            rows: list[dict[str, Any]] = body["value"]
            last = self._check_page(provider, rows, key, last)
            yield from rows
            next_link = self._next_link(body)
            if not next_link and len(rows) < page_size:
                return

    def _check_page(
        self, provider: str, rows: list[dict[str, Any]], key: str, last: int | None
    ) -> int | None:
        """The highest key of the page; a page not wholly past `last` means a loop."""
        keys = [_row_key(row, key) for row in rows]
        if last is not None and any(k <= last for k in keys):
            raise PageRepeated(
                f"SuperOffice answered a page of {provider} that does not move past "
                f"{key} {last}; stopping so that no row is read twice or lost",
                path=f"/v1/Archive/{provider}",
            )
        return max(keys, default=last)

    def _next_link(self, body: dict[str, Any]) -> str | None:
        link = body.get("odata.nextLink")
        if not isinstance(link, str) or not link:
            return None
        absolute = urljoin(self.api_url + "/", link)
        # A nextLink must stay on the tenant's host: the ticket goes with it.
        if urlsplit(absolute).netloc != urlsplit(self.api_url).netloc:
            raise ApiError(f"SuperOffice's odata.nextLink points to another host: {absolute}")
        return absolute

    def by_ids(
        self,
        provider: str,
        ids: Iterable[int],
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        id_column: str = "personId",
        chunk_size: int | None = None,
        id_operator: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows of `provider` for the given ids, asked in chunks (`id_column oneOf (...)`).

        A chunk whose answer fills a whole page may have been cut: it is split in halves and
        asked again; a single id that still fills a page is read with $skip pages.
        `id_operator` defaults to `in` for an int key column (Person's personId) and `oneOf`
        for list columns (PersonActivity's personId)."""
        unique = sorted({int(i) for i in ids})
        size = max(1, chunk_size or self.settings.page_size)
        operator = id_operator or _id_operator(provider, id_column)
        for start in range(0, len(unique), size):
            chunk = unique[start : start + size]
            match = _id_match(id_column, operator)
            yield from self._chunk(provider, chunk, match, select, filter, entities)

    def _chunk(
        self,
        provider: str,
        ids: list[int],
        match: Callable[[list[int]], str],
        select: Sequence[str],
        filter: str | None,
        entities: Sequence[str] | None,
    ) -> Iterator[dict[str, Any]]:
        page_size = self.settings.page_size
        where = filters.all_of(match(ids), filter)
        params = self._archive_params(select, where, entities, **{"$top": str(page_size)})
        rows: list[dict[str, Any]] = self._archive(provider, params)["value"]
        _check_chunk(provider, rows, ids, select)
        if len(rows) < page_size:
            yield from rows
            return
        if len(ids) > 1:
            half = len(ids) // 2
            yield from self._chunk(provider, ids[:half], match, select, filter, entities)
            yield from self._chunk(provider, ids[half:], match, select, filter, entities)
            return
        yield from rows
        yield from self._skip_pages(provider, params, page_size)

    def _skip_pages(
        self, provider: str, params: dict[str, str], page_size: int
    ) -> Iterator[dict[str, Any]]:
        """The last resort for one id with more rows than a page: $skip inside that one id."""
        skip = page_size
        while True:
            page = {**params, "$skip": str(skip)}
            rows: list[dict[str, Any]] = self._archive(provider, page)["value"]
            yield from rows
            if len(rows) < page_size:
                return
            skip += page_size

    # -- one person

    def get_person(self, person_id: int) -> dict[str, Any]:
        """The whole PersonEntity; NotFound when the person is unknown or deleted."""
        body = self._call("GET", None, kind="person:get", shown=f"/v1/Person/{int(person_id)}")
        return _expect_dict(body, f"/v1/Person/{person_id}")

    def patch_person(self, person_id: int, operations: list[dict[str, Any]]) -> dict[str, Any]:
        """Applies a JSON Patch; Conflict (409/412) when a `test` failed or the record changed."""
        shown = f"/v1/Person/{int(person_id)}"
        body = self._call("PATCH", None, kind="person:patch", shown=shown, json_body=operations)
        return _expect_dict(body, shown)

    def delete_person(self, person_id: int, *, if_unmodified_since: datetime | None = None) -> None:
        """Soft-deletes (recycle bin). NotFound when already gone, Conflict when changed since."""
        headers = {}
        if if_unmodified_since is not None:
            when = if_unmodified_since.astimezone(UTC)
            headers["If-Unmodified-Since"] = email.utils.format_datetime(when, usegmt=True)
        self._call(
            "DELETE", None, kind="person:delete", shown=f"/v1/Person/{int(person_id)}",
            headers=headers, expect_json=False,
        )  # fmt: skip

    def undelete_person(self, person_id: int) -> None:
        """Brings a deleted person back from the recycle bin."""
        self._call(
            "POST", None, kind="person:undelete", shown="/v1/Agents/Person/Undelete",
            json_body={"Id": int(person_id)}, expect_json=False,
        )  # fmt: skip

    def consent(self, person_id: int, purpose: str = "EMARKETING") -> bool:
        """Whether the person has an active consent for `purpose`."""
        shown = f"/v1/Person/{int(person_id)}/Consent/{purpose}"
        body = self._call("GET", None, kind="person:consent", shown=shown)
        if isinstance(body, bool):
            return body
        if isinstance(body, str) and body.lower() in ("true", "false"):
            return body.lower() == "true"
        raise ApiError(f"SuperOffice's answer to {shown} is not true or false")

    # -- reference lists

    def mdo_list(self, name: str) -> list[dict[str, Any]]:
        shown = f"/v1/MDOList/{name}"
        return _expect_list(self._call("GET", None, kind="mdolist:get", shown=shown), shown)

    def udef_layout(self) -> list[dict[str, Any]]:
        shown = "/v1/Person/UdefLayout/Published"
        return _expect_list(self._call("GET", None, kind="udef:layout", shown=shown), shown)

    def list_items(self, list_id: int) -> list[dict[str, Any]]:
        shown = f"/v1/List/{int(list_id)}/Items"
        return _expect_list(self._call("GET", None, kind="list:items", shown=shown), shown)

    def current_principal(self) -> dict[str, Any]:
        shown = "/v1/User/currentPrincipal"
        return _expect_dict(self._call("GET", None, kind="user:principal", shown=shown), shown)


# ---------------------------------------------------------------- helpers


# Archive columns that are plain ints (operators eq/in/gt); other id columns are lists (oneOf).
_INT_ID_COLUMNS = frozenset({("Person", "personId")})


def _id_operator(provider: str, id_column: str) -> str:
    return "in" if (provider, id_column) in _INT_ID_COLUMNS else "oneOf"


def _id_match(id_column: str, operator: str) -> Callable[[list[int]], str]:
    """Builds `id_column <operator> (ids)` for a chunk of ids."""
    if operator == "in":
        return lambda chunk: filters.in_(id_column, chunk)
    if operator == "oneOf":
        return lambda chunk: filters.one_of(id_column, chunk)
    raise ValueError(f"id_operator must be 'in' or 'oneOf', not {operator!r}")


# Where an id-chunked answer says whose row it is: PersonActivity filters on `personId` (a list
# column whose Slim value is the person's name) but carries the id in `person/personId`.
_ROW_ID_COLUMNS = {"PersonActivity": "person/personId", "Person": "personId"}


def _check_chunk(
    provider: str, rows: list[dict[str, Any]], ids: list[int], select: Sequence[str]
) -> None:
    """An answer to `id oneOf (chunk)` holding rows of persons not in the chunk is an answer to
    another question (a proxy or server repeating an earlier page): using it would silently
    drop this chunk's rows, so stop instead."""
    column = _ROW_ID_COLUMNS.get(provider)
    if column is None or column not in select:
        return
    asked = set(ids)
    for row in rows:
        value = row.get(column)
        if value in (None, "") or int(value) not in asked:
            raise PageRepeated(
                f"SuperOffice answered /v1/Archive/{provider} for persons {ids[0]}-{ids[-1]} "
                f"with rows of person {value!r}, not asked for; stopping so that no row is "
                "lost; try again",
                path=f"/v1/Archive/{provider}",
            )


def _row_key(row: dict[str, Any], key: str) -> int:
    value = row.get(key)
    if value is None or value == "":
        return primary_key(row)
    return int(value)


def _expect_dict(body: Any, shown: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(f"SuperOffice's answer to {shown} is not an object")
    return body


def _expect_list(body: Any, shown: str) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        body = body["value"]
    if not isinstance(body, list):
        raise ApiError(f"SuperOffice's answer to {shown} is not a list")
    return body


def _signing_key(jwks: Any, token: str) -> Any:
    """The JWKS key that signed `token`: by kid, or the only RSA key when the token names none."""
    keyset = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(token).get("kid")
    for candidate in keyset.keys:
        if kid is None or candidate.key_id == kid:
            return candidate.key
    raise ValueError(f"no key {kid!r} in SuperOffice's JWKS")


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"TASTEGET_PRIVATE_KEY_FILE {path}: cannot read it ({exc.strerror})"
        ) from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"TASTEGET_PRIVATE_KEY_FILE {path}: not an unencrypted PEM private key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"TASTEGET_PRIVATE_KEY_FILE {path}: not an RSA key")
    return key
