"""Issue 9 finding 18 (certificates): a server whose TLS certificate cannot be verified is said at
once, in one line with exit 2, not retried for minutes as if SuperOffice were down. Tested against
the sandbox served over real TLS on 127.0.0.1 with a certificate made here (cryptography); the
same server, once its CA is trusted (SSL_CERT_FILE), answers the same command in full."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ta_steget_cli.sandbox import SandboxServer, SandboxTenant, api_url
from tests.conftest import AS_OF


@dataclass
class Pki:
    ca: Path  # the CA certificate (what SSL_CERT_FILE would point at)
    chain: Path  # the server's certificate
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(folder: Path) -> Pki:
    """A made-up CA and a certificate for 127.0.0.1 signed by it, valid from yesterday."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("tasteget test CA"))
        .issuer_name(_name("tasteget test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


class TlsSandbox:
    """The sandbox tenant served over TLS on 127.0.0.1; counts the connections it accepted."""

    def __init__(self, tenant: SandboxTenant, pki: Pki) -> None:
        self.server = SandboxServer(tenant)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.chain, pki.key)
        httpd = self.server.httpd
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self.connections = 0
        accept = httpd.get_request

        def counted() -> Any:
            self.connections += 1
            return accept()  # the TLS handshake happens here; a refused one raises

        httpd.get_request = counted  # type: ignore[method-assign]
        port = httpd.server_address[1]
        self.api_url = api_url(f"https://127.0.0.1:{port}")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    folder = tmp_path / "pki"
    folder.mkdir()
    return make_pki(folder)


@pytest.fixture
def tls_env(sandbox_env: Callable[..., Any], pki: Pki) -> Iterator[tuple[Any, TlsSandbox]]:
    tenant = SandboxTenant(persons=200, seed=5, today=AS_OF)
    served = TlsSandbox(tenant, pki)
    with served.server:
        # Retries allowed as usual: the point is that a certificate error does not use them.
        # One request at a time, so the handshakes counted are the first request's tries.
        so = {"api_url": served.api_url, "max_retries": 6, "max_in_flight": 1}
        env = sandbox_env(tenant, superoffice=so)
        yield env, served


def overdue(env: Any, **extra_env: str) -> Any:
    env = replace(env, env={**env.env, **extra_env})
    return env.run(
        "--lang", "en", "overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat(), "-f", "json"
    )


def test_an_untrusted_certificate_is_said_at_once_not_retried(
    tls_env: tuple[Any, TlsSandbox],
) -> None:
    env, served = tls_env
    result = overdue(env, SSL_CERT_FILE="", SSL_CERT_DIR="")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "certificate of 127.0.0.1 cannot be trusted" in lines[0]
    assert "try again later" not in lines[0]
    assert result.stdout == ""
    assert served.connections == 1  # one handshake, no retries
    assert env.tenant.requests == []  # nothing reached the tenant


def test_an_untrusted_certificate_in_swedish(tls_env: tuple[Any, TlsSandbox]) -> None:
    env, _served = tls_env
    result = env.run("overdue", "--kommun", "Krokom", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2, result.output
    assert "certifikat" in result.stderr and "127.0.0.1" in result.stderr


def test_the_same_server_answers_once_its_ca_is_trusted(
    tls_env: tuple[Any, TlsSandbox], pki: Pki
) -> None:
    env, served = tls_env
    result = overdue(env, SSL_CERT_FILE=str(pki.ca))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)
    assert env.tenant.requests  # the sandbox answered over TLS
    assert served.connections >= 1
