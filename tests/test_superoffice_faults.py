"""How the SuperOffice client meets faults (respx): retries with backoff, Retry-After, dropped
connections, HTML error pages, truncated bodies, 401 re-authentication, 421 re-resolution,
an offline tenant, and retry budgets by count and by time."""

from __future__ import annotations

import base64
import json
import logging
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from ta_steget_cli.config import Secrets
from ta_steget_cli.errors import (
    ApiError,
    AuthError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TenantUnavailable,
    TransientError,
)
from tests.conftest import POSIX_MODES
from tests.superoffice_fakes import (
    API,
    API3,
    APP_TOKEN,
    LOGIN,
    NEW_TICKET,
    NOW,
    SYSTEM_TOKEN,
    TICKET,
    FakeClock,
    KeyPair,
    client,
    make_keypair,
)

PERSON = f"{API}/v1/Person/4711"
OK = httpx.Response(200, json={"PersonId": 4711})


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return make_keypair()


def retry_sleeps(clock: FakeClock) -> list[float]:
    """Sleeps other than the rate limiter's 0.1 s spacing."""
    return [s for s in clock.sleeps if abs(s - 0.1) > 1e-9]


# ---------------------------------------------------------------- transient faults


def test_429_with_retry_after_is_honoured(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get(PERSON).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), OK])
    so = client(clock)
    assert so.get_person(4711) == {"PersonId": 4711}
    assert clock.sleeps == [3.0]
    assert so.stats.requests == 2 and so.stats.retries == 1
    assert so.stats.by_kind["person:get"] == 2


