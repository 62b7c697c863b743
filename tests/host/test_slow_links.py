"""The slow TCP links (tools/mpssl_hil/peers/slow_links.py) between CPython's TLS client and the TLS echo server:
one byte per send still makes a handshake and an echo; a stalling proxy goes silent where it was told to, closes
nothing, and sees the client give up."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

import pytest

from mpssl_hil.certs import Pki
from mpssl_hil.peers import TlsEchoServer, TlsExchangeError, tls_client_exchange
from mpssl_hil.peers.slow_links import APPLICATION_DATA, StallingTcpProxy, TrickleTcpProxy


def test_one_byte_at_a_time_still_echoes(pki: Pki, tls_server: Callable[..., TlsEchoServer]) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key)
    payload = bytes(range(256)) * 2
    with TrickleTcpProxy(server.port, pause=0.0002) as proxy:
        echoed, _, _, _ = tls_client_exchange("127.0.0.1", proxy.port, pki.root_ca.cert, "localhost", payload)
        proxy.wait_for("both ends closed", lambda: proxy.connections and proxy.connections[0].server_closed)
    assert echoed == payload
    (conn,) = proxy.connections
    for way in ("to_server", "to_client"):
        assert conn.forwarded[way] > len(payload)  # the handshake and the payload
        assert conn.sends[way] == conn.forwarded[way], "one byte per send"


@pytest.mark.parametrize(("stall", "tls12"), [({"stall_after": 0}, False), ({"stall_after": 100}, False),
                                              ({"stall_at_record": APPLICATION_DATA}, True)],
                         ids=["server silent", "mid server flight", "after a TLS 1.2 handshake"])
def test_a_stalled_link_times_the_client_out(pki: Pki, tls_server: Callable[..., TlsEchoServer],
                                             stall: dict[str, int], tls12: bool) -> None:
    server = tls_server(pki.server_ec.chain, pki.server_ec.key,
                        max_version=ssl.TLSVersion.TLSv1_2 if tls12 else None)
    with StallingTcpProxy(server.port, **stall) as proxy:
        with pytest.raises(TlsExchangeError) as failure:
            tls_client_exchange("127.0.0.1", proxy.port, pki.root_ca.cert, "localhost", b"ping", io_timeout=2)
        assert isinstance(failure.value.__cause__, (TimeoutError, socket.timeout))
        assert failure.value.stage == ("exchange" if tls12 else "handshake")
        proxy.wait_for("the client closed", lambda: proxy.connections and proxy.connections[0].client_closed)
        (conn,) = proxy.connections
        assert conn.stalled and not conn.server_closed
        if "stall_after" in stall:
            assert conn.stalled_after == stall["stall_after"] == conn.forwarded["to_client"]
        else:
            assert conn.swallowed["to_client"] > 0  # the echo, the first application data, dropped


def test_a_stall_needs_one_place() -> None:
    with pytest.raises(ValueError, match="one of them"):
        StallingTcpProxy(1)
