"""Host TLS peers built on CPython's `ssl`: an echo server and a one-shot echo client."""

from __future__ import annotations

import hashlib
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from mpssl_hil.common.ports import connect_when_listening
from mpssl_hil.common.waiting import WaitTimeout
from mpssl_hil.peers.log import PeerLog
from mpssl_hil.peers.server import AcceptingServer


@dataclass
class TlsConnection:
    """What the echo server saw on one accepted connection."""

    peer: tuple[str, int]
    handshake_ok: bool = False
    error: str | None = None  # handshake or I/O exception text
    cipher: str | None = None
    version: str | None = None
    alpn: str | None = None
    client_subject: dict[str, str] | None = None
    bytes_echoed: int = 0
    received: Any = field(default_factory=hashlib.sha256, repr=False)  # sha256 of every byte received
    clean_shutdown: bool = False  # the client sent close_notify before closing
    done: bool = False


def _subject(cert: dict[str, Any] | None) -> dict[str, str] | None:
    if not cert:
        return None
    return {k: v for rdn in cert.get("subject", ()) for k, v in rdn}


class TlsEchoServer(AcceptingServer[TlsConnection]):
    """Accepts TLS connections on an ephemeral port and echoes every byte until the client closes.

    Each connection runs in its own thread; `connections` holds one `TlsConnection` per accepted client.
    """

    def __init__(
        self,
        certfile: Path,
        keyfile: Path,
        cafile: Path | None = None,
        require_client_cert: bool = False,
        ciphers: str | None = None,
        min_version: ssl.TLSVersion | None = None,
        max_version: ssl.TLSVersion | None = None,
        alpn: list[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_dir: Path | None = None,
        io_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.io_timeout = io_timeout
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certfile, keyfile)
        if cafile is not None:
            self.context.load_verify_locations(cafile)
            self.context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
        elif require_client_cert:
            raise ValueError("require_client_cert needs a cafile")
        if ciphers:
            self.context.set_ciphers(ciphers)
        if min_version is not None:
            self.context.minimum_version = min_version
        if max_version is not None:
            self.context.maximum_version = max_version
        if alpn:
            self.context.set_alpn_protocols(alpn)
        super().__init__(socket.create_server((host, port)), PeerLog("tls_echo_server", log_dir),
                         join_budget=io_timeout + 5)

    def __enter__(self) -> TlsEchoServer:
        self.start()
        return self

    def wait_for_connections(self, n: int, timeout: float = 30.0) -> list[TlsConnection]:
        """Wait until `n` connections have finished (echo done, socket closed); return them."""
        with self._changed:
            finished = self._changed.wait_for(lambda: len(self._finished()) >= n, timeout)
            if not finished:
                raise TimeoutError(
                    f"TLS echo server: {len(self._finished())} of {n} connections finished "
                    f"within {timeout}s\n{self.log.text()}"
                )
            return self._finished()

    def _finished(self) -> list[TlsConnection]:
        return [c for c in self.connections if c.done]

    thread_name = "tls-echo"

    def _record(self, peer: tuple[str, int]) -> TlsConnection:
        return TlsConnection(peer=peer)

    def _serve(self, sock: socket.socket, record: TlsConnection) -> None:
        who = f"{record.peer[0]}:{record.peer[1]}"
        self.log.add(f"{who} accepted")
        sock.settimeout(self.io_timeout)
        try:
            with self.context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False, suppress_ragged_eofs=False
            ) as tls:
                self._handshake(tls, record, who)
                if record.handshake_ok:
                    self._echo(tls, record, who)
        except OSError as e:  # includes ssl.SSLError and timeouts
            record.error = record.error or f"{type(e).__name__}: {e}"
            self.log.add(f"{who} error: {record.error}")
        finally:
            sock.close()
            with self._changed:
                record.done = True
                self._changed.notify_all()
            self.log.add(f"{who} closed, echoed {record.bytes_echoed} bytes")

    def _handshake(self, tls: ssl.SSLSocket, record: TlsConnection, who: str) -> None:
        try:
            tls.do_handshake()
        except OSError as e:
            record.error = f"{type(e).__name__}: {e}"
            self.log.add(f"{who} handshake failed: {record.error}")
            return
        record.handshake_ok = True
        cipher = tls.cipher()
        record.cipher = cipher[0] if cipher else None
        record.version = tls.version()
        record.alpn = tls.selected_alpn_protocol()
        record.client_subject = _subject(tls.getpeercert())
        self.log.add(f"{who} handshake ok: {record.version} {record.cipher} alpn={record.alpn} "
                     f"client={record.client_subject}")

    def _echo(self, tls: ssl.SSLSocket, record: TlsConnection, who: str) -> None:
        while True:
            try:
                data = tls.recv(4096)
            except ssl.SSLEOFError:
                self.log.add(f"{who} EOF without close_notify")
                return
            if not data:
                record.clean_shutdown = True
                self.log.add(f"{who} close_notify received")
                _send_close_notify(tls)
                return
            record.received.update(data)
            tls.sendall(data)
            record.bytes_echoed += len(data)


