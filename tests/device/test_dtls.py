"""DTLS 1.2 with OpenSSL's s_server/s_client and between two mpssl endpoints, HelloVerify included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import RunningScript, Target, UnixTarget
from mpssl_hil.certs import Pki
from mpssl_hil.common.ports import ServerPort
from mpssl_hil.peers import DtlsClient, DtlsServer
from mpssl_hil.peers.udp_relay import LossyUdpRelay

pytestmark = [pytest.mark.needs_micropython, pytest.mark.needs("dtls")]


@pytest.mark.needs("network")
def test_board_client_to_openssl_server(target: Target, dtls_server: Callable[..., DtlsServer],
                                        pki: Pki) -> None:
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key)
    result = target.run(script("dtls_client.py"),
                             {"host": target.host_address,
                              "port": server.port, "server_hostname": "localhost",
                              "message": "hello from the board\n"},
                             {"cafile": pki.root_ca.cert}, timeout=60).check().result()
    assert result["ok"], result
    assert result["version"] == "DTLSv1.2"
    assert result["reply"] == "hello from the board\n"
    assert server.hello_verify_requests_sent() >= 1, "s_server always asks for a cookie"


@pytest.mark.needs("network")
def test_board_client_rejects_untrusted_dtls_server(target: Target,
                                                    dtls_server: Callable[..., DtlsServer], pki: Pki) -> None:
    server = dtls_server(pki.server_untrusted.chain, pki.server_untrusted.key)
    result = target.run(script("dtls_client.py"),
                             {"host": target.host_address,
                              "port": server.port, "server_hostname": "localhost",
                              "message": "x"},
                             {"cafile": pki.root_ca.cert}, timeout=60).check().result()
    assert result == {"ok": False, "type": "SSLCertVerificationError", "args": result["args"]}
    assert "not correctly signed" in result["args"][0]


def start_board_server(target: Target, pki: Pki, port: ServerPort, connections: int = 1) -> RunningScript:
    return target.start(script("dtls_server.py"),
                        {"host": port.board_host, "port": port.board_port, "connections": connections},
                        {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})


@pytest.mark.needs("inbound")
@pytest.mark.needs("network")
def test_openssl_client_to_board_server_with_hello_verify(target: Target, pki: Pki) -> None:
    port = target.server_port("udp")
    board = start_board_server(target, pki, port)
    board.wait_for_output("LISTENING")
    client = DtlsClient(port.host, port.host_port, cafile=pki.root_ca.cert, server_hostname="localhost")
    exchange = client.exchange(b"hello board\n", timeout=30)
    assert exchange.handshake_ok, exchange.log
    assert exchange.received == b"HELLO BOARD\n"
    assert exchange.hello_verify_received >= 1
    result = board.wait(30).check().result()
    assert result["received"] == "hello board\n"
    assert result["hello_verify"] >= 1, "the first wrap_socket must raise Hello Verify Required"
    assert "HELLO_VERIFY (-27264, 'MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED')" in board.output()


@pytest.mark.needs("network", "inbound")
def test_board_to_board(target: Target, micropython_bin: Path, tmp_path: Path, pki: Pki) -> None:
    """mpssl on both ends: the target serves two clients in turn with one SSLContext (the cookie secret
    is per context), the clients are the unix build on the host."""
    server_port = target.server_port("udp")
    board = start_board_server(target, pki, server_port, connections=2)
    client = UnixTarget(micropython_bin, workdir_root=tmp_path)
    for served, message in enumerate(("first\n", "second\n")):
        # The server binds anew for each client and says so: a client sent before that is refused.
        board.wait_for_output("LISTENING", timeout=60, count=served + 1)
        result = client.run(script("dtls_client.py"),
                            {"host": server_port.host, "port": server_port.host_port, "server_hostname": "localhost",
                             "message": message},
                            {"cafile": pki.root_ca.cert}, timeout=60).check().result()
        assert result["ok"] and result["reply"] == message.upper(), result
    results = board.wait(60).check().results()
    assert [r["received"] for r in results] == ["first\n", "second\n"]


@pytest.mark.needs("network")
def test_lost_datagrams_are_retransmitted(target: Target, dtls_server: Callable[..., DtlsServer],
                                          pki: Pki) -> None:
    """The board's first ClientHello and the server's first reply flight are lost: the module's
    retransmission timer must resend and the handshake still completes."""
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key)
    with LossyUdpRelay(server.port, drop_to_server=[0], drop_to_client=[1]) as relay:
        result = target.run(script("dtls_client.py"),
                                 {"host": target.host_address,
                                  "port": relay.port, "server_hostname": "localhost",
                                  "message": "through a lossy link\n"},
                                 {"cafile": pki.root_ca.cert}, timeout=60).check().result()
    assert result["ok"] and result["reply"] == "through a lossy link\n", result
    assert relay.dropped == 2
    # hello, hello + cookie, key exchange flight, data: anything beyond that was a retransmission
    assert relay.to_server > 4, f"no retransmission seen ({relay.to_server} datagrams from the board)"


def test_dtls_between_in_memory_endpoints(target: Target, pki: Pki) -> None:
    result = target.run(script("dtls_memory.py"), {},
                                {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key,
                                 "cafile": pki.root_ca.cert}, modules=[MEMORY_STREAMS], timeout=300).check().result()
    assert result["handshake"] and result["hello_verify"] == 1
    assert (result["got"], result["reply"]) == ("ping over dtls", "PING OVER DTLS")
    assert result["version"] == "DTLSv1.2"
