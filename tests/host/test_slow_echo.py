"""The slow echo peer against CPython: header, slow echo, counts and hashes, close_notify, both roles."""

from __future__ import annotations

import hashlib
import select
import socket
import ssl
import threading

from mpssl_hil.certs import Pki
from mpssl_hil.common.waiting import wait_until
from mpssl_hil.peers import SlowConsumer, SlowEchoServer, slow_echo_clients

PAYLOAD = bytes(range(256)) * 200  # 51200 bytes
FAST = SlowConsumer(read_size=4096, pause=0.0, io_timeout=10.0)


def talk(tls: ssl.SSLSocket, index: int) -> bytes:
    """What the board does: header, then the payload, reading the echo back while sending. One thread
    does both (an OpenSSL connection must not be read and written from two threads at once)."""
    outgoing = memoryview(b"%04d" % index + PAYLOAD)
    echoed = bytearray()

    def step() -> bool:
        """One turn: wait for the socket, send what fits, read what came; True once all came back."""
        nonlocal outgoing
        select.select([tls], [tls] if outgoing else [], [], 1.0)
        if outgoing:
            try:
                outgoing = outgoing[tls.send(outgoing[:16384]):]
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        try:
            data = tls.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        assert data, f"the server closed after {len(echoed)} of {len(PAYLOAD)} bytes"
        echoed.extend(data)
        return len(echoed) >= len(PAYLOAD)

    tls.setblocking(False)
    # generous: a loaded 2-core machine runs several emulators beside this; select does the pausing
    wait_until(step, 60, interval=0, message=lambda: f"the echo stopped after {len(echoed)} of {len(PAYLOAD)} bytes")
    tls.setblocking(True)
    return bytes(echoed)


def test_server_echoes_after_the_header_and_counts_both_ways(pki: Pki) -> None:
    context = ssl.create_default_context(cafile=pki.root_ca.cert)
    with SlowEchoServer(pki.server_ec.chain, pki.server_ec.key, FAST) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname="localhost") as tls:
                assert talk(tls, 3) == PAYLOAD
                tls.unwrap()
        (conn,) = server.wait_for_connections(1, timeout=10)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert conn.index == 3 and conn.handshake_ok and conn.error is None
    assert conn.received == conn.sent == len(PAYLOAD)
    assert conn.received_sha256.hexdigest() == conn.sent_sha256.hexdigest() == digest
    assert conn.clean_shutdown and conn.end() == "close_notify"


def test_clients_echo_for_a_tls_server(pki: Pki) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_ec.chain, pki.server_ec.key)
    listener = socket.create_server(("127.0.0.1", 0))
    results: list[bytes] = []

    def serve() -> None:
        for index in range(2):
            sock, _ = listener.accept()
            sock.settimeout(10)
            with context.wrap_socket(sock, server_side=True) as tls:
                results.append(talk(tls, index))
                tls.unwrap()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        conns = slow_echo_clients("127.0.0.1", listener.getsockname()[1], 2, pki.root_ca.cert, consumer=FAST,
                                  timeout=30)
    finally:
        server.join(10)
        listener.close()
    assert results == [PAYLOAD, PAYLOAD]
    assert sorted(c.index for c in conns if c.index is not None) == [0, 1]
    for conn in conns:
        assert conn.done and conn.error is None, conn.describe()
        assert conn.received == conn.sent == len(PAYLOAD)
        assert conn.clean_shutdown


def test_client_reports_nobody_listening(pki: Pki) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (conn,) = slow_echo_clients("127.0.0.1", port, 1, pki.root_ca.cert, consumer=FAST, connect_timeout=0.5,
                                timeout=5)
    assert conn.done and conn.index is None
    assert conn.error is not None and conn.error.startswith("connect:")