class TlsExchange(NamedTuple):
    echoed: bytes
    cipher: str
    peer_cert: dict[str, Any]
    alpn: str | None = None  # the protocol the handshake agreed on (ALPN), if any


class TlsExchangeError(Exception):
    """A failed `tls_client_exchange`; `stage` is "connect", "handshake" or "exchange"."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"TLS client {stage} failed: {message}")
        self.stage = stage


def tls_client_exchange(
    host: str,
    port: int,
    cafile: Path | None,
    server_hostname: str | None,
    payload: bytes,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    ciphers: str | None = None,
    connect_timeout: float = 30.0,
    io_timeout: float = 30.0,
    alpn: list[str] | None = None,
) -> TlsExchange:
    """Connect (retrying until `connect_timeout` while nobody listens yet), handshake, send `payload`
    and read until as many bytes came back or the server closed. With `cafile=None` nothing is
    verified. The original exception is chained to the `TlsExchangeError`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.load_verify_locations(cafile)
    if certfile is not None:
        context.load_cert_chain(certfile, keyfile)
    if ciphers:
        context.set_ciphers(ciphers)
    if alpn:
        context.set_alpn_protocols(alpn)
    sock = _connect_with_retry(host, port, connect_timeout)
    sock.settimeout(io_timeout)
    try:
        with context.wrap_socket(sock, server_hostname=server_hostname) as tls:
            cipher = tls.cipher()
            alpn = tls.selected_alpn_protocol()
            peer_cert = tls.getpeercert() or {}
            try:
                tls.sendall(payload)
                echoed = _read_up_to(tls, len(payload))
            except OSError as e:
                raise TlsExchangeError("exchange", f"{type(e).__name__}: {e}") from e
            _send_close_notify(tls)
            return TlsExchange(echoed, cipher[0] if cipher else "", peer_cert, alpn)
    except TlsExchangeError:
        raise
    except OSError as e:
        raise TlsExchangeError("handshake", f"with {host}:{port}: {type(e).__name__}: {e}") from e
    finally:
        sock.close()


def _connect_with_retry(host: str, port: int, timeout: float) -> socket.socket:
    try:
        return connect_when_listening(host, port, timeout)
    except WaitTimeout as e:
        raise TlsExchangeError("connect", str(e)) from e


def _read_up_to(tls: ssl.SSLSocket, n: int) -> bytes:
    chunks: list[bytes] = []
    received = 0
    while received < n:
        data = tls.recv(n - received)
        if not data:
            break
        chunks.append(data)
        received += len(data)
    return b"".join(chunks)


def _send_close_notify(tls: ssl.SSLSocket) -> None:
    """Best effort: send close_notify and give the peer a moment to answer with its own."""
    try:
        tls.settimeout(2.0)
        tls.unwrap()
    except (OSError, ValueError):
        pass
