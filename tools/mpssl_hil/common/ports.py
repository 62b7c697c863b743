"""Ports: finding a free TCP or UDP port on the host, and the ports board-side servers listen on."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

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
