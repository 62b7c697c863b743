"""A UDP relay between a board and a host peer that loses chosen datagrams, so tests can show that
DTLS retransmission timers recover a handshake."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterable


class LossyUdpRelay:
    """Listens on an ephemeral port of `host`; forwards the first client's datagrams to
    `server_port` and the answers back, dropping the n-th datagram of each direction listed in
    `drop_to_server` / `drop_to_client` (0-based)."""

    def __init__(self, server_port: int, host: str = "127.0.0.1", drop_to_server: Iterable[int] = (),
                 drop_to_client: Iterable[int] = ()) -> None:
        self.drop_to_server = set(drop_to_server)
        self.drop_to_client = set(drop_to_client)
        self.to_server = 0  # datagrams seen from the client, dropped ones included
        self.to_client = 0
        self.dropped = 0
        self._client_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._client_side.bind((host, 0))
        self.port: int = self._client_side.getsockname()[1]
        self._server_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._server_side.connect((host, server_port))
        self._client: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="udp-relay", daemon=True)

    def __enter__(self) -> LossyUdpRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client_side.close()
        self._server_side.close()

    def _relay(self) -> None:
        sockets = [self._client_side, self._server_side]
        while not self._stop.is_set():
            ready, _, _ = select.select(sockets, [], [], 0.1)
            for sock in ready:
                try:
                    data, addr = sock.recvfrom(65536)
                except OSError:
                    continue  # e.g. ICMP port unreachable from a peer not up yet
                if sock is self._client_side:
                    self._client = addr
                    index, self.to_server = self.to_server, self.to_server + 1
                    if index in self.drop_to_server:
                        self.dropped += 1
                    else:
                        self._server_side.send(data)
                elif self._client is not None:
                    index, self.to_client = self.to_client, self.to_client + 1
                    if index in self.drop_to_client:
                        self.dropped += 1
                    else:
                        self._client_side.sendto(data, self._client)
