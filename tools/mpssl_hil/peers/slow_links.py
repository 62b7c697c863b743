"""Slow and stalling TCP links: proxies between a TLS client and a TLS server that deliver one byte at a time
(`TrickleTcpProxy`), or forward the handshake up to a point and then go silent without closing
(`StallingTcpProxy`). A client through the first must still complete its handshake and echo; through the
second, with a socket timeout, it must fail with a timeout error instead of waiting for ever.

Each proxy listens on an ephemeral port of `host`, opens a connection to the target for every client it
accepts, and runs one thread per direction. What it did per connection is in `connections`
(`ProxiedConnection`): bytes and sends per direction, whether and where it stalled, what it swallowed since,
and whether the client closed its end (a client that gave up). Every blocking call has `io_timeout`; `stop()`
closes everything and joins the threads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from mpssl_hil.common.waiting import wait_until

Way = Literal["to_server", "to_client"]
TLS_RECORD_HEADER = 5
APPLICATION_DATA = 23  # the TLS record content type


@dataclass
class ProxiedConnection:
    """One client connection through a proxy."""

    client: tuple[str, int]
    forwarded: dict[str, int] = field(default_factory=lambda: {"to_server": 0, "to_client": 0})  # bytes
    sends: dict[str, int] = field(default_factory=lambda: {"to_server": 0, "to_client": 0})  # send() calls
    stalled: bool = False
    stalled_after: int | None = None  # bytes the client had received when the proxy went silent
    swallowed: dict[str, int] = field(default_factory=lambda: {"to_server": 0, "to_client": 0})  # after the stall
    client_closed: bool = False  # the client closed its end (EOF or reset)
    server_closed: bool = False
    error: str | None = None

    def describe(self) -> str:
        stall = f", stalled after {self.stalled_after} B to the client" if self.stalled else ""
        return (f"{self.client[0]}:{self.client[1]}: forwarded {self.forwarded} in {self.sends} sends{stall}, "
                f"swallowed {self.swallowed}, client closed {self.client_closed}, server closed "
                f"{self.server_closed}, error {self.error}")


class _TcpProxy:
    def __init__(self, target: tuple[str, int] | int, host: str = "127.0.0.1", io_timeout: float = 120.0,
                 name: str = "tcp-proxy") -> None:
        self.target = (host, target) if isinstance(target, int) else target
        self.io_timeout = io_timeout
        self.name = name
        self.connections: list[ProxiedConnection] = []
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._accepting = threading.Thread(target=self._accept_loop, name=f"{name}-accept", daemon=True)

    def __enter__(self) -> _TcpProxy:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        self._accepting.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        for sock in [self._listener, *self._sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv()
            except OSError:
                pass
            sock.close()
        for thread in [self._accepting, *self._threads]:
            if thread.is_alive():
                thread.join(timeout)

    def wait_for(self, condition: str, predicate: Callable[[], object], timeout: float = 60.0) -> None:
        """Wait until `predicate()` holds (bounded), describing the connections if it does not."""
        wait_until(predicate, timeout, 0.05,
                   message=lambda: f"{self.name}: {condition}; connections: {self.describe()}")

    def describe(self) -> str:
        with self._lock:
            return "; ".join(c.describe() for c in self.connections) or "none"

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, addr = self._listener.accept()
            except OSError:
                return  # closed by stop()
            record = ProxiedConnection(client=(addr[0], addr[1]))
            try:
                server = socket.create_connection(self.target, timeout=self.io_timeout)
            except OSError as e:
                record.error = f"connect to {self.target}: {e}"
                client.close()
                with self._lock:
                    self.connections.append(record)
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a send is a segment
                sock.settimeout(self.io_timeout)
            with self._lock:
                self.connections.append(record)
                self._sockets += [client, server]
            for way, src, dst in (("to_server", client, server), ("to_client", server, client)):
                thread = threading.Thread(target=self._pump, args=(record, way, src, dst),
                                          name=f"{self.name}-{way}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pump(self, record: ProxiedConnection, way: Way, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    data = src.recv(4096)
                except ConnectionResetError:
                    data = b""
                if not data:
                    if not self._stopping.is_set():  # stop() itself ends both streams: not the peers' doing
                        self._ended(record, way, dst)
                    return
                self._forward(record, way, data, dst)
        except OSError as e:
            if not self._stopping.is_set():
                with self._lock:
                    record.error = record.error or f"{way}: {type(e).__name__}: {e}"

    def _ended(self, record: ProxiedConnection, way: Way, dst: socket.socket) -> None:
        with self._lock:
            if way == "to_server":
                record.client_closed = True
            else:
                record.server_closed = True
            stalled = record.stalled
        if not stalled:
            try:
                dst.shutdown(socket.SHUT_WR)  # pass the end on, as TCP would
            except OSError:
                pass

    def _forward(self, record: ProxiedConnection, way: Way, data: bytes, dst: socket.socket) -> None:
        raise NotImplementedError

    def _send(self, record: ProxiedConnection, way: Way, data: bytes, dst: socket.socket) -> None:
        dst.sendall(data)
        with self._lock:
            record.forwarded[way] += len(data)
            record.sends[way] += 1


class TrickleTcpProxy(_TcpProxy):
    """Forwards both directions one byte per send(), with `pause` seconds after each (TCP_NODELAY: a byte is
    a segment), so the client's TLS stack reads its records in pieces of a byte or a few."""

    def __init__(self, target: tuple[str, int] | int, host: str = "127.0.0.1", pause: float = 0.0005,
                 io_timeout: float = 120.0) -> None:
        super().__init__(target, host, io_timeout, name="trickle-proxy")
        self.pause = pause

    def _forward(self, record: ProxiedConnection, way: Way, data: bytes, dst: socket.socket) -> None:
        for i in range(len(data)):
            if self._stopping.is_set():
                return
            self._send(record, way, data[i:i + 1], dst)
            time.sleep(self.pause)


