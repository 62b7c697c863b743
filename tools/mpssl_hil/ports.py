"""Finding a free TCP or UDP port on the host."""

from __future__ import annotations

import socket
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
