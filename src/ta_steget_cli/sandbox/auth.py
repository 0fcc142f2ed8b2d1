"""The sandbox's login side: the app's key pair, the system-user Authenticate call, JWTs and JWKS.

RSA keys take a noticeable moment to generate, so they are made once per seed and process and
shared by every tenant with that seed (tests build many tenants).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import ids

JWT_KID = "sandbox-jwt-1"
TICKET_CLAIM = "http://schemes.superoffice.net/identity/ticket"
CONTEXT_CLAIM = "http://schemes.superoffice.net/identity/ctx"
SIGNATURE_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class KeyPair:
    app: rsa.RSAPrivateKey  # "the app's" key: the client signs the system token with it
    jwt: rsa.RSAPrivateKey  # the login service's key: it signs the JWTs

    @property
    def app_private_pem(self) -> bytes:
        return self.app.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


_KEYS: dict[int, KeyPair] = {}


def keys_for(seed: int) -> KeyPair:
    if seed not in _KEYS:
        _KEYS[seed] = KeyPair(
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )
    return _KEYS[seed]


def sign_system_token(private_pem: bytes, system_token: str, now: datetime) -> str:
    """What a client sends as SignedSystemToken (here for tests and the docs)."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    text = f"{system_token}.{now.astimezone(UTC):%Y%m%d%H%M}"
    signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{text}.{base64.b64encode(signature).decode()}"


def check_signed_token(signed: str, public: rsa.RSAPublicKey, now: datetime) -> str | None:
    """Why the signed system token is refused, or None when it is good."""
    text, dot, signature_text = signed.rpartition(".")
    token, dot2, stamp = text.rpartition(".")
    if not dot or not dot2:
        return "SignedSystemToken is not 'token.timestamp.signature'"
    if token != ids.SYSTEM_TOKEN:
        return "Unknown system user token"
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return "The timestamp of SignedSystemToken is not yyyyMMddHHmm"
    if abs(signed_at - now) > SIGNATURE_SLACK:
        return "SignedSystemToken has expired or its clock is off by more than 10 minutes"
    try:
        signature = base64.b64decode(signature_text, validate=True)
        public.verify(signature, text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return "The signature of SignedSystemToken is not valid for this application"
    return None


def make_jwt(key: rsa.RSAPrivateKey, ticket: str, issuer: str, now: datetime) -> str:
    moment = int(now.timestamp())
    claims = {
        TICKET_CLAIM: ticket,
        CONTEXT_CLAIM: ids.CONTEXT_IDENTIFIER,
        "iss": issuer,
        "aud": "spn:" + ids.CLIENT_ID,
        "iat": moment,
        "nbf": moment,
        "exp": moment + 3600,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": JWT_KID})


def jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": JWT_KID, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def basic_credentials() -> str:
    pair = f"{ids.BASIC_USER}:{ids.BASIC_PASSWORD}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def fresh_ticket(number: int) -> str:
    return "7T:" + base64.b64encode(f"tasteget-sandbox-ticket-{number}".encode()).decode()
