"""Ports: finding a free TCP or UDP port on the host, connecting to one once a server listens there, and
the ports board-side servers listen on."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mpssl_hil.common.waiting import Deadline, wait_until

Transport = Literal["tcp", "udp"]


def free_port(transport: Transport = "tcp", host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago: bind to port 0, read the port the kernel chose, close."""
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def udp_port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether some socket is bound to this UDP port (a bind without SO_REUSEADDR fails)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
        return False


def connect_when_listening(host: str, port: int, timeout: float,
                           prepare: Callable[[socket.socket], None] | None = None) -> socket.socket:
    """A TCP connection to host:port, tried again while nobody listens there yet (refused; reset or timed
    out: QEMU's port forward accepts and then drops the connection while no server on the board
    listens) until `timeout` seconds, then WaitTimeout. `prepare` sets options on each new socket before
    it connects (a receive buffer must be set before, it decides the TCP window scale). The socket
    returned keeps its connect timeout: callers set their own."""
    budget = Deadline(timeout)

    def attempt() -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            if prepare is not None:
                prepare(sock)
            sock.settimeout(budget.remaining(floor=0.5))
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        return sock

    return wait_until(attempt, timeout, message=f"nobody accepted on {host}:{port}",
                      retry_on=(ConnectionRefusedError, ConnectionResetError, TimeoutError))


@dataclass(frozen=True)
class ServerPort:
    """Where a server on the board listens, and where a host client reaches it: the same port on
    loopback for the unix target, a port forward for the emulated board behind QEMU's user network."""

    board_host: str
    board_port: int
    host: str
    host_port: int


@dataclass
class Forwards:
    """Host ports that QEMU forwards to board ports, per transport, handed out in turn so that a
    board server's port is not the one the previous test's connection may still hold."""

    table: dict[Transport, list[tuple[int, int]]] = field(default_factory=dict)  # (board port, host port)
    _next: dict[Transport, int] = field(default_factory=dict)

    @classmethod
    def allocate(cls, board_ports: Sequence[int], host: str = "127.0.0.1") -> Forwards:
        return cls({t: [(port, free_port(t, host)) for port in board_ports] for t in ("tcp", "udp")})

    def take(self, transport: Transport, host: str = "127.0.0.1") -> ServerPort:
        pairs = self.table.get(transport)
        if not pairs:
            raise RuntimeError(f"no {transport} port forwards to the board")
        i = self._next.get(transport, 0)
        self._next[transport] = (i + 1) % len(pairs)
        board_port, host_port = pairs[i]
        return ServerPort("0.0.0.0", board_port, host, host_port)

    def describe(self) -> dict[str, str]:
        """{"tcp:4433": "127.0.0.1:40001", ...}, as `mpssl-qemu --json` prints them."""
        return {f"{t}:{b}": f"127.0.0.1:{h}" for t, pairs in self.table.items() for b, h in pairs}

    def qemu_hostfwd(self) -> str:
        return ",".join(f"hostfwd={t}:127.0.0.1:{h}-:{b}" for t, pairs in self.table.items() for b, h in pairs)