class StallingTcpProxy(_TcpProxy):
    """Forwards faithfully until the client has received `stall_after` bytes of the server's stream, or, with
    `stall_at_record`, until the server's next TLS record has that content type (23, application data: after
    a TLS 1.2 handshake that is the first record after it; in TLS 1.3 the server's flight after ServerHello).
    Then it goes silent both ways: it reads and drops what either side sends, and closes nothing until
    stop(). `record.client_closed` then says whether the client gave up and closed."""

    def __init__(self, target: tuple[str, int] | int, host: str = "127.0.0.1", stall_after: int | None = None,
                 stall_at_record: int | None = None, io_timeout: float = 120.0) -> None:
        if (stall_after is None) == (stall_at_record is None):
            raise ValueError("give stall_after (bytes) or stall_at_record (a TLS content type), one of them")
        super().__init__(target, host, io_timeout, name="stalling-proxy")
        self.stall_after = stall_after
        self.stall_at_record = stall_at_record
        self._pending: dict[int, bytes] = {}  # per connection: server bytes not yet forwarded (a partial header)
        self._record_left: dict[int, int] = {}  # per connection: bytes of the current record still to forward

    def _stall(self, record: ProxiedConnection) -> None:
        with self._lock:
            if not record.stalled:
                record.stalled = True
                record.stalled_after = record.forwarded["to_client"]

    def _forward(self, record: ProxiedConnection, way: Way, data: bytes, dst: socket.socket) -> None:
        with self._lock:
            stalled = record.stalled
        if stalled:
            with self._lock:
                record.swallowed[way] += len(data)
            return
        if way == "to_server":
            self._send(record, way, data, dst)
            return
        if self.stall_after is not None:
            room = self.stall_after - record.forwarded["to_client"]
            if room > 0:
                self._send(record, way, data[:room], dst)
            if len(data) >= room:
                self._stall(record)
                with self._lock:
                    record.swallowed[way] += max(0, len(data) - max(room, 0))
            return
        self._forward_records(record, data, dst)

    def _forward_records(self, record: ProxiedConnection, data: bytes, dst: socket.socket) -> None:
        key = id(record)
        buffer = self._pending.pop(key, b"") + data
        left = self._record_left.get(key, 0)
        while buffer:
            if left > 0:
                chunk, buffer = buffer[:left], buffer[left:]
                self._send(record, "to_client", chunk, dst)
                left -= len(chunk)
                continue
            if len(buffer) < TLS_RECORD_HEADER:
                self._pending[key] = buffer  # wait for the rest of the header
                break
            if buffer[0] == self.stall_at_record:
                self._stall(record)
                with self._lock:
                    record.swallowed["to_client"] += len(buffer)
                break
            left = TLS_RECORD_HEADER + int.from_bytes(buffer[3:5], "big")
        self._record_left[key] = left
