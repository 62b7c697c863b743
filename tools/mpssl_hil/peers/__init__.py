"""Host TLS and DTLS peers used as fixtures, in one place for tests to import.

TLS peers use CPython's `ssl` (tls_peers.py; slow_echo.py, the slow reader of back-pressure tests);
DTLS peers drive the `openssl` command line tool (dtls_peers.py, which explains how its server echoes).
"""

from mpssl_hil.common.ports import free_port
from mpssl_hil.peers.dtls import DtlsClient, DtlsClientResult, DtlsConnection, DtlsServer
from mpssl_hil.peers.log import PeerLog
from mpssl_hil.peers.slow_echo import SlowConsumer, SlowEchoConnection, SlowEchoServer, slow_echo_clients
from mpssl_hil.peers.tls import TlsConnection, TlsEchoServer, TlsExchange, TlsExchangeError, tls_client_exchange

__all__ = [
    "DtlsClient",
    "DtlsClientResult",
    "DtlsConnection",
    "DtlsServer",
    "PeerLog",
    "SlowConsumer",
    "SlowEchoConnection",
    "SlowEchoServer",
    "TlsConnection",
    "TlsEchoServer",
    "TlsExchange",
    "TlsExchangeError",
    "free_port",
    "slow_echo_clients",
    "tls_client_exchange",
]
