"""Pure parts of the SuperOffice client: datetimes, keys, the rate limiter, redaction, URLs,
auth headers."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import respx

from ta_steget_cli.config import Secrets
from ta_steget_cli.errors import ConfigError
from ta_steget_cli.superoffice import (
    RedactSecrets,
    format_datetime,
    parse_datetime,
    primary_key,
)
from tests.superoffice_fakes import (
    ACCESS_TOKEN,
    API,
    APP_TOKEN,
    TICKET,
    FakeClock,
    client,
    secrets,
)


@pytest.mark.parametrize("value", [None, "", "0001-01-01T00:00:00", "0001-01-01"])
def test_never_set_datetimes_are_none(value: str | None) -> None:
    assert parse_datetime(value) is None


def test_datetime_without_offset_is_utc() -> None:
    assert parse_datetime("2025-06-19T14:03:11") == datetime(2025, 6, 19, 14, 3, 11, tzinfo=UTC)


def test_datetime_with_offset_is_converted_to_utc() -> None:
    parsed = parse_datetime("2025-06-19T16:03:11+02:00")
    assert parsed == datetime(2025, 6, 19, 14, 3, 11, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    assert parse_datetime("2026-10-05T09:52:01Z") == datetime(2026, 10, 5, 9, 52, 1, tzinfo=UTC)


def test_dotnet_fraction_is_accepted() -> None:
    parsed = parse_datetime("2025-06-19T14:03:11.1234567")
    assert parsed is not None and parsed.replace(microsecond=0) == datetime(
        2025, 6, 19, 14, 3, 11, tzinfo=UTC
    )


def test_format_datetime_is_utc_without_offset() -> None:
    stockholm = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2025, 6, 19, 16, 3, 11, 999, tzinfo=stockholm)) == (
        "2025-06-19T14:03:11"
    )
    with pytest.raises(ValueError):
        format_datetime(datetime(2025, 6, 19, 16, 3, 11))


def test_primary_key_accepts_string_and_int() -> None:
    assert primary_key({"PrimaryKey": "4711"}) == 4711
    assert primary_key({"PrimaryKey": 4711}) == 4711


def test_client_requests_are_spaced_by_the_rate_limiter() -> None:
    clock = FakeClock()
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{API}/v1/Person/1").mock(return_value=httpx.Response(200, json={}))
        so = client(clock, requests_per_second=5)
        start = clock.now
        for _ in range(6):
            so.get_person(1)
    assert clock.now - start >= 5 / 5 - 1e-9


def test_redact_secrets_hides_values_and_known_shapes() -> None:
    redact = RedactSecrets(["hunter2-password", APP_TOKEN])
    text = (
        f"pw hunter2-password app {APP_TOKEN} ticket {TICKET} token {ACCESS_TOKEN} "
        "Authorization: Basic dXNlcjpwYXNz and Bearer abc.def"
    )
    out = redact.redact(text)
    for secret in ("hunter2-password", APP_TOKEN, TICKET, ACCESS_TOKEN, "dXNlcjpwYXNz", "abc.def"):
        assert secret not in out
    assert "***" in out


def test_redact_secrets_filter_rewrites_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "ticket %s", (TICKET,), None)
    assert RedactSecrets([]).filter(record)
    assert TICKET not in record.getMessage()


@pytest.mark.parametrize(
    "url",
    ["http://sod2.superoffice.com/Cust1/api", "http://10.0.0.5/SuperOffice/api", "ftp://x/api"],
)
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="https"):
        client(FakeClock(), api_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8123/api", "http://localhost/api", "http://[::1]:9000/api"]
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    assert client(FakeClock(), api_url=url).api_url == url


def test_given_transport_allows_any_url() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": 1}))
    so = client(FakeClock(), api_url="http://sandbox.invalid/api", transport=transport)
    assert so.current_principal() == {"ok": 1}


def _headers_for(auth: str, values: dict[str, str]) -> httpx.Headers:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    so = client(
        FakeClock(),
        auth=auth,
        secret_values=Secrets(values),
        transport=httpx.MockTransport(handler),
    )
    so.current_principal()
    return seen[0].headers


def test_ticket_headers() -> None:
    headers = _headers_for("ticket", {"TASTEGET_TICKET": TICKET, "TASTEGET_APP_TOKEN": APP_TOKEN})
    assert headers["Authorization"] == f"SOTicket {TICKET}"
    assert headers["SO-AppToken"] == APP_TOKEN
    assert headers["Accept"] == "application/json"


def test_bearer_headers() -> None:
    values = {"TASTEGET_ACCESS_TOKEN": ACCESS_TOKEN, "TASTEGET_APP_TOKEN": APP_TOKEN}
    headers = _headers_for("bearer", values)
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert headers["SO-AppToken"] == APP_TOKEN


def test_basic_headers() -> None:
    headers = _headers_for("basic", {"TASTEGET_USERNAME": "crm", "TASTEGET_PASSWORD": "pw:1"})
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"crm:pw:1").decode()
    assert "SO-AppToken" not in headers


@pytest.mark.parametrize(
    ("auth", "missing"),
    [
        ("ticket", "TASTEGET_TICKET"),
        ("bearer", "TASTEGET_ACCESS_TOKEN"),
        ("basic", "TASTEGET_USERNAME"),
        ("system_user", "TASTEGET_SYSTEM_TOKEN"),
    ],
)
def test_missing_secret_names_the_variable(auth: str, missing: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    so = client(
        FakeClock(),
        auth=auth,
        tenant="Cust12345",
        secret_values=Secrets({"TASTEGET_APP_TOKEN": APP_TOKEN}),
        transport=transport,
    )
    with pytest.raises(ConfigError, match=missing) as caught:
        so.current_principal()
    assert f"auth = {auth}" in str(caught.value)


def test_tenant_id_without_tenant_is_the_api_url() -> None:
    assert client(FakeClock()).tenant_id == API
    assert client(FakeClock(), tenant="Cust12345").tenant_id == "Cust12345"
    assert client(FakeClock()).tenant_state() is None


def test_secrets_fixture_holds_the_ticket() -> None:
    assert secrets().get("TASTEGET_TICKET") == TICKET
