"""The sandbox's login (system user flow, JWKS, 401s) and its fault switches."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from ta_steget_cli.sandbox import (
    IN_PROCESS_BASE_URL,
    TICKET_CLAIM,
    SandboxServer,
    SandboxTenant,
    ids,
    sign_system_token,
    transport,
)

# The real clock: PyJWT checks `exp` against real time, so a fixed past clock would expire tokens.
# Tokens are signed at the moment they are sent (NOW is only for registration dates): a slow
# suite run reaches these tests more than the sandbox's 10 minutes of clock slack after import.
NOW = datetime.now(UTC)
AUTH = {"Authorization": f"SOTicket {ids.TICKET}", "SO-AppToken": ids.APP_TOKEN}
PRINCIPAL = "/v1/User/currentPrincipal"


@pytest.fixture
def tenant() -> SandboxTenant:
    t = SandboxTenant(persons=0)
    for number in range(5):
        t.add_person("Test", f"Person{number}", registered=NOW - timedelta(days=number + 1))
    return t


@pytest.fixture
def server(tenant: SandboxTenant) -> Iterator[SandboxServer]:
    with SandboxServer(tenant) as running:
        yield running


def authenticate(server: SandboxServer, tenant: SandboxTenant, **overrides: str) -> httpx.Response:
    body = {
        "SignedSystemToken": sign_system_token(
            tenant.app_private_key_pem, ids.SYSTEM_TOKEN, datetime.now(UTC)
        ),
        "ApplicationToken": ids.APP_TOKEN,
        "ContextIdentifier": ids.CONTEXT_IDENTIFIER,
        "ReturnTokenType": "JWT",
        **overrides,
    }
    return httpx.post(f"{server.base_url}/Login/api/PartnerSystemUser/Authenticate", json=body)


def ticket_from(server: SandboxServer, token: str) -> str:
    keys = httpx.get(f"{server.base_url}/login/.well-known/jwks").json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in keys["keys"] if k["kid"] == kid))
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="spn:" + ids.CLIENT_ID,
        issuer=server.base_url,
    )
    assert claims["http://schemes.superoffice.net/identity/ctx"] == ids.CONTEXT_IDENTIFIER
    return str(claims[TICKET_CLAIM])


# ---------------------------------------------------------------- auth


def test_calls_without_valid_credentials_get_401_with_an_empty_body(server: SandboxServer) -> None:
    wrong = [
        {},
        {"Authorization": f"SOTicket {ids.TICKET}"},  # no app token
        {"Authorization": "SOTicket 7T:nope", "SO-AppToken": ids.APP_TOKEN},
        {"Authorization": "Bearer 8A:nope", "SO-AppToken": ids.APP_TOKEN},
        {"Authorization": "Basic " + base64.b64encode(b"sandbox:wrong").decode()},
    ]
    for headers in wrong:
        response = httpx.get(server.api_url + PRINCIPAL, headers=headers)
        assert response.status_code == 401 and response.content == b"", headers


def test_every_auth_mode_of_the_contract_is_accepted(server: SandboxServer) -> None:
    basic = base64.b64encode(f"{ids.BASIC_USER}:{ids.BASIC_PASSWORD}".encode()).decode()
    for headers in (
        AUTH,
        {"Authorization": f"Bearer {ids.ACCESS_TOKEN}", "SO-AppToken": ids.APP_TOKEN},
        {"Authorization": f"Basic {basic}"},
    ):
        assert httpx.get(server.api_url + PRINCIPAL, headers=headers).status_code == 200


def test_system_user_flow_end_to_end(server: SandboxServer, tenant: SandboxTenant) -> None:
    answer = authenticate(server, tenant).json()
    assert answer["IsSuccessful"] is True and answer["ErrorMessage"] == ""
    ticket = ticket_from(server, answer["Token"])
    assert ticket == ids.TICKET and tenant.authentications == 1
    headers = {"Authorization": f"SOTicket {ticket}", "SO-AppToken": ids.APP_TOKEN}
    assert httpx.get(server.api_url + PRINCIPAL, headers=headers).status_code == 200


def test_expired_ticket_is_replaced_by_the_next_authenticate(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    tenant.expire_ticket()
    assert httpx.get(server.api_url + PRINCIPAL, headers=AUTH).status_code == 401
    fresh = ticket_from(server, authenticate(server, tenant).json()["Token"])
    assert fresh != ids.TICKET
    headers = {"Authorization": f"SOTicket {fresh}", "SO-AppToken": ids.APP_TOKEN}
    assert httpx.get(server.api_url + PRINCIPAL, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "word"),
    [
        ({"ApplicationToken": "other"}, "ApplicationToken"),
        ({"ContextIdentifier": "Cust99999"}, "ContextIdentifier"),
        ({"SignedSystemToken": "garbage"}, "SignedSystemToken"),
    ],
)
def test_authenticate_refuses_wrong_input(
    server: SandboxServer, tenant: SandboxTenant, overrides: dict[str, str], word: str
) -> None:
    answer = authenticate(server, tenant, **overrides).json()
    assert answer["IsSuccessful"] is False and word in answer["ErrorMessage"]


def test_authenticate_refuses_old_or_foreign_signatures(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    old = sign_system_token(
        tenant.app_private_key_pem, ids.SYSTEM_TOKEN, datetime.now(UTC) - timedelta(minutes=11)
    )
    assert authenticate(server, tenant, SignedSystemToken=old).json()["IsSuccessful"] is False
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    foreign = sign_system_token(other, ids.SYSTEM_TOKEN, datetime.now(UTC))
    answer = authenticate(server, tenant, SignedSystemToken=foreign).json()
    assert answer["IsSuccessful"] is False and "signature" in answer["ErrorMessage"]
    unknown = sign_system_token(tenant.app_private_key_pem, "Another-Token", datetime.now(UTC))
    assert authenticate(server, tenant, SignedSystemToken=unknown).json()["IsSuccessful"] is False


# ---------------------------------------------------------------- faults


def test_status_faults_with_bodies_and_retry_after(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    tenant.faults.add("status", status=429, retry_after=2, body="empty")
    tenant.faults.add("status", status=503, body="html", path="/Archive/")
    first = httpx.get(server.api_url + PRINCIPAL, headers=AUTH)
    assert first.status_code == 429 and first.headers["Retry-After"] == "2" and first.content == b""
    assert httpx.get(server.api_url + PRINCIPAL, headers=AUTH).status_code == 200
    archive = httpx.get(server.api_url + "/v1/Archive/Person", headers=AUTH)
    assert archive.status_code == 503 and archive.text.startswith("<!DOCTYPE html>")
    assert httpx.get(server.api_url + "/v1/Archive/Person", headers=AUTH).status_code == 200
    statuses = [status for _, _, status in tenant.requests]
    assert statuses == [429, 200, 503, 200]
    tenant.reset_stats()
    assert tenant.requests == []


def test_times_repeats_a_fault(server: SandboxServer, tenant: SandboxTenant) -> None:
    tenant.faults.add("status", status=502, times=2)
    codes = [httpx.get(server.api_url + PRINCIPAL, headers=AUTH).status_code for _ in range(3)]
    assert codes == [502, 502, 200]


def test_drop_closes_the_connection_without_an_answer(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    tenant.faults.add("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.api_url + PRINCIPAL, headers=AUTH)
    assert httpx.get(server.api_url + PRINCIPAL, headers=AUTH).status_code == 200


def test_timeout_sleeps_longer_than_the_client_waits(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    tenant.timeout_sleep = 0.5
    tenant.faults.add("timeout")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.api_url + PRINCIPAL, headers=AUTH, timeout=0.1)


def test_truncated_answers_are_invalid_json(server: SandboxServer, tenant: SandboxTenant) -> None:
    tenant.faults.add("truncated")
    response = httpx.get(server.api_url + "/v1/Archive/Person", headers=AUTH)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_repeat_page_answers_the_previous_archive_page_again(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    url = server.api_url + "/v1/Archive/Person"
    first = httpx.get(url, headers=AUTH, params={"$select": "personId", "$top": "2"}).json()
    tenant.faults.add("repeat_page")
    assert httpx.get(server.api_url + PRINCIPAL, headers=AUTH).status_code == 200  # not archive
    last = first["value"][-1]["personId"]
    params = {"$select": "personId", "$top": "2", "$filter": f"personId gt {last}"}
    assert httpx.get(url, headers=AUTH, params=params).json() == first
    assert httpx.get(url, headers=AUTH, params=params).json() != first


def test_in_process_faults_raise_httpx_errors(tenant: SandboxTenant) -> None:
    base = f"{IN_PROCESS_BASE_URL}/{ids.CONTEXT_IDENTIFIER}/api"
    with httpx.Client(transport=transport(tenant), base_url=base, headers=AUTH) as client:
        tenant.faults.add("drop")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(PRINCIPAL)
        tenant.faults.add("timeout")
        with pytest.raises(httpx.ReadTimeout):
            client.get(PRINCIPAL)
        assert client.get(PRINCIPAL).status_code == 200
    with pytest.raises(ValueError, match="unknown fault kind"):
        tenant.faults.add("meteor")


def test_latency_is_slept_per_api_call(tenant: SandboxTenant) -> None:
    import time

    tenant.latency = 0.05
    base = f"{IN_PROCESS_BASE_URL}/{ids.CONTEXT_IDENTIFIER}/api"
    with httpx.Client(transport=transport(tenant), base_url=base, headers=AUTH) as client:
        started = time.perf_counter()
        client.get(PRINCIPAL)
        assert time.perf_counter() - started >= 0.05


def test_committed_faults_make_the_change_and_lose_the_answer(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    pid = tenant._persons[0].id
    person = f"{server.api_url}/v1/Person/{pid}"
    undelete = f"{server.api_url}/v1/Agents/Person/Undelete"
    tenant.faults.add("committed_status", status=500, method="DELETE")
    assert httpx.get(person, headers=AUTH).status_code == 200  # a GET is not a DELETE
    answer = httpx.delete(person, headers=AUTH)
    assert answer.status_code == 500 and answer.json()["ErrorMessage"] == "Injected fault"
    assert tenant.person(pid).deleted_at is not None  # ... but it was deleted
    tenant.faults.add("committed_drop", path="/Undelete")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(undelete, headers=AUTH, json={"Id": pid})
    assert tenant.person(pid).deleted_at is None  # ... but it is back
    assert httpx.post(undelete, headers=AUTH, json={"Id": pid}).status_code == 404


def test_trickle_sends_the_real_answer_a_byte_at_a_time(
    server: SandboxServer, tenant: SandboxTenant
) -> None:
    import time

    tenant.trickle_seconds = 0.001
    tenant.faults.add("trickle")
    started = time.monotonic()
    slow = httpx.get(server.api_url + PRINCIPAL, headers=AUTH)
    took = time.monotonic() - started
    # The server sleeps before every byte: however fast the reader, never quicker than that.
    assert took >= len(slow.content) * tenant.trickle_seconds
    assert slow.json() == httpx.get(server.api_url + PRINCIPAL, headers=AUTH).json()
    base = f"{IN_PROCESS_BASE_URL}/{ids.CONTEXT_IDENTIFIER}/api"
    tenant.faults.add("trickle")
    client = httpx.Client(transport=transport(tenant), base_url=base, headers=AUTH)
    with client, client.stream("GET", PRINCIPAL) as response:
        assert all(len(c) == 1 for c in response.iter_raw())