def test_retry_after_as_http_date(mock: respx.MockRouter, clock: FakeClock) -> None:
    when = (NOW + timedelta(seconds=7)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    mock.get(PERSON).mock(side_effect=[httpx.Response(503, headers={"Retry-After": when}), OK])
    client(clock).get_person(4711)
    assert clock.sleeps == [7.0]


def test_burst_of_503_then_success(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get(PERSON).mock(side_effect=[httpx.Response(503)] * 4 + [OK])
    so = client(clock)
    assert so.get_person(4711)["PersonId"] == 4711
    assert so.stats.requests == 5 and so.stats.retries == 4
    # Full jitter: each wait lies between 0 and the exponential ceiling (0.5, 1, 2, 4 s).
    waits = clock.sleeps
    assert 4 <= len(waits) <= 8
    assert all(0 <= w <= 30 for w in waits)


@pytest.mark.parametrize(
    "fault",
    [
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("connection refused"),
    ],
)
def test_dropped_connection_and_timeout_are_retried(
    mock: respx.MockRouter, clock: FakeClock, fault: Exception
) -> None:
    mock.get(PERSON).mock(side_effect=[fault, OK])
    so = client(clock)
    assert so.get_person(4711)["PersonId"] == 4711
    assert so.stats.retries == 1


def test_truncated_json_is_retried(mock: respx.MockRouter, clock: FakeClock) -> None:
    cut = httpx.Response(
        200, content=b'{"PersonId": 47', headers={"Content-Type": "application/json"}
    )
    mock.get(PERSON).mock(side_effect=[cut, OK])
    so = client(clock)
    assert so.get_person(4711)["PersonId"] == 4711
    assert so.stats.requests == 2


def test_html_500_gives_one_line_without_html(mock: respx.MockRouter, clock: FakeClock) -> None:
    page = "<!DOCTYPE html><html><body><h1>Server Error in '/' Application.</h1></body></html>"
    mock.get(f"{API}/v1/Archive/Person").mock(
        return_value=httpx.Response(500, text=page, headers={"Content-Type": "text/html"})
    )
    with pytest.raises(ApiError) as caught:
        list(client(clock).scan("Person", select=["fullName"]))
    message = str(caught.value)
    assert message == "SuperOffice answered 500 Internal Server Error on GET /v1/Archive/Person"
    assert caught.value.status == 500 and caught.value.exit_code == 1


def test_retries_capped_by_count(mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.get(PERSON).mock(return_value=httpx.Response(503, text="<html>busy</html>"))
    with pytest.raises(TransientError) as caught:
        client(clock, max_retries=3).get_person(4711)
    assert route.call_count == 4
    message = str(caught.value)
    assert "GET /v1/Person/4711" in message and "4 tries" in message
    assert "503 Service Unavailable" in message and "<html>" not in message


def test_retries_capped_by_total_time(mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.get(PERSON).mock(return_value=httpx.Response(429, headers={"Retry-After": "20"}))
    with pytest.raises(TransientError):
        client(clock, max_retries=20, max_retry_seconds=50).get_person(4711)
    # 0 s, 20 s, 40 s: a third wait would pass 50 s.
    assert route.call_count == 3
    assert sum(retry_sleeps(clock)) <= 50


def test_no_retries_when_the_budget_is_zero(mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.get(PERSON).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError, match="after 1 try"):
        client(clock, max_retries=0).get_person(4711)
    assert route.call_count == 1


# ---------------------------------------------------------------- errors not retried


def test_400_shows_error_message(mock: respx.MockRouter, clock: FakeClock) -> None:
    body = {"Error": True, "ErrorType": "SoException", "ErrorMessage": "Unknown column 'x'"}
    mock.get(f"{API}/v1/Archive/Person").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(BadRequest, match="Unknown column 'x'") as caught:
        list(client(clock).scan("Person", select=["x"]))
    assert caught.value.error_type == "SoException"


@pytest.mark.parametrize(
    ("status", "error"), [(403, Forbidden), (404, NotFound), (409, Conflict), (412, Conflict)]
)
def test_status_maps_to_typed_error(
    mock: respx.MockRouter, clock: FakeClock, status: int, error: type[ApiError]
) -> None:
    route = mock.get(PERSON).mock(return_value=httpx.Response(status, content=b""))
    with pytest.raises(error) as caught:
        client(clock).get_person(4711)
    assert caught.value.status == status
    assert route.call_count == 1


def test_delete_sends_if_unmodified_since(mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.delete(PERSON).mock(return_value=httpx.Response(204))
    client(clock).delete_person(4711, if_unmodified_since=NOW)
    assert route.calls.last.request.headers["If-Unmodified-Since"] == (
        "Wed, 18 Mar 2026 09:30:00 GMT"
    )


def test_delete_of_changed_person_is_conflict(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.delete(PERSON).mock(return_value=httpx.Response(412))
    with pytest.raises(Conflict):
        client(clock).delete_person(4711, if_unmodified_since=NOW)


def test_patch_undelete_consent(mock: respx.MockRouter, clock: FakeClock) -> None:
    patch = mock.patch(PERSON).mock(return_value=OK)
    undelete = mock.post(f"{API}/v1/Agents/Person/Undelete").mock(
        return_value=httpx.Response(200, json=True)
    )
    mock.get(f"{PERSON}/Consent/EMARKETING").mock(return_value=httpx.Response(200, json=True))
    so = client(clock)
    ops = [{"op": "test", "path": "UpdatedDate", "value": "2025-03-01T10:00:00"}]
    assert so.patch_person(4711, ops) == {"PersonId": 4711}
    assert json.loads(patch.calls.last.request.content) == ops
    assert patch.calls.last.request.headers["Content-Type"] == "application/json"
    so.undelete_person(4711)
    assert json.loads(undelete.calls.last.request.content) == {"Id": 4711}
    assert so.consent(4711) is True


# ---------------------------------------------------------------- 401 and auth


def system_user_secrets(tmp_path: Path, keys: KeyPair) -> Secrets:
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(keys.pem)
    return Secrets(
        {
            "TASTEGET_SYSTEM_TOKEN": SYSTEM_TOKEN,
            "TASTEGET_PRIVATE_KEY_FILE": str(key_file),
            "TASTEGET_APP_TOKEN": APP_TOKEN,
        }
    )


def mock_login(mock: respx.MockRouter, keys: KeyPair, tickets: list[str]) -> respx.Route:
    """The login endpoints; each login hands out the next ticket and checks the signature."""
    mock.get(f"{LOGIN}/login/.well-known/jwks").mock(
        return_value=httpx.Response(200, json=keys.jwks())
    )
    handed = iter(tickets)
    signed_at: list[str] = []

    def authenticate(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        text, _, signature = body["SignedSystemToken"].rpartition(".")
        keys.private.public_key().verify(
            base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        signed_at.append(text.removeprefix(f"{SYSTEM_TOKEN}."))
        assert body["ApplicationToken"] == APP_TOKEN
        assert body["ContextIdentifier"] == "Cust12345"
        assert body["ReturnTokenType"] == "JWT"
        return httpx.Response(
            200, json={"IsSuccessful": True, "Token": keys.token(next(handed)), "ErrorMessage": ""}
        )

    route = mock.post(f"{LOGIN}/Login/api/PartnerSystemUser/Authenticate").mock(
        side_effect=authenticate
    )
    route.signed_at = signed_at  # type: ignore[attr-defined]
    return route


def test_system_user_logs_in_and_sends_the_ticket(
    mock: respx.MockRouter, clock: FakeClock, keys: KeyPair, tmp_path: Path
) -> None:
    login = mock_login(mock, keys, [TICKET])
    person = mock.get(PERSON).mock(return_value=OK)
    so = client(
        clock,
        auth="system_user",
        tenant="Cust12345",
        secret_values=system_user_secrets(tmp_path, keys),
    )
    so.get_person(4711)
    so.get_person(4711)
    assert login.call_count == 1
    assert login.signed_at == [f"{NOW:%Y%m%d%H%M}"]  # type: ignore[attr-defined]
    headers = person.calls.last.request.headers
    assert headers["Authorization"] == f"SOTicket {TICKET}"
    assert headers["SO-AppToken"] == APP_TOKEN


def test_ticket_cache_spares_a_login(
    mock: respx.MockRouter, clock: FakeClock, keys: KeyPair, tmp_path: Path
) -> None:
    login = mock_login(mock, keys, [TICKET, NEW_TICKET])
    mock.get(PERSON).mock(return_value=OK)
    cache = tmp_path / "cache" / "ticket.json"
    values = system_user_secrets(tmp_path, keys)
    common = {"auth": "system_user", "tenant": "Cust12345", "ticket_cache": cache}
    client(clock, secret_values=values, **common).get_person(4711)
    if POSIX_MODES:
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert json.loads(cache.read_text())["ticket"] == TICKET
    client(clock, secret_values=values, **common).get_person(4711)
    assert login.call_count == 1
    # Past its lifetime the cached ticket is not used.
    later = NOW + timedelta(hours=6)
    client(clock, secret_values=values, utcnow=lambda: later, **common).get_person(4711)
    assert login.call_count == 2


def test_401_fetches_a_new_ticket_once(
    mock: respx.MockRouter, clock: FakeClock, keys: KeyPair, tmp_path: Path
) -> None:
    login = mock_login(mock, keys, [TICKET, NEW_TICKET])

    def person(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"SOTicket {NEW_TICKET}":
            return OK
        return httpx.Response(401, text="<html>Unauthorized</html>")

    mock.get(PERSON).mock(side_effect=person)
    so = client(
        clock,
        auth="system_user",
        tenant="Cust12345",
        secret_values=system_user_secrets(tmp_path, keys),
    )
    assert so.get_person(4711)["PersonId"] == 4711
    assert login.call_count == 2


def test_second_401_is_auth_error(
    mock: respx.MockRouter, clock: FakeClock, keys: KeyPair, tmp_path: Path
) -> None:
    login = mock_login(mock, keys, [TICKET, NEW_TICKET])
    mock.get(PERSON).mock(return_value=httpx.Response(401))
    so = client(
        clock,
        auth="system_user",
        tenant="Cust12345",
        secret_values=system_user_secrets(tmp_path, keys),
    )
    with pytest.raises(AuthError) as caught:
        so.get_person(4711)
    assert caught.value.exit_code == 4
    assert login.call_count == 2


def test_401_with_a_handed_in_ticket_fails_at_once(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.get(PERSON).mock(return_value=httpx.Response(401))
    with pytest.raises(AuthError, match=r"\(auth = ticket\).*TASTEGET_TICKET") as caught:
        client(clock).get_person(4711)
    assert caught.value.exit_code == 4
    assert route.call_count == 1


def test_refused_login_is_auth_error(
    mock: respx.MockRouter, clock: FakeClock, keys: KeyPair, tmp_path: Path
) -> None:
    mock.post(f"{LOGIN}/Login/api/PartnerSystemUser/Authenticate").mock(
        return_value=httpx.Response(
            200, json={"IsSuccessful": False, "Token": None, "ErrorMessage": "Unknown system user"}
        )
    )
    so = client(
        clock,
        auth="system_user",
        tenant="Cust12345",
        secret_values=system_user_secrets(tmp_path, keys),
    )
    with pytest.raises(AuthError, match="Unknown system user"):
        so.get_person(4711)


def test_jwt_signed_by_another_key_is_refused(
    mock: respx.MockRouter, clock: FakeClock, keys: KeyPair, tmp_path: Path
) -> None:
    other = make_keypair()
    mock.get(f"{LOGIN}/login/.well-known/jwks").mock(
        return_value=httpx.Response(200, json=keys.jwks())
    )
    mock.post(f"{LOGIN}/Login/api/PartnerSystemUser/Authenticate").mock(
        return_value=httpx.Response(200, json={"IsSuccessful": True, "Token": other.token(TICKET)})
    )
    so = client(
        clock,
        auth="system_user",
        tenant="Cust12345",
        secret_values=system_user_secrets(tmp_path, keys),
    )
    with pytest.raises(AuthError, match="did not validate"):
        so.get_person(4711)


# ---------------------------------------------------------------- tenant state


def state(api: str = API, status: str = "Running", valid: str = "2026-10-05T09:52:01Z") -> dict:
    return {
        "ContextIdentifier": "Cust12345",
        "State": status,
        "IsRunning": status == "Running",
        "ValidUntil": valid,
        "Api": api,
    }


def test_api_url_is_resolved_via_state(mock: respx.MockRouter, clock: FakeClock) -> None:
    states = mock.get(f"{LOGIN}/api/state/Cust12345").mock(
        return_value=httpx.Response(200, json=state())
    )
    mock.get(PERSON).mock(return_value=OK)
    so = client(clock, api_url=None, tenant="Cust12345")
    so.get_person(4711)
    so.get_person(4711)
    assert so.api_url == API
    assert states.call_count == 1
    found = so.tenant_state()
    assert found is not None and found.state == "Running" and found.api == API


def test_421_resolves_again_and_retries(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get(f"{LOGIN}/api/state/Cust12345").mock(
        side_effect=[httpx.Response(200, json=state(API)), httpx.Response(200, json=state(API3))]
    )
    mock.get(PERSON).mock(return_value=httpx.Response(421))
    moved = mock.get(f"{API3}/v1/Person/4711").mock(return_value=OK)
    so = client(clock, api_url=None, tenant="Cust12345")
    assert so.get_person(4711)["PersonId"] == 4711
    assert moved.call_count == 1
    assert so.api_url == API3


def test_state_is_fetched_again_after_valid_until(mock: respx.MockRouter, clock: FakeClock) -> None:
    soon = (NOW + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    states = mock.get(f"{LOGIN}/api/state/Cust12345").mock(
        return_value=httpx.Response(200, json=state(valid=soon))
    )
    mock.get(PERSON).mock(return_value=OK)
    now = [NOW]
    so = client(clock, api_url=None, tenant="Cust12345", utcnow=lambda: now[0])
    so.get_person(4711)
    now[0] = NOW + timedelta(minutes=2)
    so.get_person(4711)
    assert states.call_count == 2


def test_offline_tenant_is_unavailable(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get(f"{LOGIN}/api/state/Cust12345").mock(
        return_value=httpx.Response(200, json=state(status="Offline"))
    )
    so = client(clock, api_url=None, tenant="Cust12345")
    with pytest.raises(TenantUnavailable) as caught:
        so.get_person(4711)
    assert str(caught.value) == (
        "tenant Cust12345 is Offline; SuperOffice maintenance is Saturday 20:00-Sunday 06:00 CET "
        "and nightly 01-03; try again later"
    )
    found = so.tenant_state()
    assert found is not None and found.state == "Offline"


def test_login_url_overrides_environment(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get("https://sod.superoffice.com/api/state/Cust12345").mock(
        return_value=httpx.Response(200, json=state())
    )
    assert client(clock, api_url=None, tenant="Cust12345", environment="sod").api_url == API


def test_state_pointing_at_plain_http_is_refused(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get(f"{LOGIN}/api/state/Cust12345").mock(
        return_value=httpx.Response(200, json=state(api="http://sod2.superoffice.com/Cust1/api"))
    )
    from ta_steget_cli.errors import ConfigError

    with pytest.raises(ConfigError):
        client(clock, api_url=None, tenant="Cust12345").get_person(4711)


# ---------------------------------------------------------------- logging


@pytest.fixture
def client_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog attached to the client's own logger: the CLI turns propagation off."""
    so_logger = logging.getLogger("ta_steget_cli.superoffice")
    so_logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        so_logger.removeHandler(caplog.handler)


def test_debug_log_holds_no_secrets(
    mock: respx.MockRouter,
    clock: FakeClock,
    keys: KeyPair,
    tmp_path: Path,
    client_log: pytest.LogCaptureFixture,
) -> None:
    caplog = client_log
    caplog.set_level(logging.DEBUG, logger="ta_steget_cli.superoffice")
    mock_login(mock, keys, [TICKET, NEW_TICKET])
    mock.get(PERSON).mock(side_effect=[httpx.Response(401), httpx.Response(503), OK])
    mock.get(f"{API}/v1/Archive/Person").mock(
        return_value=httpx.Response(200, json={"value": [{"personId": 1, "fullName": "Anna Berg",
                                                          "email/emailAddress": "anna@x.se"}]})
    )  # fmt: skip
    values = system_user_secrets(tmp_path, keys)
    so = client(clock, auth="system_user", tenant="Cust12345", secret_values=values)
    so.get_person(4711)
    list(so.scan("Person", select=["fullName", "email/emailAddress"]))
    text = caplog.text
    assert "GET /v1/Person/4711 -> 200" in text
    assert "(attempt 3)" in text
    for secret in (TICKET, NEW_TICKET, APP_TOKEN, SYSTEM_TOKEN, "SOTicket", "Anna", "anna@x.se"):
        assert secret not in text
    assert "Authenticate" in text
