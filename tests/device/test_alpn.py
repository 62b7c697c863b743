"""ALPN (RFC 7301): SSLContext.set_alpn_protocols and SSLSocket.selected_alpn_protocol, as in CPython, in
both roles: between two mpssl endpoints in memory (every target), against CPython's ssl as server and as
client, and against `openssl s_server -dtls1_2 -alpn`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import MEMORY_STREAMS, script

from mpssl_hil.board.target import Target
from mpssl_hil.certs import Pki
from mpssl_hil.peers import DtlsServer, TlsEchoServer, tls_client_exchange

pytestmark = pytest.mark.needs_micropython
NO_PROTOCOL = ["SSLError", -30080, "MBEDTLS_ERR_SSL_NO_APPLICATION_PROTOCOL"]


@pytest.fixture
def alpn_cases(target: Target, pki: Pki) -> dict[str, dict[str, Any]]:
    run = target.run(script("alpn_memory.py"), {},
                     {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key, "cafile": pki.root_ca.cert},
                     modules=[MEMORY_STREAMS], timeout=300).check()
    assert run.stdout.rstrip().endswith("DONE"), run.describe()
    return {r.pop("case"): r for r in run.results()}


@pytest.mark.needs("dtls")
def test_both_sides_agree_on_the_servers_first_choice(alpn_cases: dict[str, dict[str, Any]]) -> None:
    cases = alpn_cases
    # None until the handshake is done; then the server's first protocol that the client offered.
    assert cases["both offer"] == {"before": [None, None], "client": "h2", "server": "h2", "echo": "ping"}
    for one_sided in ("client only", "server only", "neither"):
        assert cases[one_sided] == {"before": [None, None], "client": None, "server": None, "echo": "ping"}
    # No protocol in common: the server ends the handshake with no_application_protocol (RFC 7301 3.2).
    no_common = cases["no common protocol"]
    assert no_common["error"] == NO_PROTOCOL and no_common["server"] == NO_PROTOCOL, no_common
    assert cases["dtls"] == {"client": "coap", "server": "coap", "done": True}


@pytest.mark.needs("dtls")
def test_a_socket_keeps_the_protocols_it_was_wrapped_with(alpn_cases: dict[str, dict[str, Any]]) -> None:
    # Both contexts got other protocols, or none, after wrapping: the sockets still offer their own.
    assert alpn_cases["contexts changed after wrap"]["client"] == "x-other"
    assert alpn_cases["contexts cleared after wrap"]["client"] == "h2"
    # set_alpn_protocols([]) takes the protocols away from later sockets.
    assert alpn_cases["cleared before wrap"]["client"] is None


@pytest.mark.needs("dtls")
def test_bad_protocol_lists_are_refused_as_cpython_refuses_them(alpn_cases: dict[str, dict[str, Any]]) -> None:
    case = alpn_cases["refused"]
    assert case["has_alpn"] is True
    # CPython: SSLError for a name outside 1..255 bytes, TypeError for what is not a list of str.
    assert case["refused"] == {"empty name": "SSLError", "256 bytes": "SSLError", "bytes": "TypeError",
                               "NUL": "ValueError", "not a list": "TypeError", "None": "TypeError"}


@pytest.mark.needs("network")
def test_board_client_and_cpython_server_agree(target: Target, tls_server: Callable[..., TlsEchoServer],
                                               pki: Pki) -> None:
    """As an AWS IoT device on port 443 does: the client asks for its protocol among others."""
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, alpn=["x-amzn-mqtt-ca", "http/1.1"])
    result = target.run(script("tls_client.py"),
                        {"host": target.host_address, "port": server.port, "server_hostname": "localhost",
                         "alpn": ["h2", "x-amzn-mqtt-ca"], "payload_size": 100},
                        {"cafile": pki.root_ca.cert}, timeout=60).check().result()
    assert result["ok"] and result["echo_matches"], result
    assert result["alpn"] == "x-amzn-mqtt-ca"
    (conn,) = server.wait_for_connections(1)
    assert conn.alpn == "x-amzn-mqtt-ca"


@pytest.mark.needs("network")
def test_board_client_without_alpn_gets_none(target: Target, tls_server: Callable[..., TlsEchoServer],
                                             pki: Pki) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key, alpn=["h2"])
    result = target.run(script("tls_client.py"),
                        {"host": target.host_address, "port": server.port, "server_hostname": "localhost",
                         "alpn": [], "payload_size": 10},
                        {"cafile": pki.root_ca.cert}, timeout=60).check().result()
    assert result["ok"] and result["alpn"] is None, result
    (conn,) = server.wait_for_connections(1)
    assert conn.alpn is None


@pytest.mark.needs("inbound")
@pytest.mark.needs("network")
def test_board_server_and_cpython_client_agree(target: Target, pki: Pki) -> None:
    port = target.server_port("tcp")
    board = target.start(script("tls_server.py"),
                         {"host": port.board_host, "port": port.board_port, "alpn": ["h2", "http/1.1"]},
                         {"certfile": pki.server_ec.chain, "keyfile": pki.server_ec.key})
    board.wait_for_output("LISTENING")
    exchange = tls_client_exchange(port.host, port.host_port, pki.root_ca.cert, "localhost", b"y" * 100,
                                   alpn=["spdy/3", "http/1.1"])
    assert exchange.echoed == b"y" * 100 and exchange.alpn == "http/1.1"
    result = board.wait(30).check().result()
    assert result["ok"] and result["alpn"] == "http/1.1", result


@pytest.mark.needs("dtls", "network")
def test_board_dtls_client_and_openssl_server_agree(target: Target, dtls_server: Callable[..., DtlsServer],
                                                    pki: Pki) -> None:
    server = dtls_server(pki.server_ec.chain, pki.server_ec.key, alpn=["coap", "http/1.1"])
    result = target.run(script("dtls_client.py"),
                        {"host": target.host_address, "port": server.port, "server_hostname": "localhost",
                         "message": "GET /.well-known/core\n", "alpn": ["x-none", "coap"]},
                        {"cafile": pki.root_ca.cert}, timeout=60).check().result()
    assert result["ok"] and result["reply"] == "GET /.well-known/core\n", result
    # The board can only name a protocol s_server selected and sent back.
    assert result["alpn"] == "coap"
