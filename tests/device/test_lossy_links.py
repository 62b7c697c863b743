"""Lossy and slow links: a read that times out leaves the connection usable."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import script

from mpssl_hil.board.target import Target
from mpssl_hil.certs import Pki
from mpssl_hil.peers import DtlsServer, TlsEchoServer

pytestmark = [pytest.mark.needs_micropython, pytest.mark.needs("network")]

RUN_BOUND_S = 600


@pytest.mark.parametrize("dtls", [True, False], ids=["dtls", "tls"])
def test_a_read_timeout_leaves_the_connection_usable(target: Target, dtls: bool,
                                                     dtls_server: Callable[..., DtlsServer],
                                                     tls_server: Callable[..., TlsEchoServer], pki: Pki) -> None:
    """The socket's timeout ends a read with OSError ETIMEDOUT, and the SSLSocket stays usable: the next write and
    read echo, as in CPython. (A lossy DTLS link needs it: a lost datagram shows as a read that times out, and the
    application sends again. The socket used to keep ETIMEDOUT as a fatal error and raise it on every call.)"""
    server = (dtls_server if dtls else tls_server)(pki.server_ec.chain, pki.server_ec.key)
    result = target.run(script("timeout_then_echo.py"),
                        {"host": target.host_address, "port": server.port, "dtls": dtls, "timeout_s": 1},
                        {"cafile": pki.root_ca.cert}, timeout=RUN_BOUND_S).check().result()
    assert (result["timeouts"], result["echo"]) == (["ETIMEDOUT", "ETIMEDOUT"], "after a timeout\n"), result
    assert result["version"].startswith("DTLSv1" if dtls else "TLSv1"), result
