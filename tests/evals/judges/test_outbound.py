"""The outbound client for judges and webhooks: every connection goes to an address that
was checked when the name was resolved, the name stays in the Host header and in TLS,
and no redirect is followed."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from evals.judges.outbound import pinned_client
from evals.judges.urlcheck import UnsafeURL, check_outbound_url
from tests.evals.judges.fake_dns import HOST, FakeDNS
from tests.evals.judges.judge_server import ScriptedServer

GOOD = {"answers": {"accuracy": 4}}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    made = ScriptedServer().start()
    yield made
    made.stop()


def _port(server: ScriptedServer) -> int:
    return server.httpd.server_address[1]


def _url(server: ScriptedServer, scheme: str = "http") -> str:
    return f"{scheme}://{HOST}:{_port(server)}/v1/chat/completions"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_handed_back_not_followed(server, status):
    server.script({"status": status, "location": "/internal-secret"})
    with pinned_client(allow_private=True, timeout=5) as client:
        response = client.post(
            server.base_url + "/chat/completions", json={}, headers={"Authorization": "Bearer k"}
        )
    assert response.status_code == status
    assert [r["path"] for r in server.requests] == ["/v1/chat/completions"]


def test_a_name_that_turns_private_after_the_check_is_never_connected_to(server, monkeypatch):
    dns = FakeDNS(HOST, "93.184.216.34", "127.0.0.1").install(monkeypatch)
    check_outbound_url(_url(server))  # the check sees a public address
    with (
        pinned_client(allow_private=False, timeout=5) as client,
        pytest.raises(UnsafeURL, match="resolves to 127.0.0.1, a private address"),
    ):
        client.post(_url(server), json={})
    assert server.count == 0
    assert dns.lookups == 2


def test_the_connection_goes_to_the_address_checked_and_keeps_the_host_name(server, monkeypatch):
    # Loopback is allowed with the flag; the next answer would be the metadata address.
    dns = FakeDNS(HOST, "127.0.0.1", "169.254.169.254").install(monkeypatch)
    server.script(GOOD)
    with pinned_client(allow_private=True, timeout=2) as client:
        response = client.post(_url(server), json={})
    assert response.status_code == 200
    assert dns.lookups == 1
    assert server.count == 1
    assert server.requests[0]["headers"]["host"] == f"{HOST}:{_port(server)}"


def test_a_name_that_resolves_to_a_metadata_address_is_refused_even_with_the_flag(
    server, monkeypatch
):
    FakeDNS(HOST, "169.254.169.254").install(monkeypatch)
    with (
        pinned_client(allow_private=True, timeout=2) as client,
        pytest.raises(UnsafeURL, match="metadata"),
    ):
        client.post(_url(server), json={})


# --- TLS: SNI and the certificate check use the host name, not the pinned address ------


def _certificate(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A test CA and a certificate for HOST only (not for 127.0.0.1): (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, issuer: str, key, signer, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("Quorum test CA", "Quorum test CA", ca_key, ca_key, ca=True)
    cert = build(HOST, "Quorum test CA", key, ca_key, ca=False)
    paths = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_tls_sends_the_host_name_and_checks_the_certificate_against_it(
    server, monkeypatch, tmp_path
):
    ca, cert, key = _certificate(tmp_path)
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # trust the test CA
    FakeDNS(HOST, "127.0.0.1").install(monkeypatch)
    server.script(GOOD)
    with pinned_client(allow_private=True, timeout=5) as client:
        response = client.post(_url(server, "https"), json={})
    assert response.status_code == 200
    assert names == [HOST]
    assert server.requests[0]["headers"]["host"] == f"{HOST}:{_port(server)}"


def test_tls_refuses_a_certificate_for_another_name(server, monkeypatch, tmp_path):
    ca, cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    FakeDNS("other.quorum.test", "127.0.0.1").install(monkeypatch)
    url = f"https://other.quorum.test:{_port(server)}/v1/chat/completions"
    with (
        pinned_client(allow_private=True, timeout=5) as client,
        pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.post(url, json={})
    assert server.count == 0
