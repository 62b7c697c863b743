"""A slow TLS echo peer on CPython's `ssl`, as server (`SlowEchoServer`) or as clients (`slow_echo_clients`).

It is the slow consumer of a back-pressure test: it reads what the board sends in small pieces with a
pause after each one, through a socket with a small receive buffer, and echoes every piece back. The
board's TCP send buffer fills up, so its non-blocking TLS writes hit MBEDTLS_ERR_SSL_WANT_WRITE.

Protocol: the board starts each connection with a 4-digit header, its connection number, which is
not echoed; everything after it is echoed until the board closes. Per connection the peer keeps the
byte count and sha256 of what it received and of what it sent back (`SlowEchoConnection`).
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mpssl_hil.common.ports import connect_when_listening
from mpssl_hil.common.waiting import Deadline
from mpssl_hil.peers.log import PeerLog
from mpssl_hil.peers.server import AcceptingServer
from mpssl_hil.peers.tls import _send_close_notify

HEADER_SIZE = 4


@dataclass(frozen=True)
class SlowConsumer:
    """How slowly the peer reads: `read_size` bytes per recv(), `pause` seconds after each, through a
    socket whose SO_RCVBUF is `receive_buffer` (set before connect/listen, so the TCP window stays
    small). `io_timeout` bounds every blocking call."""

    read_size: int = 1024
    pause: float = 0.001
    receive_buffer: int = 4096
    io_timeout: float = 30.0


@dataclass
class SlowEchoConnection:
    """What the peer saw on one connection."""

    peer: tuple[str, int]
    index: int | None = None  # the board's connection number (its header)
    handshake_ok: bool = False
    received: int = 0  # after the header
    sent: int = 0
    received_sha256: Any = field(default_factory=hashlib.sha256, repr=False)
    sent_sha256: Any = field(default_factory=hashlib.sha256, repr=False)
    error: str | None = None  # handshake or I/O exception text
    clean_shutdown: bool = False  # the board sent close_notify
    ragged_eof: bool = False  # the stream ended without close_notify
    seconds: float = 0.0
    done: bool = False

    def end(self) -> str:
        """How the stream ended: "close_notify", "EOF without close_notify", or the error."""
        if self.error:
            return self.error
        if self.clean_shutdown:
            return "close_notify"
        return "EOF without close_notify" if self.ragged_eof else "no end seen"

    def describe(self) -> str:
        end = self.end()
        return (f"host received {self.received} B (sha256 {self.received_sha256.hexdigest()[:16]}), "
                f"echoed {self.sent} B (sha256 {self.sent_sha256.hexdigest()[:16]}), end: {end}, "
                f"{self.seconds:.1f} s")


def _serve_connection(tls: ssl.SSLSocket, record: SlowEchoConnection, consumer: SlowConsumer, log: PeerLog) -> None:
    """Read the header, then echo slowly until the board closes; every failure ends up in `record.error`."""
    who = f"{record.peer[0]}:{record.peer[1]}"
    started = time.monotonic()
    try:
        header = b""
        while len(header) < HEADER_SIZE:
            data = tls.recv(HEADER_SIZE - len(header))
            if not data:
                raise ConnectionError(f"stream ended within the header ({header!r})")
            header += data
        record.index = int(header)
        log.add(f"{who} is connection {record.index}")
        while True:
            try:
                data = tls.recv(consumer.read_size)
            except ssl.SSLEOFError:
                record.ragged_eof = True
                break
            if not data:
                record.clean_shutdown = True
                _send_close_notify(tls)
                break
            record.received += len(data)
            record.received_sha256.update(data)
            time.sleep(consumer.pause)
            tls.sendall(data)
            record.sent += len(data)
            record.sent_sha256.update(data)
    except (OSError, ValueError) as e:  # ssl.SSLError, timeouts, resets; ValueError: a bad header
        record.error = f"{type(e).__name__}: {e}"
    finally:
        record.seconds = time.monotonic() - started
        log.add(f"{who} connection {record.index}: {record.describe()}")


def _small_receive_buffer(sock: socket.socket, size: int) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


class SlowEchoServer(AcceptingServer[SlowEchoConnection]):
    """Accepts TLS connections and echoes slowly on each, one thread per connection; `connections`
    holds a `SlowEchoConnection` per accepted client."""

    def __init__(self, certfile: Path, keyfile: Path, consumer: SlowConsumer = SlowConsumer(),
                 host: str = "127.0.0.1", log_dir: Path | None = None) -> None:
        self.host = host
        self.consumer = consumer
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certfile, keyfile)
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _small_receive_buffer(listener, consumer.receive_buffer)  # accepted sockets inherit it
        listener.bind((host, 0))
        listener.listen(16)
        super().__init__(listener, PeerLog("slow_echo_server", log_dir), join_budget=consumer.io_timeout + 5)

    def __enter__(self) -> SlowEchoServer:
        self.start()
        return self

    def listening(self) -> str:
        return f"{super().listening()}, {self.consumer}"

    def wait_for_connections(self, n: int, timeout: float) -> list[SlowEchoConnection]:
        """The connections, once `n` have finished or `timeout` passed (then some may be unfinished)."""
        with self._changed:
            self._changed.wait_for(lambda: sum(c.done for c in self.connections) >= n, timeout)
            return list(self.connections)

    thread_name = "slow-echo"

    def _record(self, peer: tuple[str, int]) -> SlowEchoConnection:
        return SlowEchoConnection(peer=peer)

    def _serve(self, sock: socket.socket, record: SlowEchoConnection) -> None:
        sock.settimeout(self.consumer.io_timeout)
        try:
            with self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False,
                                          suppress_ragged_eofs=False) as tls:
                try:
                    tls.do_handshake()
                except OSError as e:
                    record.error = f"handshake: {type(e).__name__}: {e}"
                    self.log.add(f"{record.peer} {record.error}")
                    return
                record.handshake_ok = True
                _serve_connection(tls, record, self.consumer, self.log)
        except OSError as e:
            record.error = record.error or f"{type(e).__name__}: {e}"
        finally:
            sock.close()
            with self._changed:
                record.done = True
                self._changed.notify_all()


def slow_echo_clients(host: str, port: int, count: int, cafile: Path, server_hostname: str = "localhost",
                      consumer: SlowConsumer = SlowConsumer(), timeout: float = 300.0,
                      connect_timeout: float = 30.0, log_dir: Path | None = None) -> list[SlowEchoConnection]:
    """`count` TLS clients at once, each echoing slowly until the board closes. Returns after every
    thread finished or `timeout` passed: a record whose `done` is False belongs to a thread still
    running (a daemon thread, bounded by the consumer's io_timeout per blocking call)."""
    log = PeerLog("slow_echo_clients", log_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile)
    records = [SlowEchoConnection(peer=(host, port)) for _ in range(count)]

    def run(record: SlowEchoConnection) -> None:
        try:
            sock = connect_when_listening(host, port, connect_timeout,  # the small buffer: before connect
                                          lambda s: _small_receive_buffer(s, consumer.receive_buffer))
        except OSError as e:
            record.error = f"connect: {e}"
            record.done = True
            return
        record.peer = sock.getsockname()[:2]
        sock.settimeout(consumer.io_timeout)
        try:
            with context.wrap_socket(sock, server_hostname=server_hostname, suppress_ragged_eofs=False) as tls:
                record.handshake_ok = True
                _serve_connection(tls, record, consumer, log)
        except OSError as e:
            record.error = record.error or f"handshake: {type(e).__name__}: {e}"
            log.add(f"{record.peer}: {record.error}")
        finally:
            sock.close()
            record.done = True

    threads = [threading.Thread(target=run, args=(r,), name=f"slow-echo-client-{i}", daemon=True)
               for i, r in enumerate(records)]
    for t in threads:
        t.start()
    budget = Deadline(timeout)
    for t in threads:
        t.join(timeout=budget.remaining(floor=0.1))
    return records
