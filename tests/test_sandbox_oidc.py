"""The sandbox's OpenID Connect endpoints are as strict as an identity provider: PKCE verified,
a code good once and only for its redirect URI, refresh and revocation, a user token that
needs no app token, and a move guide who may not delete persons."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from ta_steget_cli.sandbox import SandboxTenant, ids, transport
from ta_steget_cli.superoffice.oidc import pkce_challenge

BASE = "http://sandbox.local"
REDIRECT = "http://127.0.0.1:54321"
VERIFIER = "v" * 50


@pytest.fixture
def http() -> httpx.Client:
    tenant = SandboxTenant(persons=20, seed=5)
    return httpx.Client(transport=transport(tenant), base_url=BASE)


def _authorize(http: httpx.Client, user: str = "ELNY", **extra: str) -> dict[str, str]:
    params = {
        "client_id": ids.CLIENT_ID,
        "scope": "openid",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "response_mode": "form_post",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": pkce_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **extra,
    }
    url = "/login/common/oauth/authorize?" + urlencode(params)
    assert http.get(url).status_code == 200  # the sign-in form
    page = http.post(url, data={"username": user, "password": ids.LOGIN_PASSWORD}).text
    action = unescape(re.search(r"action='([^']*)'", page).group(1))  # type: ignore[union-attr]
    assert action == REDIRECT
    return dict(re.findall(r"name='([^']*)' value='([^']*)'", page))


def _trade(http: httpx.Client, code: str, verifier: str = VERIFIER) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": ids.CLIENT_ID,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    return http.post("/login/common/oauth/tokens", data=form)


def test_a_code_is_traded_once_with_the_right_verifier(http: httpx.Client) -> None:
    fields = _authorize(http)
    assert fields["state"] == "s1"
    assert _trade(http, fields["code"], verifier="w" * 50).json()["error"] == "invalid_grant"
    # A wrong verifier burns the code: whoever intercepted it cannot try again.
    assert _trade(http, fields["code"]).json()["error"] == "invalid_grant"

    code = _authorize(http)["code"]
    tokens = _trade(http, code).json()
    assert tokens["token_type"] == "Bearer" and tokens["access_token"].startswith("8A:")
    assert _trade(http, code).json()["error"] == "invalid_grant"


def test_the_authorize_endpoint_refuses_what_a_native_app_may_not_ask() -> None:
    tenant = SandboxTenant(persons=20, seed=5)
    http = httpx.Client(transport=transport(tenant), base_url=BASE)
    bad = {
        "redirect_uri": "http://evil.example:5000",
        "code_challenge_method": "plain",
        "client_id": "someone-else",
    }
    for name, value in bad.items():
        params = dict(
            client_id=ids.CLIENT_ID,
            scope="openid",
            redirect_uri=REDIRECT,
            response_type="code",
            code_challenge="x",
            code_challenge_method="S256",
        )
        params[name] = value
        answer = http.get("/login/common/oauth/authorize?" + urlencode(params))
        assert answer.status_code == 400, name


def test_a_user_token_reaches_the_api_and_a_move_guide_may_not_delete(
    http: httpx.Client,
) -> None:
    tokens = _trade(http, _authorize(http, "ELNY")["code"]).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}  # no SO-AppToken needed
    api = f"/{ids.CONTEXT_IDENTIFIER}/api/v1"
    me = http.get(f"{api}/User/currentPrincipal", headers=headers).json()
    assert me["UserName"] == "ELNY"
    rights = http.post(f"{api}/Agents/Sentry/GetFunctionRights", headers=headers).json()
    assert ids.ADMIN_FUNCTION_RIGHT not in rights
    person = http.get(f"{api}/Archive/Person?$select=personId&$top=1", headers=headers).json()[
        "value"
    ][0]["personId"]
    assert http.delete(f"{api}/Person/{person}", headers=headers).status_code == 403


def test_refresh_and_revocation(http: httpx.Client) -> None:
    tokens = _trade(http, _authorize(http, "ADMN")["code"]).json()
    form = {"grant_type": "refresh_token", "client_id": ids.CLIENT_ID}
    again = http.post(
        "/login/common/oauth/tokens", data={**form, "refresh_token": tokens["refresh_token"]}
    ).json()
    assert again["access_token"] != tokens["access_token"]
    http.post("/login/common/oauth/revoke", data={"token": tokens["refresh_token"]})
    refused = http.post(
        "/login/common/oauth/tokens", data={**form, "refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_discovery_names_every_endpoint(http: httpx.Client) -> None:
    meta = http.get("/login/.well-known/openid-configuration").json()
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint"):
        assert urlsplit(meta[key]).path.startswith("/login/")
    assert meta["code_challenge_methods_supported"] == ["S256"]
