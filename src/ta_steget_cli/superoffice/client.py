"""The only code of tasteget that speaks HTTP: the SuperOffice WebAPI client for the subset in
`superoffice-contract.md`.

Every answer is classified before anything is done with it (done / retry / re-authenticate /
resolve the host again / fail), as singer-sdk and the Airbyte CDK do, so that retrying, backing
off and error mapping live in one place. Retries are capped by count and by total time.
Credentials come from `auth.py`, archive paging from `archive.py`; this module sends.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ..config import Secrets, SuperOfficeSettings
from ..errors import (
    ApiError,
    AuthError,
    BadRequest,
    ConfigError,
    NotFound,
    TenantUnavailable,
    TransientError,
)
from ..i18n import _
from ..models import Session
from ..rights import ADMIN_RIGHT, Principal
from .answers import Action, Verdict, classify
from .archive import Paginator
from .auth import SessionKeeper, SuperOfficeAuth, UserAuth, auth_for
from .deadline import Deadlines
from .extras import ClientExtras
from .limiter import Limiter
from .messages import gave_up, misdirected, tenant_down, tenant_unknown
from .network import certificate_failure, loopback_without_proxy, trusted_context
from .observe import ReadObserver, observed
from .oidc import OidcClient, browser_login
from .ranges import split_scan
from .requests import ApiRequest, expect_dict, expect_list, rows_body, unmodified_since
from .stats import RequestStats
from .tenant import TenantState, check_url, login_host, parse_state

logger = logging.getLogger("ta_steget_cli.superoffice")

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
MAX_URL_LENGTH = 2000
# Without it, list texts can come as multi-language strings (`SV:"…";US:"…";`).
LANGUAGE = "sv"
# The key under which each request carries its `_Exchange` (httpx passes extensions through
# auth flows and event hooks, so a re-sent request is counted and logged like any other).
_EXCHANGE = "tasteget.exchange"


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- small parts


# ---------------------------------------------------------------- one call


@dataclass
class _Exchange:
    """What one ApiRequest has cost so far: every HTTP request sent for it, re-sends included."""

    request: ApiRequest
    attempt: int = 0
    began: float = 0.0
    holding: bool = False  # has a slot of the limiter (sent, answer not in yet)


# ---------------------------------------------------------------- the client


class SuperOfficeClient(ClientExtras):
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
        logins: SessionKeeper | None = None,
        deadline: tuple[float, float] | None = None,
    ) -> None:
        """`deadline`: the command's own, (seconds left from now, seconds it was set to)."""
        self.settings = settings
        self.secrets = secrets
        self.stats = RequestStats()
        self._any_url = transport is not None
        self._sleep = sleep
        self._monotonic = monotonic
        self._utcnow = utcnow
        self._rng = rng or random.Random()
        self._limiter = Limiter(
            settings.requests_per_second, settings.max_in_flight, monotonic, sleep
        )
        # The tenant's state is looked up once for all workers, not once by each.
        self._state_lock = threading.RLock()
        # The observer hears pages from several workers; it need not be thread-safe itself.
        self._observer_lock = threading.Lock()
        left, total = deadline or (None, None)
        self.deadlines = Deadlines(
            settings.request_deadline_seconds, settings.timeout_seconds,
            None if left is None else monotonic() + left, total, monotonic,
        )  # fmt: skip
        self._trusted = trusted_context() if transport is None else None
        self._http = self._http_client(transport)
        self._http.event_hooks = {"request": [self._on_request], "response": [self._on_response]}
        self._oidc = self._oidc_client(transport, logins)
        self._keeper = logins
        oidc_logins = None if self._oidc is None or logins is None else (self._oidc, logins)
        self._auth: SuperOfficeAuth = auth_for(settings, secrets, self, utcnow, oidc_logins)
        self._state: TenantState | None = None
        self._archive_post = True  # until the tenant answers 404/405 to one
        self._pager: Paginator | None = None
        # Each thread's last answer time: a scan asks how fast the tenant answers its pages.
        self._answers = threading.local()
        # Called with every answer (doctor --probe --record): request, URL path, response.
        self.recorder: Callable[[ApiRequest, str, httpx.Response], None] | None = None
        # What a long read is doing, for whoever shows it (the CLI on a terminal); never printed
        # here.
        self.observer: ReadObserver | None = None
        if settings.api_url:
            check_url(settings.api_url, "api_url", self._any_url)
        elif not settings.tenant and settings.auth != UserAuth.mode:
            raise ConfigError(_("[superoffice] needs api_url, or tenant to resolve it"))

    def _oidc_client(
        self, transport: httpx.BaseTransport | None, logins: SessionKeeper | None
    ) -> OidcClient | None:
        """The OpenID Connect side of a personal login (auth = user), on its own connection:
        its calls go to the login host, outside the API's rate limit and retries."""
        if self.settings.auth != UserAuth.mode or logins is None:
            return None
        if not self.settings.client_id:
            raise ConfigError(_("auth = user needs [superoffice] client_id (the native app's id)"))
        http = self._http_client(transport)
        clock = lambda: self._utcnow().timestamp()  # noqa: E731
        return OidcClient(http, self.login_base, self.settings.client_id, clock)

    def _http_client(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        """A connection pool: over `transport` (the in-process sandbox), else over the network
        with this client's one trusted context."""
        trusted = self._trusted
        return httpx.Client(
            transport=transport,
            verify=trusted if trusted is not None else True,
            mounts=loopback_without_proxy(trusted) if trusted is not None else None,
            timeout=self.settings.timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": "tasteget"},
        )

    # -- lifecycle

    def close(self) -> None:
        self._http.close()
        if self._oidc is not None:
            self._oidc.close()

    def __enter__(self) -> SuperOfficeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- where

    @property
    def login_base(self) -> str:
        return check_url(login_host(self.settings), "login_url", self._any_url)

    @property
    def api_url(self) -> str:
        """The tenant's API root (ends in /api), resolved via /api/state when not configured."""
        if self.settings.api_url:
            return self.settings.api_url.rstrip("/")
        if isinstance(self._auth, UserAuth) and not self.settings.tenant:
            return self._auth.session().identity.webapi_url
        return self._resolved_state(force=False).api

    @property
    def tenant_id(self) -> str:
        """Ties plans to a tenant: the context identifier, else the configured api_url."""
        if isinstance(self._auth, UserAuth) and not self.settings.tenant:
            return self._auth.session().identity.tenant
        return self.settings.tenant or self.api_url

    # -- a person's own login

    def sign_in(
        self,
        open_browser: Callable[[str], bool],
        show_url: Callable[[str], None],
        timeout: float,
    ) -> Session:
        """`tasteget login`: the browser login; the session is kept for later runs."""
        oidc, keeper = self._personal_login()
        session = browser_login(oidc, self.settings.tenant, open_browser, show_url, timeout)
        keeper.save(session)
        return session

    def sign_out(self, forget: Callable[[], Session | None]) -> bool:
        """`tasteget logout`: forgets the kept login and asks SuperOffice to revoke it."""
        oidc, _keeper = self._personal_login()
        session = forget()
        if session is None:
            return False
        if not oidc.revoke(session.refresh_token):
            logger.warning("SuperOffice was not asked to revoke the login; it was forgotten here")
        return True

    def _personal_login(self) -> tuple[OidcClient, SessionKeeper]:
        if self._oidc is None or self._keeper is None:
            raise ConfigError(
                _(
                    'tasteget login needs [superoffice] auth = "user" (found {auth}) and client_id'
                ).format(auth=repr(self.settings.auth))
            )
        return self._oidc, self._keeper

    def tenant_state(self) -> TenantState | None:
        """The tenant's /api/state answer; None when api_url is configured directly."""
        if self.settings.api_url:
            return None
        with self._state_lock:
            if self._state is None or self._state_expired(self._state):
                self._state = self._fetch_state()
            return self._state

    def _state_expired(self, state: TenantState) -> bool:
        return state.valid_until is not None and self._utcnow() >= state.valid_until

    def _resolved_state(self, *, force: bool) -> TenantState:
        with self._state_lock:
            if force or self._state is None or self._state_expired(self._state):
                self._state = self._fetch_state()
            state = self._state
        if not state.usable:
            raise TenantUnavailable(tenant_down(state.context, state.state))
        return state

    def _fetch_state(self) -> TenantState:
        tenant = self.settings.tenant or ""
        url = f"{self.login_base}/api/state/{tenant}"
        try:
            shown = f"/api/state/{tenant}"
            body = self._call(ApiRequest("GET", shown, "state:get", url=url, api=False))
        except NotFound:
            raise ConfigError(tenant_unknown(tenant, self.login_base)) from None
        return parse_state(body, tenant, self._any_url)

    # -- the one place that sends

    def call_login(self, method: str, path: str, kind: str, json_body: Any = None) -> Any:
        """A call to the login host, without credentials (the `auth.LoginHost` side)."""
        url = self.login_base + path
        return self._call(ApiRequest(method, path, kind, url=url, api=False, json_body=json_body))

    def _call(self, request: ApiRequest) -> Any:
        """Sends one call, retrying what is worth retrying; answers the parsed JSON body.

        `request.url` None means `{api_url}{shown}`, resolved anew on every attempt so that a
        421 can move the call to the tenant's new host. A 401 reaching this far has already
        been through the Auth's own flow (a system user logs in again there): it is final."""
        started = self._monotonic()
        exchange = _Exchange(request)
        resolved = retried = False
        method, shown = request.method, request.shown
        while True:
            self.deadlines.check()
            verdict = self._attempt(exchange)
            if verdict.action is Action.DONE:
                return verdict.body
            if verdict.action is Action.FAIL:
                assert verdict.error is not None
                if isinstance(verdict.error, ApiError):
                    verdict.error.after_retry = retried
                raise verdict.error
            if verdict.action is Action.REAUTH:
                raise self._auth_failed(method, shown)
            if verdict.action is Action.RESOLVE:
                if request.api and not self.settings.api_url and not resolved:
                    resolved = True
                    self._resolved_state(force=True)
                    continue
                raise ApiError(
                    misdirected(f"{method} {shown}"),
                    status=421,
                    method=method,
                    path=shown,
                )
            self._wait_before_retry(verdict, method, shown, exchange.attempt, started)
            retried = True

    def _attempt(self, exchange: _Exchange) -> Verdict:
        request = exchange.request
        target = request.url or self.api_url + request.shown
        headers = {
            "Accept": "application/json",
            "Accept-Language": LANGUAGE,
            **(request.headers or {}),
        }
        until = self.deadlines.request_until()
        try:
            sent = self._http.build_request(
                request.method, target, params=request.params, data=request.data,
                json=request.json_body, headers=headers, extensions={_EXCHANGE: exchange},
                timeout=self.deadlines.timeout(until),
            )  # fmt: skip
            response = self._http.send(sent, auth=self._auth if request.api else None, stream=True)
            self.deadlines.read(response, until)
        except httpx.TransportError as exc:
            self._log(exchange, type(exc).__name__)
            self.deadlines.check()  # cut by the command's deadline: that is what to say
            if (untrusted := certificate_failure(exc, target)) is not None:
                return Verdict(Action.FAIL, "certificate", error=untrusted)
            if isinstance(exc, httpx.NetworkError):
                why = _("{error} (connection failed or dropped)")
                return Verdict(Action.RETRY, why.format(error=type(exc).__name__))
            return Verdict(Action.RETRY, f"{type(exc).__name__} ({exc})")  # a timeout says which
        finally:
            self._release(exchange)  # no answer came (a dropped connection, Ctrl-C, ...)
        if self.recorder is not None:
            self.recorder(request, response.request.url.path, response)
        return classify(
            response, request.method, request.shown, request.expect_json, self._utcnow()
        )

    def _on_request(self, http_request: httpx.Request) -> None:
        """Every HTTP request, a re-send by an Auth flow included: rate limited and counted."""
        exchange: _Exchange = http_request.extensions[_EXCHANGE]
        self._limiter.start()
        exchange.holding = True
        exchange.attempt += 1
        if exchange.attempt > 1:
            self.stats.retried()
        self.stats.count(exchange.request.kind)
        exchange.began = self._monotonic()

    def _on_response(self, response: httpx.Response) -> None:
        exchange: _Exchange = response.request.extensions[_EXCHANGE]
        # The slot is free as soon as the answer is in: an Auth flow may log in and send the
        # request again, each through a slot of its own.
        self._release(exchange)
        self._answers.last = self._monotonic() - exchange.began
        self._log(exchange, response.status_code)

    def _release(self, exchange: _Exchange) -> None:
        if exchange.holding:
            exchange.holding = False
            self._limiter.finish()

    def _log(self, exchange: _Exchange, outcome: object) -> None:
        elapsed_ms = (self._monotonic() - exchange.began) * 1000
        method, shown = exchange.request.method, exchange.request.shown
        logger.debug(
            "%s %s -> %s in %.0f ms (attempt %d)",
            method, shown, outcome, elapsed_ms, exchange.attempt,
        )  # fmt: skip

    def _auth_failed(self, method: str, shown: str) -> AuthError:
        return AuthError(
            _(
                "SuperOffice did not accept the credentials (auth = {auth}) on {call}: check {hint}"
            ).format(auth=self.settings.auth, call=f"{method} {shown}", hint=self._auth.hint)
        )

    def _wait_before_retry(
        self, verdict: Verdict, method: str, shown: str, attempt: int, started: float
    ) -> None:
        """Sleeps before the next attempt, or raises TransientError when the budget is spent."""
        wait = self._backoff(attempt, verdict.retry_after)
        self.deadlines.allow_wait(wait)
        spent = self._monotonic() - started
        retries_done = attempt - 1
        if (
            retries_done >= self.settings.max_retries
            or spent + wait > self.settings.max_retry_seconds
        ):
            raise TransientError(
                gave_up(f"{method} {shown}", attempt, spent, verdict.reason),
                method=method,
                path=shown,
            )
        logger.debug("retrying %s %s in %.1f s (%s)", method, shown, wait, verdict.reason)
        if verdict.overloaded:
            self._limiter.pause(wait)  # the server is overloaded for every worker, not just this
        self._sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; the server's Retry-After wins when given."""
        if retry_after is not None:
            return retry_after
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)

    # -- archive reading (paging lives in archive.Paginator)

    def _archive(
        self, provider: str, params: dict[str, str], url: str | None = None
    ) -> dict[str, Any]:
        """One archive page. Long queries (id lists) go as a form-encoded POST."""
        shown = f"/v1/Archive/{provider}"
        kind = f"archive:{provider}"
        if url is not None:
            body = self._call(ApiRequest("GET", shown, kind, url=url))
        elif self._url_length(shown, params) > MAX_URL_LENGTH:
            body = self._post_archive(provider, params)
        else:
            body = self._call(ApiRequest("GET", shown, kind, params=params))
        checked = rows_body(body, shown)
        if self.observer is not None:
            with self._observer_lock:
                self.observer.page(provider, len(checked["value"]), self.stats.requests)
        return checked

    def _url_length(self, shown: str, params: dict[str, str]) -> int:
        return len(str(httpx.URL(self.api_url + shown, params=params)))

    def _paginator(self) -> Paginator:
        # One for the client's life: it keeps the page size a capping server taught it.
        # A lambda, not the bound method: the page fetch is looked up on each call.
        if self._pager is None:
            self._pager = Paginator(
                lambda provider, params, url=None: self._archive(provider, params, url),
                self.settings.page_size,
                lambda: self.api_url,
                self.settings.max_in_flight,
                1.0 / self.settings.requests_per_second,
                lambda: getattr(self._answers, "last", math.inf),
            )
        return self._pager

    @property
    def page_size(self) -> int:
        """Rows per archive answer: the configured page size, or the server's cap if smaller."""
        return self._paginator().page_size

    def scan(
        self,
        provider: str,
        *,
        select: Sequence[str],
        filter: str | None = None,
        entities: Sequence[str] | None = None,
        key: str = "personId",
    ) -> Iterator[dict[str, Any]]:
        """Every row of `provider` matching `filter`, paged by `key`; see ranges.split_scan."""
        rows = split_scan(self._paginator(), provider, select, filter, entities, key)
        return observed(self.observer, provider, rows, None)

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
        """Rows of `provider` for the given ids, asked in chunks; see Paginator.by_ids."""
        unique = sorted({int(i) for i in ids})
        size = max(1, chunk_size or self.page_size)
        rows = self._paginator().by_ids(
            provider, unique, select=select, filter=filter, entities=entities,
            id_column=id_column, chunk_size=chunk_size, id_operator=id_operator,
        )  # fmt: skip
        return observed(self.observer, provider, rows, -(-len(unique) // size))

    # -- one person

    def get_person(self, person_id: int) -> dict[str, Any]:
        """The whole PersonEntity; NotFound when the person is unknown or deleted."""
        shown = f"/v1/Person/{int(person_id)}"
        return expect_dict(self._call(ApiRequest("GET", shown, "person:get")), shown)

    def patch_person(self, person_id: int, operations: list[dict[str, Any]]) -> dict[str, Any]:
        """Applies a JSON Patch; Conflict (409/412) when a `test` failed or the record changed."""
        shown = f"/v1/Person/{int(person_id)}"
        body = self._call(ApiRequest("PATCH", shown, "person:patch", json_body=operations))
        return expect_dict(body, shown)

    def delete_person(self, person_id: int, *, if_unmodified_since: datetime | None = None) -> None:
        """Soft-deletes (recycle bin). NotFound when already gone, Conflict when changed since."""
        headers = unmodified_since(if_unmodified_since)
        shown = f"/v1/Person/{int(person_id)}"
        self._call(ApiRequest("DELETE", shown, "person:delete", headers=headers, expect_json=False))

    def undelete_person(self, person_id: int) -> None:
        """Brings a deleted person back from the recycle bin."""
        self._call(
            ApiRequest(
                "POST", "/v1/Agents/Person/Undelete", "person:undelete",
                json_body={"Id": int(person_id)}, expect_json=False,
            )
        )  # fmt: skip

    def consent(self, person_id: int, purpose: str = "EMARKETING") -> bool:
        """Whether the person has an active consent for `purpose`."""
        shown = f"/v1/Person/{int(person_id)}/Consent/{purpose}"
        body = self._call(ApiRequest("GET", shown, "person:consent"))
        if isinstance(body, bool):
            return body
        if isinstance(body, str) and body.lower() in ("true", "false"):
            return body.lower() == "true"
        raise ApiError(_("SuperOffice's answer to {call} is not true or false").format(call=shown))

    # -- reference lists

    def _get_list(self, shown: str, kind: str) -> list[dict[str, Any]]:
        return expect_list(self._call(ApiRequest("GET", shown, kind)), shown)

    def mdo_list(self, name: str) -> list[dict[str, Any]]:
        return self._get_list(f"/v1/MDOList/{name}", "mdolist:get")

    def udef_layout(self) -> list[dict[str, Any]]:
        return self._get_list("/v1/Person/UdefLayout/Published", "udef:layout")

    def list_items(self, list_id: int) -> list[dict[str, Any]]:
        return self._get_list(f"/v1/List/{int(list_id)}/Items", "list:items")

    def current_principal(self) -> dict[str, Any]:
        shown = "/v1/User/currentPrincipal"
        return expect_dict(self._call(ApiRequest("GET", shown, "user:principal")), shown)

    def function_rights(self) -> tuple[str, ...] | None:
        """The signed-in user's functional rights; None where the server has no Sentry agent."""
        shown = "/v1/Agents/Sentry/GetFunctionRights"
        try:
            body = self._call(ApiRequest("POST", shown, "sentry:rights"))
        except (BadRequest, NotFound):
            return None
        if not isinstance(body, list):
            raise ApiError(_("SuperOffice's answer to {call} is not a list").format(call=shown))
        return tuple(str(right) for right in body)

    def principal(self) -> Principal:
        """Who the credentials belong to and whether they are an administrator."""
        me = self.current_principal()
        rights = self.function_rights()
        claimed = (
            isinstance(self._auth, UserAuth) and self._auth.session().identity.is_administrator
        )
        is_system = me.get("UserType") == "SystemAssociate"
        associate = me.get("AssociateId")
        return Principal(
            associate_id=associate if isinstance(associate, int) else None,
            login=str(me.get("UserName") or ""),
            full_name=str(me.get("FullName") or ""),
            tenant=str(me.get("ContextIdentifier") or self.tenant_id),
            user_type=str(me.get("UserType") or ""),
            role=str(me["RoleName"]) if me.get("RoleName") else None,
            function_rights=rights or (),
            # Without a Sentry agent, only the system user is known to be allowed everything.
            is_administrator=claimed
            or ADMIN_RIGHT in (rights or ())
            or (rights is None and is_system),
        )
