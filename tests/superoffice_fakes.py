"""Fakes shared by the SuperOffice client tests: a fake clock, an RSA key pair with its JWKS and
JWT minting, and a tiny archive that pages by personId the way SuperOffice does."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ta_steget_cli.config import Secrets, SuperOfficeSettings
from ta_steget_cli.superoffice import TICKET_CLAIM, SuperOfficeClient

API = "https://sod2.superoffice.com/Cust12345/api"
API3 = "https://sod3.superoffice.com/Cust12345/api"
LOGIN = "https://online.superoffice.com"
TICKET = "7T:c2VjcmV0LXRpY2tldC12YWx1ZQ=="
NEW_TICKET = "7T:bmV3LXRpY2tldC12YWx1ZQ=="
APP_TOKEN = "app-token-s3cr3t-value"
SYSTEM_TOKEN = "System-Token-0123"
ACCESS_TOKEN = "8A:YWNjZXNzLXRva2VuLXZhbHVl"
NOW = datetime(2026, 3, 18, 9, 30, tzinfo=UTC)


@dataclass
class FakeClock:
    """monotonic() and sleep() that never wait: sleeping advances the clock."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class KeyPair:
    private: rsa.RSAPrivateKey
    kid: str = "test-key"

    @property
    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def token(self, ticket: str, *, expires: datetime | None = None) -> str:
        exp = expires or NOW + timedelta(hours=6)
        claims = {TICKET_CLAIM: ticket, "exp": int(exp.timestamp()), "iss": "SuperOffice AS"}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


def make_keypair() -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def settings(**overrides: Any) -> SuperOfficeSettings:
    base: dict[str, Any] = {
        "api_url": API,
        "auth": "ticket",
        "page_size": 3,
        "requests_per_second": 10.0,
        "max_retries": 6,
        "max_retry_seconds": 120.0,
        # One request at a time: these fakes' tests count and order requests exactly;
        # tests/test_concurrency.py and the split scans' tests ask for several workers.
        "max_in_flight": 1,
    }
    base.update(overrides)
    return SuperOfficeSettings(**base)


def secrets(**extra: str) -> Secrets:
    values = {"TASTEGET_TICKET": TICKET, "TASTEGET_APP_TOKEN": APP_TOKEN}
    values.update(extra)
    return Secrets(values)


def client(
    clock: FakeClock,
    *,
    secret_values: Secrets | None = None,
    transport: httpx.BaseTransport | None = None,
    utcnow: Callable[[], datetime] = lambda: NOW,
    **overrides: Any,
) -> SuperOfficeClient:
    import random

    return SuperOfficeClient(
        settings(**overrides),
        secret_values or secrets(),
        transport=transport,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        utcnow=utcnow,
        rng=random.Random(7),
    )


def query(request: httpx.Request) -> dict[str, str]:
    """The archive parameters of a GET (query) or a POST (form body)."""
    if request.method == "POST":
        return dict(parse_qsl(request.content.decode("ascii")))
    return dict(request.url.params)


_GT = re.compile(r"personId gt (\d+)")
_ONE_OF = re.compile(r"personId (?:oneOf|in) \(([\d,]+)\)")
_LT = re.compile(r"personId lt (\d+)")


class FakeArchive:
    """Rows of a provider: personId-keyed, with optional extra rows per id (activities)."""

    def __init__(self, ids: list[int], per_id: int = 1) -> None:
        self.rows = [
            {"PrimaryKey": str(i * 100 + n), "EntityName": "person", "personId": i}
            for i in sorted(ids)
            for n in range(per_id)
        ]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = query(request)
        where = params.get("$filter", "")
        rows = self.rows
        if match := _GT.search(where):
            rows = [r for r in rows if r["personId"] > int(match.group(1))]
        if match := _ONE_OF.search(where):
            wanted = {int(x) for x in match.group(1).split(",")}
            rows = [r for r in rows if r["personId"] in wanted]
        if " or " not in where and (match := _LT.search(where)):  # a split scan's range
            rows = [r for r in rows if r["personId"] < int(match.group(1))]
        if params.get("$orderBy", "").endswith(" desc"):
            rows = rows[::-1]
        skip = int(params.get("$skip", "0"))
        top = int(params.get("$top", "1000"))
        # Like SuperOffice, every row carries every column asked for.
        columns = [c for c in params.get("$select", "").split(",") if c]
        page = [{**dict.fromkeys(columns, ""), **row} for row in rows[skip : skip + top]]
        return httpx.Response(200, json={"odata.nextLink": None, "value": page})
