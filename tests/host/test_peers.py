"""Host peers against each other: CPython TLS client <-> TlsEchoServer, openssl DTLS client <-> server."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mpssl_hil.certs import Pki
from mpssl_hil.common.ports import Transport
from mpssl_hil.peers import (
    DtlsClient,
    DtlsServer,
    TlsEchoServer,
    TlsExchangeError,
    free_port,
    tls_client_exchange,
)

PAYLOAD = b"hello from the host\n" * 50


@pytest.mark.parametrize(("leaf", "common_name"), [("server_ec", "mpssl test server (EC)"),
                                                   ("server_rsa", "mpssl test server (RSA)")])
def test_tls_echo_round_trip(
    pki: Pki, tls_server: Callable[..., TlsEchoServer], leaf: str, common_name: str
) -> None:
    ident = getattr(pki, leaf)
    server = tls_server(ident.chain, ident.key)
    echoed, cipher, peer_cert, _ = tls_client_exchange(
        "127.0.0.1", server.port, pki.root_ca.cert, "localhost", PAYLOAD
    )
    assert echoed == PAYLOAD
    assert cipher
    assert (("commonName", common_name),) in peer_cert["subject"]
    (conn,) = server.wait_for_connections(1)
    assert conn.handshake_ok and conn.error is None
    assert conn.bytes_echoed == len(PAYLOAD)
    assert conn.cipher == cipher
    assert conn.clean_shutdown


def test_tls_server_records_client_certificate(pki: Pki, tls_server: Callable[..., TlsEchoServer]) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert,
                        require_client_cert=True)
    echoed, _, _, _ = tls_client_exchange("127.0.0.1", server.port, pki.root_ca.cert, "localhost", b"mtls",
                                       certfile=pki.client_ec.chain, keyfile=pki.client_ec.key)
    assert echoed == b"mtls"
    (conn,) = server.wait_for_connections(1)
    assert conn.client_subject == {"organizationName": "mpssl test PKI", "commonName": "mpssl test client"}


def test_tls_server_rejects_missing_client_certificate(
    pki: Pki, tls_server: Callable[..., TlsEchoServer]
) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert,
                        require_client_cert=True)
    with pytest.raises(TlsExchangeError):
        tls_client_exchange("127.0.0.1", server.port, pki.root_ca.cert, "localhost", b"x")
    (conn,) = server.wait_for_connections(1)
    assert not conn.handshake_ok
    assert conn.error and "certificate" in conn.error.lower()


def test_tls_client_rejects_expired_server(pki: Pki, tls_server: Callable[..., TlsEchoServer]) -> None:
    server = tls_server(pki.server_expired.chain, pki.server_expired.key)
    with pytest.raises(TlsExchangeError) as failure:
        tls_client_exchange("127.0.0.1", server.port, pki.root_ca.cert, "localhost", b"x")
    assert failure.value.stage == "handshake"
    assert isinstance(failure.value.__cause__, ssl.SSLCertVerificationError)
    assert "expired" in str(failure.value)
    (conn,) = server.wait_for_connections(1)
    assert not conn.handshake_ok and conn.error


def test_tls_cipher_version_and_alpn_options(pki: Pki, tls_server: Callable[..., TlsEchoServer]) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256",
                        max_version=ssl.TLSVersion.TLSv1_2, alpn=["x-mpssl"])
    _, cipher, _, alpn = tls_client_exchange("127.0.0.1", server.port, pki.root_ca.cert, "mpssl.test", b"opts",
                                       alpn=["x-mpssl"])
    (conn,) = server.wait_for_connections(1)
    assert cipher == conn.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert alpn == conn.alpn == "x-mpssl"
    assert conn.version == "TLSv1.2"


def test_tls_server_serves_connections_one_after_another(
    pki: Pki, tls_server: Callable[..., TlsEchoServer]
) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    for i in range(3):
        payload = f"connection {i}".encode()
        echoed, _, _, _ = tls_client_exchange("127.0.0.1", server.port, pki.root_ca.cert, "localhost", payload)
        assert echoed == payload
    assert [c.bytes_echoed for c in server.wait_for_connections(3)] == [12, 12, 12]


def test_tls_client_waits_for_a_late_server(pki: Pki) -> None:
    port = free_port("tcp")
    servers: list[TlsEchoServer] = []

    def start_late() -> None:
        servers.append(TlsEchoServer(pki.server_ec.chain, pki.server_ec.key, port=port))
        servers[0].start()

    timer = threading.Timer(0.5, start_late)
    timer.start()
    try:
        echoed, _, _, _ = tls_client_exchange("127.0.0.1", port, pki.root_ca.cert, "localhost", b"late",
                                           connect_timeout=30)
        assert echoed == b"late"
    finally:
        timer.join()
        for s in servers:
            s.stop()


def test_tls_client_gives_up_when_nobody_listens(pki: Pki) -> None:
    with pytest.raises(TlsExchangeError) as failure:
        tls_client_exchange("127.0.0.1", free_port("tcp"), pki.root_ca.cert, "localhost", b"x",
                            connect_timeout=0.3)
    assert failure.value.stage == "connect"


def test_tls_server_logs_to_a_file(pki: Pki, tmp_path: Path) -> None:
    with TlsEchoServer(pki.server_ec.chain, pki.server_ec.key, log_dir=tmp_path) as server:
        tls_client_exchange("127.0.0.1", server.port, pki.root_ca.cert, "localhost", b"logged")
        server.wait_for_connections(1)
    assert server.log.path is not None
    text = server.log.path.read_text()
    assert "handshake ok" in text and "echoed 6 bytes" in text


def test_dtls_echo_round_trip_with_hello_verify(pki: Pki, dtls_server: Callable[..., DtlsServer]) -> None:
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key)
    with DtlsClient("127.0.0.1", server.port, cafile=pki.root_ca.cert, server_hostname="localhost") as client:
        result = client.exchange(b"hello dtls\n")
    assert result.handshake_ok, result.log
    assert result.received == b"hello dtls\n"
    assert result.cipher and "mpssl test server (EC)" in (result.peer_certificate or "")
    assert result.hello_verify_received == 1
    (conn,) = server.wait_for_connections(1)
    assert conn.cipher == result.cipher
    assert server.received == b"hello dtls\n"
    server.wait_for_output("hello dtls")
    assert server.hello_verify_requests_sent() == 1


def test_dtls_server_serves_connections_one_after_another(
    pki: Pki, dtls_server: Callable[..., DtlsServer]
) -> None:
    server = dtls_server(pki.server_rsa.chain, pki.server_rsa.key)
    for i in range(3):
        with DtlsClient("127.0.0.1", server.port, cafile=pki.root_ca.cert, server_hostname="mpssl.test") as c:
            assert c.exchange(f"datagram {i}\n".encode()).received == f"datagram {i}\n".encode()
    assert len(server.wait_for_connections(3)) == 3
    assert server.received == b"datagram 0\ndatagram 1\ndatagram 2\n"
    assert server.hello_verify_requests_sent() == 3


def test_dtls_mutual_authentication(pki: Pki, dtls_server: Callable[..., DtlsServer]) -> None:
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert,
                         require_client_cert=True)
    with DtlsClient("127.0.0.1", server.port, cafile=pki.root_ca.cert, server_hostname="localhost",
                    certfile=pki.client_ec.chain, keyfile=pki.client_ec.key) as client:
        assert client.exchange(b"mutual\n").handshake_ok
    (conn,) = server.wait_for_connections(1)
    assert conn.peer_certificate is not None and "mpssl test client" in conn.peer_certificate


def test_dtls_server_rejects_missing_client_certificate(
    pki: Pki, dtls_server: Callable[..., DtlsServer]
) -> None:
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key, cafile=pki.root_ca.cert,
                         require_client_cert=True)
    with DtlsClient("127.0.0.1", server.port, cafile=pki.root_ca.cert, server_hostname="localhost") as client:
        result = client.exchange(b"no cert\n", timeout=10)
    assert not result.received
    assert server.connections == []


def test_dtls_client_rejects_expired_server(pki: Pki, dtls_server: Callable[..., DtlsServer]) -> None:
    server = dtls_server(pki.server_expired.chain, pki.server_expired.key)
    with DtlsClient("127.0.0.1", server.port, cafile=pki.root_ca.cert, server_hostname="localhost") as client:
        result = client.exchange(b"x\n", timeout=10)
    assert not result.handshake_ok
    assert "expired" in result.log


def test_dtls_client_waits_for_a_late_server(pki: Pki) -> None:
    port = free_port("udp")
    server = DtlsServer(pki.server_ec.chain, pki.server_ec.key, port=port)
    timer = threading.Timer(0.5, server.start)
    timer.start()
    try:
        with DtlsClient("127.0.0.1", port, cafile=pki.root_ca.cert, server_hostname="localhost") as client:
            result = client.exchange(b"late\n", timeout=30)
        assert result.handshake_ok, result.log
        assert result.received == b"late\n"
    finally:
        timer.join()
        server.stop()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_free_port_is_bindable(transport: Transport) -> None:
    port = free_port(transport)
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", port))
